//! Where things are on the screen for the [`App`] as it is now: the
//! areas (the status may take more than one line), the list rows shown,
//! the status lines, and how far the preview can scroll. `update` and the
//! ui both ask here, so that they agree.

use unicode_width::UnicodeWidthStr;

use super::{App, Link, pager};
use crate::util::{fit, wrap};

impl App {
    /// Where things are on screen now (see `layout.rs`).
    pub fn areas(&self) -> super::layout::Areas {
        super::layout::areas(
            self.screen.width,
            self.screen.height,
            self.screen.preview.is_some(),
            self.status_height(),
        )
    }

    /// Rows of the list that fit on screen.
    pub fn list_rows(&self) -> usize {
        self.areas().list.height.saturating_sub(1).max(1) as usize
    }

    /// `headers 12/40 ` while headers load (right on the status line).
    pub fn headers_counter(&self) -> Option<String> {
        (self.link == Link::Ready && self.list.headers_done < self.list.rows.len()).then(|| {
            format!(
                "headers {}/{} ",
                self.list.headers_done,
                self.list.rows.len()
            )
        })
    }

    /// The status message as the lines the status area shows, whole when
    /// it fits in the lines the screen allows: a long one (a saved file's
    /// path) takes more than one line instead of being cut. The first
    /// line leaves room for the header counter.
    pub fn status_lines(&self) -> Vec<String> {
        let width = self.screen.width as usize;
        let right = self.headers_counter().map_or(0, |c| c.width());
        let waiting = self.waiting_note();
        let status = self.screen.status.as_ref().map(|(_, t)| t.as_str());
        let text = waiting.as_deref().or(status).unwrap_or("");
        let mut lines: Vec<String> = wrap(
            text,
            width.saturating_sub(right + 1),
            width.saturating_sub(1),
        )
        .into_iter()
        .map(|l| format!(" {l}"))
        .collect();
        let max = super::layout::max_status_lines(self.screen.height) as usize;
        if lines.len() > max {
            let rest = lines.split_off(max - 1).concat();
            let room = if max == 1 {
                width - right.min(width)
            } else {
                width
            };
            lines.push(fit(&rest, room).trim_end().to_string());
        }
        lines
    }

    /// Lines of the status area (the save gauge takes one).
    pub fn status_height(&self) -> u16 {
        if self.screen.save.is_some() {
            1
        } else {
            self.status_lines().len() as u16
        }
    }

    /// A date in the user's time zone: `2026-11-03 16:01` (`long`) or
    /// `Nov 03 16:01`.
    pub fn date_text(&self, unix: i64, long: bool) -> String {
        let Ok(ts) = jiff::Timestamp::from_second(unix) else {
            return String::new();
        };
        let z = ts.to_zoned(self.setup.tz.clone());
        z.strftime(if long {
            "%Y-%m-%d %H:%M"
        } else {
            "%b %d %H:%M"
        })
        .to_string()
    }

    /// Where the preview's text goes on screen (zero-sized when closed).
    pub fn preview_text_area(&self) -> ratatui::layout::Rect {
        super::layout::preview_text(self.areas().preview)
    }

    /// How far the preview can scroll: its last line at the bottom of the
    /// pane at most.
    pub fn preview_max_scroll(&self) -> u16 {
        let Some(p) = &self.screen.preview else {
            return 0;
        };
        let area = self.preview_text_area();
        let lines = pager::lines(self, p, area.width as usize).len();
        lines
            .saturating_sub(area.height as usize)
            .min(u16::MAX as usize) as u16
    }

    /// Moves `offset` so that the selected row is visible.
    pub fn scroll_into_view(&mut self) {
        let rows = self.list_rows();
        if self.list.selected < self.list.offset {
            self.list.offset = self.list.selected;
        } else if self.list.selected >= self.list.offset + rows {
            self.list.offset = self.list.selected + 1 - rows;
        }
        let max_offset = self.list.view.len().saturating_sub(rows);
        self.list.offset = self.list.offset.min(max_offset);
    }

    /// Message numbers on screen that have no headers yet.
    pub fn visible_without_headers(&self) -> Vec<u32> {
        let rows = self.list_rows();
        self.list
            .view
            .iter()
            .skip(self.list.offset)
            .take(rows)
            .map(|&i| &self.list.rows[i])
            .filter(|r| r.summary.is_none() && r.header_error.is_none())
            .map(|r| r.number)
            .collect()
    }
}
