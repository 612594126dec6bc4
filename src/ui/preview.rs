//! The preview pane: the header block (or every raw header), the first
//! lines of the text (HTML shown as text), and the MIME parts seen, as
//! `app::pager` lays them out (wrapped to the pane, so that the scroll
//! stops at the last line).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use super::theme::Theme;
use crate::app::layout::preview_text;
use crate::app::pager::{self, Tone};
use crate::app::{App, PreviewState};

fn block<'a>(area: Rect, title: String, theme: &Theme) -> Block<'a> {
    let side = area.y == 1 && area.x > 0;
    let borders = if side { Borders::LEFT } else { Borders::TOP };
    Block::new()
        .borders(borders)
        .title(Span::styled(title, theme.label()))
}

pub fn render(frame: &mut Frame, app: &App, p: &PreviewState, area: Rect, theme: &Theme) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let title = format!(
        " message {}{} ",
        p.number,
        if p.raw { " · raw headers" } else { "" }
    );
    let inner = preview_text(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block(area, title, theme), area);
    let style = |t: Tone| match t {
        Tone::Label => theme.label(),
        Tone::Text => ratatui::style::Style::default(),
        Tone::Dim => theme.dim(),
        Tone::Error => theme.error(),
    };
    let lines: Vec<Line> = pager::lines(app, p, inner.width as usize)
        .into_iter()
        .map(|l| Line::from_iter(l.into_iter().map(|(t, text)| Span::styled(text, style(t)))))
        .collect();
    let scroll = p.scroll.min(app.preview_max_scroll());
    frame.render_widget(Paragraph::new(lines).scroll((scroll, 0)), inner);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_area_is_inside_the_block() {
        let theme = Theme { color: false };
        for pane in [Rect::new(0, 10, 80, 12), Rect::new(66, 1, 54, 20)] {
            let inner = block(pane, " message 1 ".into(), &theme).inner(pane);
            assert_eq!(preview_text(pane), inner, "{pane:?}");
        }
    }
}
