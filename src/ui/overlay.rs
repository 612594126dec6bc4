//! Full-screen overlays: the key help (from the same key table the app
//! dispatches with) and the live transcript.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Theme;
use crate::app::App;
use crate::app::keys::{HELP_NOTES, help_rows};
use crate::client::log::Dir;

fn frame_block<'a>(title: &'a str, theme: &Theme) -> Block<'a> {
    Block::new()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.label()))
}

pub fn help(frame: &mut Frame, scroll: usize, area: Rect, theme: &Theme) {
    frame.render_widget(Clear, area);
    let block = frame_block(" Keys (j/k scroll, Esc or ? closes) ", theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let mut lines: Vec<Line> = help_rows()
        .into_iter()
        .map(|(k, what)| {
            Line::from(vec![
                Span::styled(format!(" {k:<14}"), theme.key()),
                Span::raw(what),
            ])
        })
        .collect();
    lines.push(Line::raw(""));
    lines.extend(HELP_NOTES.iter().map(|n| Line::styled(*n, theme.dim())));
    let max = lines.len().saturating_sub(inner.height as usize);
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(ratatui::widgets::Wrap { trim: false })
            .scroll((scroll.min(max) as u16, 0)),
        inner,
    );
}

pub fn transcript(frame: &mut Frame, app: &App, scroll: usize, area: Rect, theme: &Theme) {
    frame.render_widget(Clear, area);
    let title = format!(
        " Transcript: {} lines, credentials as *** (w writes it, Esc closes) ",
        app.session.transcript.len()
    );
    let block = frame_block(&title, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let rows = inner.height as usize;
    let max_start = app.session.transcript.len().saturating_sub(rows);
    let start = scroll.min(max_start);
    let lines: Vec<Line> = app
        .session
        .transcript
        .iter()
        .skip(start)
        .take(rows)
        .map(|l| {
            let style = match l.dir {
                Dir::Sent => theme.sent(),
                Dir::Received => theme.info(),
                Dir::Note => theme.dim(),
            };
            Line::styled(l.render(), style)
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), inner);
}

pub fn report(frame: &mut Frame, app: &App, scroll: usize, area: Rect, theme: &Theme) {
    frame.render_widget(Clear, area);
    let block = frame_block(
        " Connection report (j/k scroll, w writes it, Esc closes) ",
        theme,
    );
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let lines: Vec<Line> = match &app.screen.report {
        None => vec![Line::styled("building the report…", theme.dim())],
        Some(text) => {
            let max = text.len().saturating_sub(inner.height as usize);
            text.iter()
                .skip(scroll.min(max))
                .take(inner.height as usize)
                .map(|l| {
                    // Section titles stand out.
                    if !l.is_empty() && !l.starts_with(' ') {
                        Line::styled(l.clone(), theme.label())
                    } else {
                        Line::raw(l.clone())
                    }
                })
                .collect()
        }
    };
    frame.render_widget(Paragraph::new(lines), inner);
}
