//! The preview pane: the header block (or every raw header), the first
//! lines of the text (HTML shown as text), and the MIME parts seen.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::{App, PreviewContent, PreviewState};
use crate::mail::BodyKind;
use crate::util::human_size;

pub fn render(frame: &mut Frame, app: &App, p: &PreviewState, area: Rect, theme: &Theme) {
    if area.height == 0 || area.width == 0 {
        return;
    }
    let side = area.y == 1 && area.x > 0;
    let borders = if side { Borders::LEFT } else { Borders::TOP };
    let title = format!(
        " message {}{} ",
        p.number,
        if p.raw { " · raw headers" } else { "" }
    );
    let block = Block::new()
        .borders(borders)
        .title(Span::styled(title, theme.label()));
    let inner = block.inner(area);
    frame.render_widget(Clear, area);
    frame.render_widget(block, area);
    let lines = match &p.content {
        PreviewContent::Loading => vec![Line::styled(
            format!(
                "loading the first {} lines (TOP {} {})…",
                app.preview_lines, p.number, app.preview_lines
            ),
            theme.dim(),
        )],
        PreviewContent::Failed(e) => {
            vec![Line::styled(format!("preview failed: {e}"), theme.error())]
        }
        PreviewContent::Ready(pv) => {
            let mut lines: Vec<Line> = Vec::new();
            if p.raw {
                lines.extend(pv.raw_headers.iter().map(|h| Line::raw(h.clone())));
            } else {
                for (k, v) in &pv.headers {
                    // Dates in the user's time zone, like the list.
                    let v = match (*k, pv.date) {
                        ("Date", Some(t)) => super::list::date_text(app, Some(t), true),
                        _ => v.clone(),
                    };
                    lines.push(Line::from(vec![
                        Span::styled(format!("{k:<11}"), theme.label()),
                        Span::raw(v),
                    ]));
                }
            }
            let what = match pv.body_kind {
                BodyKind::Text => "text",
                BodyKind::Html => "HTML shown as text",
                BodyKind::None => "no text part",
            };
            let cut = if pv.truncated {
                format!(", first {} lines", app.preview_lines)
            } else {
                String::new()
            };
            lines.push(Line::styled(format!("── {what}{cut} ──"), theme.dim()));
            lines.extend(pv.body.iter().map(|l| Line::raw(l.clone())));
            if pv.truncated {
                lines.push(Line::styled(
                    "… (the rest is not downloaded; s saves the whole message)",
                    theme.dim(),
                ));
            }
            if pv.parts.len() > 1 || pv.parts.first().is_some_and(|x| x.name.is_some()) {
                lines.push(Line::styled("── MIME parts ──", theme.dim()));
                for part in &pv.parts {
                    let size = match part.size {
                        Some(s) => human_size(s),
                        None if part.content_type.starts_with("multipart/") => String::new(),
                        None => "size unknown (past the preview)".into(),
                    };
                    let mut text = format!("{}{}", "  ".repeat(part.depth), part.content_type);
                    if let Some(n) = &part.name {
                        text.push_str(&format!("  \"{n}\""));
                    }
                    if !size.is_empty() {
                        text.push_str(&format!("  {size}"));
                    }
                    lines.push(Line::raw(text));
                }
            }
            lines
        }
    };
    frame.render_widget(
        Paragraph::new(lines)
            .wrap(Wrap { trim: false })
            .scroll((p.scroll, 0)),
        inner,
    );
}
