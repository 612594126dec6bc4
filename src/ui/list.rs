//! The message table: mark flags, number, size, date, from, subject, with
//! column widths that follow the terminal and text cut by display width.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::theme::Theme;
use crate::app::{App, Link, Row};
use crate::util::{fit, human_size};

/// The date cell of a message whose Date header is missing or invalid.
const NO_DATE: &str = "(no date)";

struct Columns {
    number: usize,
    size: usize,
    date: usize,
    from: usize,
    subject: usize,
    long_date: bool,
}

fn columns(app: &App, width: usize) -> Columns {
    let max = app.list.rows.iter().map(|r| r.number).max().unwrap_or(1);
    let number = max.to_string().len().max(3);
    let size = 7;
    // cursor + flags(2) + gaps between the columns.
    let fixed = 3 + number + 1 + size + 1;
    let rest = width.saturating_sub(fixed);
    let (date, long_date) = if rest >= 90 {
        (16, true)
    } else if rest >= 50 {
        (12, false)
    } else {
        (0, false)
    };
    let rest = rest.saturating_sub(if date > 0 { date + 1 } else { 0 });
    let from = (rest / 3).clamp(6, 28).min(rest);
    let subject = rest.saturating_sub(from + 1);
    Columns {
        number,
        size,
        date,
        from,
        subject,
        long_date,
    }
}

fn row_line<'a>(app: &App, row: &'a Row, c: &Columns, theme: &Theme, selected: bool) -> Line<'a> {
    let key = row.key();
    let marked = app.marks.delete.contains(&key);
    let saved = app.marks.saved.contains(&key);
    let flags = format!(
        "{}{}{}",
        if selected { '>' } else { ' ' },
        if marked { 'D' } else { ' ' },
        if saved { 'S' } else { ' ' }
    );
    let (from, subject, date) = match (&row.summary, &row.header_error) {
        (Some(s), _) => (
            s.from.clone(),
            if s.subject.is_empty() {
                "(no subject)".to_string()
            } else {
                s.subject.clone()
            },
            // A message without a (valid) Date header says so.
            s.date
                .map_or_else(|| NO_DATE.to_string(), |t| app.date_text(t, c.long_date)),
        ),
        (None, Some(e)) => (
            String::new(),
            format!("(headers unavailable: {e})"),
            String::new(),
        ),
        (None, None) => (String::new(), "…".to_string(), String::new()),
    };
    let mut spans = vec![
        Span::styled(
            flags,
            if marked {
                theme.marked()
            } else {
                theme.saved()
            },
        ),
        Span::raw(format!("{:>w$} ", row.number, w = c.number)),
        Span::raw(format!("{:>w$} ", human_size(row.size), w = c.size)),
    ];
    if c.date > 0 {
        spans.push(Span::raw(fit(&date, c.date) + " "));
    }
    spans.push(Span::raw(fit(&from, c.from) + " "));
    spans.push(Span::raw(fit(&subject, c.subject)));
    let mut line = Line::from(spans);
    if selected {
        line = line.style(theme.selected());
    } else if marked {
        line = line.style(theme.marked());
    } else if row.summary.is_none() {
        line = line.style(theme.dim());
    }
    line
}

pub fn render(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    if area.height == 0 {
        return;
    }
    if app.list.rows.is_empty() {
        return render_empty(frame, app, area, theme);
    }
    let width = area.width as usize;
    let c = columns(app, width);
    // The usual convention: ▲ ascending (smallest first), ▼ descending.
    let arrow = if app.list.reverse { "▼" } else { "▲" };
    let sorted = |k: crate::app::SortKey, name: &str| {
        if app.list.sort == k {
            format!("{name}{arrow}")
        } else {
            name.to_string()
        }
    };
    use crate::app::SortKey::*;
    let mut header = format!(
        "   {:>nw$} {:>sw$} ",
        sorted(Number, "#"),
        sorted(Size, "Size"),
        nw = c.number,
        sw = c.size
    );
    if c.date > 0 {
        header.push_str(&(fit(&sorted(Date, "Date"), c.date) + " "));
    }
    header.push_str(&(fit(&sorted(From, "From"), c.from) + " "));
    header.push_str(&fit(&sorted(Subject, "Subject"), c.subject));
    let mut lines = vec![Line::styled(fit(&header, width), theme.header())];
    let rows = area.height.saturating_sub(1) as usize;
    for (pos, &i) in app
        .list
        .view
        .iter()
        .enumerate()
        .skip(app.list.offset)
        .take(rows)
    {
        lines.push(row_line(
            app,
            &app.list.rows[i],
            &c,
            theme,
            pos == app.list.selected,
        ));
    }
    if app.list.view.is_empty() {
        lines.push(Line::styled(
            format!(
                "  no message matches \"{}\" (Esc clears the filter)",
                app.list.filter
            ),
            theme.dim(),
        ));
    }
    frame.render_widget(Paragraph::new(lines), area);
}

/// Before the list arrives: the connection stages, or why it failed.
fn render_empty(frame: &mut Frame, app: &App, area: Rect, theme: &Theme) {
    let mut lines = vec![
        Line::raw(""),
        Line::styled(app.setup.account.clone(), theme.label()),
        Line::raw(""),
    ];
    let stage_line = |label: &str, d: std::time::Duration| {
        Line::raw(format!(
            "✓ {:<26}{:>8}",
            label,
            crate::util::human_duration(d)
        ))
    };
    match &app.link {
        Link::Connecting { stage, done } => {
            for (s, d) in done {
                lines.push(stage_line(s.label(), *d));
            }
            lines.push(Line::raw(format!("… {}", stage.label())));
        }
        Link::Ready if app.list.listed => {
            lines.push(Line::styled("The mailbox is empty.", theme.dim()));
        }
        Link::Ready => {
            lines.push(Line::raw("✓ logged in"));
            lines.push(Line::raw("… listing messages (LIST, UIDL)"));
        }
        Link::Failed(msg) | Link::Disconnected(msg) => {
            lines.push(Line::styled(format!("✗ {msg}"), theme.error()));
            lines.push(Line::raw(""));
            lines.push(Line::from(vec![
                Span::styled("r", theme.key()),
                Span::raw(" retry   "),
                Span::styled("t", theme.key()),
                Span::raw(" transcript   "),
                Span::styled("q", theme.key()),
                Span::raw(" quit"),
            ]));
        }
    }
    let inner = area.inner(ratatui::layout::Margin::new(2, 0));
    frame.render_widget(
        Paragraph::new(lines).wrap(ratatui::widgets::Wrap { trim: false }),
        inner,
    );
}
