//! Keys on the list and the preview: what each [`Action`] does to the
//! state and which requests go to the worker. Dialogs, overlays and the
//! filter prompt take their keys in `dialogs.rs`. Pure: no I/O, no ui.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use tokio_util::sync::CancellationToken;

use super::dialogs::{dialog_key, filter_key, overlay_key, write_transcript};
use super::keys::{Action, action_for};
use super::update::{move_by, move_to, open_preview, prioritize, quit};
use super::{App, Dialog, Effect, Link, Overlay, SaveState, StatusKind};
use crate::store::{self, Collision};
use crate::util::human_size;
use crate::worker::Request;

pub(super) fn on_key(app: &mut App, key: KeyEvent, fx: &mut Vec<Effect>) {
    if app.lifecycle.quitting {
        return;
    }
    if let Some(Dialog::Password { input, .. }) = &mut app.screen.dialog {
        match key.code {
            KeyCode::Enter if !input.is_empty() => {
                let secret = input.take();
                app.screen.dialog = None;
                app.link = Link::Connecting {
                    stage: crate::client::Stage::Connect,
                    done: Vec::new(),
                };
                fx.push(Effect::Login(secret));
            }
            KeyCode::Backspace => input.pop(),
            KeyCode::Esc => {
                app.screen.dialog = None;
                if app.link == Link::Ready {
                    return;
                }
                app.lifecycle.quitting = true;
                fx.push(Effect::Pop(Request::Shutdown));
                fx.push(Effect::Quit);
            }
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                app.screen.dialog = None;
                app.lifecycle.quitting = true;
                fx.push(Effect::Pop(Request::Shutdown));
                fx.push(Effect::Quit);
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
            _ => {}
        }
        return;
    }
    if let Some(dialog) = app.screen.dialog.clone() {
        return dialog_key(app, dialog, key, fx);
    }
    if let Some(overlay) = app.screen.overlay {
        return overlay_key(app, overlay, key, fx);
    }
    if app.list.filter_editing {
        return filter_key(app, key, fx);
    }
    let Some(action) = action_for(&key) else {
        return;
    };
    let page = app.list_rows() as isize;
    match action {
        Action::Down => move_by(app, 1, fx),
        Action::Up => move_by(app, -1, fx),
        Action::PageDown => move_by(app, page, fx),
        Action::PageUp => move_by(app, -page, fx),
        Action::Top => move_to(app, 0, fx),
        Action::Bottom => move_to(app, app.list.view.len().saturating_sub(1), fx),
        Action::Largest => {
            let largest = (0..app.list.view.len()).max_by_key(|&p| {
                let r = &app.list.rows[app.list.view[p]];
                (r.size, std::cmp::Reverse(r.number))
            });
            if let Some(p) = largest {
                move_to(app, p, fx);
                let r = &app.list.rows[app.list.view[p]];
                let text = format!("largest: message {} ({})", r.number, human_size(r.size));
                app.status(StatusKind::Info, text);
            }
        }
        Action::Open => open_preview(app, false, fx),
        Action::Close => {
            if key.code == KeyCode::Esc {
                escape(app, fx);
            } else {
                app.screen.preview = None;
                app.scroll_into_view();
            }
        }
        Action::PreviewDown | Action::PreviewUp => {
            // A page less two lines, so that some text stays in view; never
            // past the end (the last line at the bottom of the pane).
            let step = (app.preview_text_area().height as i32 - 2).max(1);
            let max = app.preview_max_scroll();
            if let Some(p) = &mut app.screen.preview {
                let delta = if action == Action::PreviewDown {
                    step
                } else {
                    -step
                };
                p.scroll = (p.scroll.min(max) as i32 + delta).clamp(0, max as i32) as u16;
            }
        }
        Action::RawHeaders => match &mut app.screen.preview {
            Some(p) => {
                p.raw = !p.raw;
                p.scroll = 0;
            }
            None => open_preview(app, true, fx),
        },
        Action::Save => start_save(app, false, fx),
        Action::SaveThenMark => start_save(app, true, fx),
        Action::ToggleMark => {
            if let Some(row) = app.selected_row() {
                let key = row.key();
                if !app.marks.delete.remove(&key) {
                    app.marks.delete.insert(key);
                }
                move_by(app, 1, fx);
            }
        }
        Action::ToggleMarkShown => {
            let keys: Vec<_> = app
                .list
                .view
                .iter()
                .map(|&i| app.list.rows[i].key())
                .collect();
            if keys.is_empty() {
                return;
            }
            if keys.iter().all(|k| app.marks.delete.contains(k)) {
                for k in &keys {
                    app.marks.delete.remove(k);
                }
                app.status(
                    StatusKind::Info,
                    format!("unmarked {} messages", keys.len()),
                );
            } else {
                let n = keys.len();
                app.marks.delete.extend(keys);
                let text = format!(
                    "{n} messages shown are marked; {} marked in all ({}); c commits",
                    app.marks.delete.len(),
                    human_size(app.marked_size())
                );
                app.status(StatusKind::Info, text);
            }
        }
        Action::Unmark => {
            if let Some(row) = app.selected_row() {
                let key = row.key();
                app.marks.delete.remove(&key);
                move_by(app, 1, fx);
            }
        }
        Action::UnmarkAll => {
            let n = app.marks.delete.len();
            app.marks.delete.clear();
            fx.push(Effect::Pop(Request::Reset));
            app.status(StatusKind::Info, format!("unmarked {n} messages"));
        }
        Action::Commit => {
            if app.marks.delete.is_empty() {
                app.status(
                    StatusKind::Info,
                    "nothing is marked for deletion (d marks a message)",
                );
            } else if app.screen.save.is_some() {
                app.status(
                    StatusKind::Info,
                    "a save is running; commit when it is done",
                );
            } else if app.link != Link::Ready || !app.list.listed {
                super::dialogs::commit_when_connected(app, fx);
            } else {
                app.screen.dialog = Some(Dialog::Commit);
            }
        }
        Action::Sort | Action::Reverse => {
            if action == Action::Sort {
                app.list.sort = app.list.sort.next();
            } else {
                app.list.reverse = !app.list.reverse;
            }
            app.rebuild_view();
            let text = format!(
                "sorted by {}, {} (O reverses)",
                app.list.sort.label(),
                app.list.sort.order(app.list.reverse)
            );
            app.status(StatusKind::Info, text);
            prioritize(app, fx);
        }
        Action::Filter => {
            app.list.filter_editing = true;
            app.status(
                StatusKind::Info,
                format!("filter: {}", super::FILTER_SEARCHES),
            );
        }
        Action::Transcript => {
            app.screen.overlay = Some(Overlay::Transcript { scroll: usize::MAX });
        }
        Action::WriteTranscript => write_transcript(app, fx),
        Action::Retry => {
            if app.screen.save.is_some() {
                app.status(
                    StatusKind::Info,
                    "a save is running; press Esc to cancel it first",
                );
                return;
            }
            app.link = Link::Connecting {
                stage: crate::client::Stage::Connect,
                done: Vec::new(),
            };
            app.screen.preview = None;
            app.status(StatusKind::Info, "reconnecting…");
            fx.push(Effect::Pop(Request::Connect));
        }
        Action::Help => app.screen.overlay = Some(Overlay::Help { scroll: 0 }),
        Action::Report => {
            app.screen.report = None;
            app.screen.report_source = None;
            app.screen.overlay = Some(Overlay::Report { scroll: 0 });
            fx.push(Effect::Pop(Request::Report));
        }
        // `q` in the preview goes back to the list (as in mutt's pager);
        // Ctrl-c quits from anywhere.
        Action::Quit if key.code == KeyCode::Char('q') && app.screen.preview.is_some() => {
            app.screen.preview = None;
            app.scroll_into_view();
        }
        Action::Quit => {
            if !app.marks.delete.is_empty() && app.link == Link::Ready {
                app.screen.dialog = Some(Dialog::Quit);
            } else {
                quit(app, fx);
            }
        }
    }
}

