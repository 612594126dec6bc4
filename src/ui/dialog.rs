//! Dialogs over the list: confirm a commit, a commit under way, DELE
//! refused, quit with marks pending.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::theme::Theme;
use crate::app::{App, Dialog};
use crate::util::{fit, human_size};

fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let w = width.min(area.width);
    let h = height.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

fn keys<'a>(theme: &Theme, items: &[(&'a str, &'a str)]) -> Line<'a> {
    let mut spans = Vec::new();
    for (i, (k, what)) in items.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("   "));
        }
        spans.push(Span::styled(*k, theme.key()));
        spans.push(Span::raw(format!(" {what}")));
    }
    Line::from(spans)
}

pub fn render(frame: &mut Frame, app: &App, dialog: &Dialog, theme: &Theme) {
    let area = frame.area();
    let inner_w = area.width.saturating_sub(8).clamp(20, 70) as usize - 4;
    let (title, lines): (String, Vec<Line>) = match dialog {
        Dialog::Commit => {
            let rows: Vec<_> = app.marked_rows().collect();
            let mut lines = vec![
                Line::raw(format!(
                    "{} messages ({}) will be deleted on the server: DELE for each, then QUIT.",
                    rows.len(),
                    human_size(app.marked_size())
                )),
                Line::raw(""),
            ];
            let show = (area.height as usize).saturating_sub(12).clamp(1, 12);
            for r in rows.iter().take(show) {
                let subject = r.summary.as_ref().map(|s| s.subject.as_str()).unwrap_or("");
                let text = format!("#{:<5} {:>7}  {}", r.number, human_size(r.size), subject);
                lines.push(Line::raw(fit(&text, inner_w)));
            }
            if rows.len() > show {
                lines.push(Line::styled(
                    format!("…and {} more", rows.len() - show),
                    theme.dim(),
                ));
            }
            lines.push(Line::raw(""));
            lines.push(keys(
                theme,
                &[("y", "delete them"), ("n Esc", "keep everything")],
            ));
            (" Delete messages? ".to_string(), lines)
        }
        Dialog::Password { input, message } => {
            let mut lines = Vec::new();
            if let Some(m) = message {
                lines.push(Line::styled(m.clone(), theme.error()));
                lines.push(Line::raw(""));
            }
            lines.push(Line::from(vec![
                Span::raw(format!("Password for {}: ", app.setup.account)),
                Span::raw("*".repeat(input.len().min(40))),
                Span::styled("▏", theme.key()),
            ]));
            lines.push(Line::raw(""));
            lines.push(keys(theme, &[("Enter", "log in"), ("Esc", "quit")]));
            (" Log in ".to_string(), lines)
        }
        Dialog::Committing => (
            " Deleting ".to_string(),
            vec![Line::raw(
                "Sending DELE for each marked message, then QUIT…",
            )],
        ),
        Dialog::CommitRefused { accepted, refused } => {
            let mut lines = vec![Line::styled(
                format!("The server refused DELE for {} message(s):", refused.len()),
                theme.error(),
            )];
            for (m, why) in refused.iter().take(6) {
                lines.push(Line::raw(fit(&format!("  #{} {why}", m.number), inner_w)));
            }
            lines.push(Line::raw(""));
            lines.push(Line::raw(format!(
                "{accepted} other(s) were accepted. Nothing is deleted until you choose."
            )));
            lines.push(Line::raw(""));
            if *accepted == 0 {
                lines.push(keys(theme, &[("n Esc", "delete nothing (RSET)")]));
            } else {
                lines.push(keys(
                    theme,
                    &[
                        ("y", "delete the accepted ones (QUIT)"),
                        ("n Esc", "delete nothing (RSET)"),
                    ],
                ));
            }
            (" DELE refused ".to_string(), lines)
        }
        Dialog::Quit => (
            " Quit ".to_string(),
            vec![
                Line::raw(format!(
                    "{} message(s) ({}) are marked for deletion.",
                    app.marks.delete.len(),
                    human_size(app.marked_size())
                )),
                Line::raw(""),
                keys(theme, &[("c", "commit: delete them, then quit")]),
                keys(theme, &[("l", "leave without deleting anything")]),
                keys(theme, &[("Esc", "cancel")]),
            ],
        ),
    };
    // Lines that wrap take more rows.
    let rows: usize = lines
        .iter()
        .map(|l| l.width().max(1).div_ceil(inner_w.max(1)))
        .sum();
    let rect = centered(area, inner_w as u16 + 4, rows as u16 + 2);
    frame.render_widget(Clear, rect);
    let block = Block::new()
        .borders(Borders::ALL)
        .title(Span::styled(title, theme.label()));
    let inner = block.inner(rect).inner(ratatui::layout::Margin::new(1, 0));
    frame.render_widget(block, rect);
    frame.render_widget(Paragraph::new(lines).wrap(Wrap { trim: false }), inner);
}
