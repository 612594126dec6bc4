//! The title bar (server, security, counts, sizes, latency), the status
//! line (activity, save progress, errors, header loading) and the key hints.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthStr;

use super::theme::Theme;
use crate::app::{App, Conn, SaveState, StatusKind};
use crate::util::{fit, human_duration, human_size};

pub fn title(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let server = app
        .info
        .as_ref()
        .map(|i| i.server.clone())
        .unwrap_or_else(|| app.account.clone());
    let mut parts = vec![format!(" popdoc  {server}")];
    match (&app.conn, &app.info) {
        (Conn::Ready, Some(info)) => parts.push(info.security.clone()),
        (Conn::Connecting { .. }, _) => parts.push("connecting…".into()),
        (Conn::Failed(_), _) => parts.push("not connected".into()),
        (Conn::Disconnected(_), _) => parts.push("disconnected".into()),
        _ => {}
    }
    if app.listed || !app.rows.is_empty() {
        parts.push(format!(
            "{} messages, {}",
            app.rows.len(),
            human_size(app.total_size())
        ));
    }
    if !app.marks.is_empty() {
        parts.push(format!(
            "marked {} ({})",
            app.marks.len(),
            human_size(app.marked_size())
        ));
    }
    if let Some(l) = app.latency {
        parts.push(format!("last reply {}", human_duration(l)));
    }
    let text = parts.join(" · ");
    frame.render_widget(
        Paragraph::new(Line::styled(fit(&text, area.width as usize), theme.title())),
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
    let left = if rate > 0.0 && s.total > s.bytes {
        format!(
            " · {} left",
            human_duration(std::time::Duration::from_secs_f64(
                (s.total - s.bytes) as f64 / rate
            ))
        )
    } else {
        String::new()
    };
    let info = format!(
        " {} / {} · {}/s{left} · Esc cancels",
        human_size(s.bytes),
        human_size(s.total),
        human_size(rate as u64)
    );
    let label = if s.cancelling {
        format!("cancelling #{} ", s.number)
    } else {
        format!("saving #{} ", s.number)
    };
    let bar_w = width
        .saturating_sub(label.width() + info.width() + 2)
        .clamp(0, 40);
    let frac = if s.total > 0 {
        (s.bytes as f64 / s.total as f64).min(1.0)
    } else {
        0.0
    };
    let filled = (frac * bar_w as f64).round() as usize;
    Line::from(vec![
        Span::raw(label),
        Span::styled("█".repeat(filled), theme.gauge()),
        Span::styled("░".repeat(bar_w - filled), theme.dim()),
        Span::raw(format!(" {:>3.0}%", frac * 100.0)),
        Span::raw(info),
    ])
}

pub fn status(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let width = area.width as usize;
    let line = if let Some(s) = &app.save {
        gauge_line(s, width, theme)
    } else {
        let loading = (app.conn == Conn::Ready && app.headers_done < app.rows.len())
            .then(|| format!("headers {}/{} ", app.headers_done, app.rows.len()));
        let right = loading.unwrap_or_default();
        let (style, text) = match &app.status {
            Some((StatusKind::Error, t)) => (theme.error(), t.clone()),
            Some((StatusKind::Success, t)) => (theme.success(), t.clone()),
            Some((StatusKind::Info, t)) => (theme.info(), t.clone()),
            None => (theme.info(), String::new()),
        };
        let left_w = width.saturating_sub(right.width());
        Line::from(vec![
            Span::styled(fit(&format!(" {text}"), left_w), style),
            Span::styled(right, theme.dim()),
        ])
    };
    frame.render_widget(Paragraph::new(line), area);
}

pub fn hints(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let pairs: &[(&str, &str)] = if app.filter_editing {
        &[("Enter", "keep"), ("Esc", "clear")]
    } else if app.preview.is_some() {
        &[
            ("?", "help"),
            ("Space/Bksp", "scroll"),
            ("H", "raw headers"),
            ("h", "close"),
            ("s", "save"),
            ("d", "mark"),
            ("q", "quit"),
        ]
    } else {
        &[
            ("?", "help"),
            ("Enter", "preview"),
            ("s", "save"),
            ("d", "mark"),
            ("c", "commit"),
            ("/", "filter"),
            ("o", "sort"),
            ("L", "largest"),
            ("t", "transcript"),
            ("q", "quit"),
        ]
    };
    let mut spans = Vec::new();
    if app.filter_editing || !app.filter.is_empty() {
        spans.push(Span::styled(" /", theme.key()));
        spans.push(Span::raw(format!(
            "{}{}  ",
            app.filter,
            if app.filter_editing { "▏" } else { "" }
        )));
    }
    for (k, what) in pairs {
        spans.push(Span::styled(format!(" {k}"), theme.key()));
        spans.push(Span::raw(format!(" {what} ")));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}
