//! Keys while a dialog (commit, quit), an overlay (help, transcript,
//! report) or the filter prompt has the focus, and writing the transcript
//! or the report to a file (as an effect). Pure: no I/O, no ui.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::keys::{Action, action_for};
use super::update::{follow_preview, prioritize, quit};
use super::{App, Dialog, Effect, Link, Overlay, Row, StatusKind};
use crate::worker::Request;

pub(super) fn dialog_key(app: &mut App, dialog: Dialog, key: KeyEvent, fx: &mut Vec<Effect>) {
    let ch = match key.code {
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            Some(c.to_ascii_lowercase())
        }
        _ => None,
    };
    let esc = key.code == KeyCode::Esc;
    match dialog {
        Dialog::Commit => {
            if ch == Some('y') && app.link != Link::Ready {
                // The connection went while the dialog was open: its
                // numbers may be stale. Ask again on the new listing.
                app.screen.dialog = None;
                commit_when_connected(app, fx);
            } else if ch == Some('y') {
                let mut marks: Vec<_> = app.marked_rows().map(Row::mark).collect();
                marks.sort_by_key(|m| m.number);
                app.screen.dialog = Some(Dialog::Committing);
                app.status(
                    StatusKind::Info,
                    format!("deleting {} messages…", marks.len()),
                );
                fx.push(Effect::Pop(Request::Commit(marks)));
            } else if ch == Some('n') || esc {
                app.screen.dialog = None;
                app.lifecycle.quit_after_commit = false;
                app.status(StatusKind::Info, "nothing was deleted");
            }
        }
        Dialog::Committing | Dialog::Password { .. } => {}
        Dialog::CommitRefused { accepted, .. } => {
            if ch == Some('y') && accepted > 0 {
                app.screen.dialog = Some(Dialog::Committing);
                fx.push(Effect::Pop(Request::CommitAccepted));
            } else if ch == Some('n') || esc || (ch == Some('y') && accepted == 0) {
                app.screen.dialog = None;
                app.lifecycle.quit_after_commit = false;
                fx.push(Effect::Pop(Request::Reset));
                app.status(
                    StatusKind::Info,
                    "nothing was deleted (RSET); the marks are kept",
                );
            }
        }
        Dialog::Quit => match ch {
            Some('c') => {
                app.lifecycle.quit_after_commit = true;
                app.screen.dialog = Some(Dialog::Commit);
            }
            Some('l') => {
                app.screen.dialog = None;
                quit(app, fx);
            }
            _ if esc || ch == Some('n') => app.screen.dialog = None,
            _ => {}
        },
    }
}

/// A commit asked for while the connection is down: reconnect (unless the
/// worker is at it), and open the commit dialog once the new listing has
/// re-matched the marks (`events.rs`), so that the user confirms the
/// current numbers. Nothing is sent for deletion here.
pub(super) fn commit_when_connected(app: &mut App, fx: &mut Vec<Effect>) {
    app.lifecycle.commit_after_connect = true;
    if matches!(app.link, Link::Disconnected(_) | Link::Failed(_)) {
        app.link = Link::Connecting {
            stage: crate::client::Stage::Connect,
            done: Vec::new(),
        };
        fx.push(Effect::Pop(Request::Connect));
    }
    app.status(
        StatusKind::Info,
        format!(
            "reconnecting to check the {} marked messages against the server; the commit dialog follows",
            app.marks.delete.len()
        ),
    );
}

/// After a new listing: the commit the user asked for while disconnected
/// is shown for confirmation, with the numbers of this listing.
pub(super) fn resume_commit(app: &mut App) {
    if !std::mem::take(&mut app.lifecycle.commit_after_connect) || app.screen.dialog.is_some() {
        return;
    }
    if app.marked_rows().next().is_none() {
        app.status(
            StatusKind::Info,
            "reconnected: none of the marked messages is on the server any more; nothing to delete",
        );
    } else {
        app.screen.dialog = Some(Dialog::Commit);
    }
}