/// Esc: cancel the innermost thing going on.
fn escape(app: &mut App, fx: &mut Vec<Effect>) {
    if app.stop_waiting(fx) {
        return;
    }
    if let Some(s) = &mut app.screen.save {
        if !s.cancelling {
            s.cancelling = true;
            fx.push(Effect::Cancel(s.cancel.clone()));
            app.status(StatusKind::Info, "cancelling the save…");
        }
    } else if app.screen.preview.is_some() {
        app.screen.preview = None;
        app.scroll_into_view();
    } else if !app.list.filter.is_empty() {
        app.list.filter.clear();
        app.rebuild_view();
        prioritize(app, fx);
    }
}

fn start_save(app: &mut App, then_mark: bool, fx: &mut Vec<Effect>) {
    let Some(row) = app.selected_row().cloned() else {
        return;
    };
    if app.screen.save.is_some() {
        app.status(
            StatusKind::Info,
            "a save is already running (Esc cancels it)",
        );
        return;
    }
    if app.link != Link::Ready {
        app.status(StatusKind::Error, "not connected: press r to reconnect");
        return;
    }
    let id = app.id();
    let name = store::file_name(row.summary.as_deref(), row.uidl.as_deref(), row.number);
    let dest = app.setup.save_dir.join(name);
    let cancel = CancellationToken::new();
    app.screen.save = Some(SaveState {
        id,
        key: row.key(),
        number: row.number,
        subject: row
            .summary
            .as_ref()
            .map(|s| s.subject.clone())
            .unwrap_or_default(),
        bytes: 0,
        total: row.size,
        elapsed: Default::default(),
        then_mark,
        cancel: cancel.clone(),
        cancelling: false,
    });
    app.screen.status = None;
    app.scroll_into_view();
    fx.push(Effect::Pop(Request::Save {
        id,
        key: row.key(),
        dest,
        collision: Collision::Number,
        cancel,
    }));
}
