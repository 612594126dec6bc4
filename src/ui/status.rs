//! The title bar (server, security, counts, sizes, latency), the status
//! line (activity, save progress, errors, header loading) and the key hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::theme::Theme;
use crate::app::{App, Link, SaveState, StatusKind};
use crate::util::{fit, human_duration, human_size};

/// Joins parts with ` · ` while they fit in `width`; parts are in order of
/// importance.
fn fit_parts(parts: &[String], width: usize) -> String {
    let mut out = String::new();
    for p in parts {
        let extra = if out.is_empty() {
            p.width()
        } else {
            p.width() + 3
        };
        if out.width() + extra > width && !out.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push_str(" · ");
        }
        out.push_str(p);
    }
    fit(&out, width)
}

pub fn title(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let server = app
        .session
        .info
        .as_ref()
        .map(|i| i.server_label())
        .unwrap_or_else(|| app.setup.account.clone());
    let mut parts = vec![format!(" {server}")];
    if app.list.listed || !app.list.rows.is_empty() {
        parts.push(format!(
            "{} msgs, {}",
            app.list.rows.len(),
            human_size(app.total_size())
        ));
    }
    if !app.marks.delete.is_empty() {
        parts.push(format!(
            "marked {}, {}",
            app.marks.delete.len(),
            human_size(app.marked_size())
        ));
    }
    match (&app.link, &app.session.info) {
        (Link::Ready, Some(info)) => parts.push(info.security_label().to_string()),
        (Link::Connecting { .. }, _) => parts.push("connecting…".into()),
        (Link::Failed(_), _) => parts.push("not connected".into()),
        (Link::Disconnected(_), _) => parts.push("disconnected".into()),
        _ => {}
    }
    if let Some(l) = app.session.latency {
        parts.push(format!("reply {}", human_duration(l)));
    }
    parts.push("popdoc".into());
    frame.render_widget(
        Paragraph::new(Line::styled(
            fit_parts(&parts, area.width as usize),
            theme.title(),
        )),
        area,
    );
}

fn gauge_line(s: &SaveState, width: usize, theme: &Theme) -> Line<'static> {
    let secs = s.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        s.bytes as f64 / secs
    } else {
        0.0
    };
    let frac = if s.total > 0 {
        (s.bytes as f64 / s.total as f64).min(1.0)
    } else {
        0.0
    };
    let label = format!(
        " {} #{} ",
        if s.cancelling { "cancelling" } else { "saving" },
        s.number
    );
    let mut info = vec![
        format!("{:>3.0}%", frac * 100.0),
        format!("{} / {}", human_size(s.bytes), human_size(s.total)),
    ];
    if rate > 0.0 {
        info.push(format!("{}/s", human_size(rate as u64)));
        if s.total > s.bytes {
            let left = std::time::Duration::from_secs_f64((s.total - s.bytes) as f64 / rate);
            info.push(format!("{} left", human_duration(left)));
        }
    }
    info.push("Esc cancels".into());
    // The text first; the bar gets what is left (none when narrow).
    let room = width.saturating_sub(label.width() + 1);
    let text = fit_parts(&info, room).trim_end().to_string();
    let bar_w = room.saturating_sub(text.width() + 1).min(30);
    let bar_w = if bar_w < 8 { 0 } else { bar_w };
    let filled = (frac * bar_w as f64).round() as usize;
    let mut spans = vec![Span::raw(label)];
    if bar_w > 0 {
        spans.push(Span::styled("█".repeat(filled), theme.gauge()));
        spans.push(Span::styled("░".repeat(bar_w - filled), theme.dim()));
        spans.push(Span::raw(" "));
    }
    spans.push(Span::raw(text));
    Line::from(spans)
}

pub fn status(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let width = area.width as usize;
    if let Some(s) = &app.screen.save {
        frame.render_widget(Paragraph::new(gauge_line(s, width, theme)), area);
        return;
    }
    let right = app.headers_counter().unwrap_or_default();
    let style = match &app.screen.status {
        Some((StatusKind::Error, _)) => theme.error(),
        Some((StatusKind::Success, _)) => theme.success(),
        Some((StatusKind::Info, _)) | None => theme.info(),
    };
    let lines: Vec<Line> = app
        .status_lines()
        .into_iter()
        .enumerate()
        .map(|(i, text)| {
            if i == 0 {
                let left_w = width.saturating_sub(right.width());
                Line::from(vec![
                    Span::styled(fit(&text, left_w), style),
                    Span::styled(right.clone(), theme.dim()),
                ])
            } else {
                Line::styled(text, style)
            }
        })
        .collect();
    frame.render_widget(Paragraph::new(lines), area);
}

pub fn hints(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let not_connected =
        app.list.rows.is_empty() && matches!(app.link, Link::Failed(_) | Link::Disconnected(_));
    let pairs: &[(&str, &str)] = if app.list.filter_editing {
        &[("Enter", "keep"), ("Esc", "clear")]
    } else if not_connected {
        &[
            ("r", "retry"),
            ("t", "transcript"),
            ("?", "help"),
            ("q", "quit"),
        ]
    } else if app.screen.preview.is_some() {
        &[
            ("?", "help"),
            ("q", "close"),
            ("Space/Bksp", "scroll"),
            ("H", "raw headers"),
            ("s", "save"),
            ("d", "mark"),
        ]
    } else {
        &[
            ("?", "help"),
            ("Enter", "preview"),
            ("s", "save"),
            ("d", "mark"),
            ("c", "commit"),
            ("q", "quit"),
            ("/", "filter"),
            ("o", "sort"),
            ("L", "largest"),
            ("t", "transcript"),
        ]
    };
    let width = area.width as usize;
    let mut used = 0;
    let mut spans = Vec::new();
    if app.list.filter_editing || !app.list.filter.is_empty() {
        // What the filter searches (the status line says it in full), and
        // how many messages it lets through.
        let label = if app.list.filter_editing {
            " filter from/subject: "
        } else {
            " /"
        };
        let text = format!(
            "{}{}  {} of {} shown  ",
            app.list.filter,
            if app.list.filter_editing { "▏" } else { "" },
            app.list.view.len(),
            app.list.rows.len()
        );
        used += label.width() + text.width();
        spans.push(Span::styled(label, theme.key()));
        spans.push(Span::raw(text));
    }
    for (k, what) in pairs {
        let w = 1 + k.width() + 1 + what.width() + 1;
        if used + w > width {
            break;
        }
        used += w;
        spans.push(Span::styled(format!(" {k}"), theme.key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