pub(super) fn overlay_key(app: &mut App, overlay: Overlay, key: KeyEvent, fx: &mut Vec<Effect>) {
    let close = matches!(key.code, KeyCode::Esc | KeyCode::Char('q'));
    // Both overlays fill the screen inside a border.
    let rows = app.screen.height.saturating_sub(2) as usize;
    let (scroll, total) = match overlay {
        Overlay::Help { scroll } => (scroll, super::keys::help_lines()),
        Overlay::Transcript { scroll } => (scroll, app.session.transcript.len()),
        Overlay::Report { scroll } => (scroll, app.screen.report.as_ref().map_or(0, Vec::len)),
    };
    let max = total.saturating_sub(rows);
    let at = scroll.min(max);
    let page = rows.max(1) as isize;
    let to = |d: isize| at.saturating_add_signed(d).min(max);
    let new_scroll = match action_for(&key) {
        _ if close => None,
        Some(Action::Down) => Some(to(1)),
        Some(Action::Up) => Some(to(-1)),
        Some(Action::PageDown) | Some(Action::PreviewDown) => Some(to(page)),
        Some(Action::PageUp) | Some(Action::PreviewUp) => Some(to(-page)),
        Some(Action::Top) => Some(0),
        Some(Action::Bottom) => Some(max),
        Some(Action::Help) if matches!(overlay, Overlay::Help { .. }) => None,
        Some(Action::Transcript) if matches!(overlay, Overlay::Transcript { .. }) => None,
        Some(Action::WriteTranscript) if matches!(overlay, Overlay::Transcript { .. }) => {
            write_transcript(app, fx);
            Some(at)
        }
        Some(Action::Report) if matches!(overlay, Overlay::Report { .. }) => None,
        Some(Action::WriteTranscript) if matches!(overlay, Overlay::Report { .. }) => {
            write_report(app, fx);
            Some(at)
        }
        _ => Some(at),
    };
    app.screen.overlay = new_scroll.map(|scroll| match overlay {
        Overlay::Help { .. } => Overlay::Help { scroll },
        Overlay::Transcript { .. } => Overlay::Transcript { scroll },
        Overlay::Report { .. } => Overlay::Report { scroll },
    });
}

pub(super) fn filter_key(app: &mut App, key: KeyEvent, fx: &mut Vec<Effect>) {
    match key.code {
        KeyCode::Esc => {
            app.list.filter_editing = false;
            app.list.filter.clear();
        }
        KeyCode::Enter => app.list.filter_editing = false,
        KeyCode::Backspace => {
            app.list.filter.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            app.list.filter.push(c)
        }
        _ => return,
    }
    app.rebuild_view();
    follow_preview(app, fx);
    prioritize(app, fx);
}

/// When this session's transcript clock started (UTC), and the same as
/// digits and dashes for a file name.
fn session_start(app: &App) -> (String, String) {
    let started = app
        .session
        .info
        .as_ref()
        .map(|i| i.started_utc.clone())
        .unwrap_or_default();
    let stamp = started
        .chars()
        .map(|c| if c.is_ascii_digit() { c } else { '-' })
        .collect();
    (started, stamp)
}

pub(super) fn write_transcript(app: &mut App, fx: &mut Vec<Effect>) {
    let (started, stamp) = session_start(app);
    let path = app
        .setup
        .save_dir
        .join(format!("popdoc-transcript-{stamp}.txt"));
    let mut contents = crate::client::log::header(&app.setup.account, &started);
    for l in &app.session.transcript {
        contents.push_str(&l.render());
        contents.push('\n');
    }
    app.status(
        StatusKind::Info,
        format!("writing the transcript to {}", path.display()),
    );
    fx.push(Effect::WriteFile { path, contents });
}

fn write_report(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(lines) = &app.screen.report else {
        return;
    };
    let (_, stamp) = session_start(app);
    let path = app
        .setup
        .save_dir
        .join(format!("popdoc-report-{stamp}.txt"));
    // A file is read at any width: not wrapped.
    let contents = match &app.screen.report_source {
        Some(Ok(r)) => crate::report::render_text(r, None),
        _ => lines.join("\n") + "\n",
    };
    app.status(
        StatusKind::Info,
        format!("writing the report to {}", path.display()),
    );
    fx.push(Effect::WriteFile { path, contents });
}
