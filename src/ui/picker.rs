//! The account picker screen.

use ratatui::Frame;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::picker::Picker;
use crate::util::fit;

pub fn render(frame: &mut Frame, picker: &Picker, color: bool) {
    let theme = Theme { color };
    let area = frame.area();
    let width = area.width as usize;
    let mut lines = vec![
        Line::styled(fit(" popdoc — choose an account", width), theme.title()),
        Line::raw(""),
    ];
    let name_w = picker
        .entries
        .iter()
        .map(|(n, _)| n.chars().count())
        .max()
        .unwrap_or(4)
        .min(24);
    for (i, (name, target)) in picker.entries.iter().enumerate() {
        let cursor = if i == picker.selected { ">" } else { " " };
        let text = format!("{cursor} {} {target}", fit(name, name_w));
        let style = if i == picker.selected {
            theme.selected()
        } else {
            theme.info()
        };
        lines.push(Line::styled(fit(&text, width), style));
    }
    lines.push(Line::raw(""));
    lines.push(Line::from(vec![
        Span::styled(" Enter", theme.key()),
        Span::raw(" open   "),
        Span::styled("j k", theme.key()),
        Span::raw(" move   "),
        Span::styled("q", theme.key()),
        Span::raw(" quit"),
    ]));
    frame.render_widget(Paragraph::new(lines), area);
}
