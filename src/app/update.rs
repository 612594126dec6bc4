//! `update`: one message in, state changed, effects out. Pure and
//! synchronous. It dispatches: keys to `input.rs` (and `dialogs.rs` for
//! dialogs, overlays and the filter prompt), worker events to `events.rs`;
//! the steps both need (moving, previews, quitting) are here.

use crossterm::event::KeyEventKind;

use super::{App, Effect, Link, Msg, Overlay, PreviewContent, PreviewState, StatusKind};
use crate::worker::Request;

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Resize(w, h) => {
            app.screen.width = w;
            app.screen.height = h;
            app.screen.report = report_lines(app);
            let max = app.preview_max_scroll();
            if let Some(p) = &mut app.screen.preview {
                p.scroll = p.scroll.min(max);
            }
            app.scroll_into_view();
            prioritize(app, &mut fx);
        }
        Msg::Scroll(delta) => match app.screen.overlay {
            Some(Overlay::Transcript { scroll }) => {
                app.screen.overlay = Some(Overlay::Transcript {
                    scroll: scroll.saturating_add_signed(delta as isize),
                });
            }
            Some(Overlay::Help { .. }) | Some(Overlay::Report { .. }) => {}
            None if app.screen.dialog.is_none() => move_by(app, delta as isize, &mut fx),
            None => {}
        },
        Msg::Key(key) => {
            if key.kind != KeyEventKind::Release {
                super::input::on_key(app, key, &mut fx);
            }
        }
        Msg::Worker(event) => super::events::on_event(app, event, &mut fx),
        Msg::Written(Ok(path)) => {
            app.status(StatusKind::Success, format!("wrote {}", path.display()))
        }
        Msg::Written(Err(e)) => app.status(StatusKind::Error, e),
    }
    fx
}

pub(super) fn quit(app: &mut App, fx: &mut Vec<Effect>) {
    if let Some(s) = &app.screen.save {
        fx.push(Effect::Cancel(s.cancel.clone()));
    }
    app.lifecycle.quitting = true;
    app.status(
        StatusKind::Info,
        "closing the connection (nothing is deleted)…",
    );
    fx.push(Effect::Pop(Request::Shutdown));
}

pub(super) fn move_to(app: &mut App, pos: usize, fx: &mut Vec<Effect>) {
    if app.list.view.is_empty() {
        return;
    }
    let before = app.list.selected;
    app.list.selected = pos.min(app.list.view.len() - 1);
    app.scroll_into_view();
    if app.list.selected != before {
        follow_preview(app, fx);
    }
    prioritize(app, fx);
}

pub(super) fn move_by(app: &mut App, delta: isize, fx: &mut Vec<Effect>) {
    let pos = app.list.selected.saturating_add_signed(delta);
    move_to(app, pos, fx);
}

/// Headers for the rows on screen first.
pub(super) fn prioritize(app: &App, fx: &mut Vec<Effect>) {
    if app.list.headers_done >= app.list.rows.len() || app.link != Link::Ready {
        return;
    }
    let wanted = app.visible_without_headers();
    if !wanted.is_empty() {
        fx.push(Effect::Pop(Request::Prioritize(wanted)));
    }
}

pub(super) fn open_preview(app: &mut App, raw: bool, fx: &mut Vec<Effect>) {
    let Some(row) = app.selected_row().cloned() else {
        return;
    };
    let id = app.id();
    let cancel = app.start_waiting();
    app.screen.preview = Some(PreviewState {
        id,
        key: row.key(),
        number: row.number,
        content: PreviewContent::Loading,
        raw,
        scroll: 0,
    });
    app.scroll_into_view();
    fx.push(Effect::Pop(Request::Preview {
        id,
        key: row.key(),
        number: row.number,
        lines: app.setup.preview_lines,
        size: row.size,
        cancel,
    }));
}

/// The preview shows the selected row; moving asks for the new one, and
/// the old reply will be dropped when it comes.
pub(super) fn follow_preview(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(p) = &app.screen.preview else { return };
    let raw = p.raw;
    if app.selected_row().is_some_and(|r| r.key() != p.key) {
        open_preview(app, raw, fx);
    }
}

/// The report's lines for the overlay (full screen inside a border),
/// wrapped to its width. A word longer than the width (a long UIDL) is
/// continued on the next line rather than cut off by the screen's edge.
pub(super) fn report_lines(app: &App) -> Option<Vec<String>> {
    let width = usize::from(app.screen.width.saturating_sub(2)).max(1);
    let text = match app.screen.report_source.as_ref()? {
        Ok(r) => crate::report::render_text(r, Some(width)),
        Err(failure) => failure.text.clone(),
    };
    let mut lines = Vec::new();
    for line in text.lines() {
        let chars: Vec<char> = line.chars().collect();
        if chars.is_empty() {
            lines.push(String::new());
        }
        lines.extend(chars.chunks(width).map(|c| c.iter().collect::<String>()));
    }
    Some(lines)
}
