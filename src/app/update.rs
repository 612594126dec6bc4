//! `update`: one message in, state changed, effects out. Pure and
//! synchronous.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use tokio_util::sync::CancellationToken;

use super::keys::{Action, action_for};
use super::{
    App, Conn, Dialog, Effect, Msg, Overlay, PreviewContent, PreviewState, Row, SaveState,
    StatusKind,
};
use crate::store::{self, Collision};
use crate::util::human_size;
use crate::worker::run::{Event, Request};

pub fn update(app: &mut App, msg: Msg) -> Vec<Effect> {
    let mut fx = Vec::new();
    match msg {
        Msg::Resize(w, h) => {
            app.width = w;
            app.height = h;
            app.report = report_lines(app);
            let max = app.preview_max_scroll();
            if let Some(p) = &mut app.preview {
                p.scroll = p.scroll.min(max);
            }
            app.scroll_into_view();
            prioritize(app, &mut fx);
        }
        Msg::Scroll(delta) => match app.overlay {
            Some(Overlay::Transcript { scroll }) => {
                app.overlay = Some(Overlay::Transcript {
                    scroll: scroll.saturating_add_signed(delta as isize),
                });
            }
            Some(Overlay::Help { .. }) | Some(Overlay::Report { .. }) => {}
            None if app.dialog.is_none() => move_by(app, delta as isize, &mut fx),
            None => {}
        },
        Msg::Key(key) => {
            if key.kind != KeyEventKind::Release {
                on_key(app, key, &mut fx);
            }
        }
        Msg::Worker(event) => on_event(app, event, &mut fx),
        Msg::Written(Ok(path)) => {
            app.status(StatusKind::Success, format!("wrote {}", path.display()))
        }
        Msg::Written(Err(e)) => app.status(StatusKind::Error, e),
    }
    fx
}

fn on_key(app: &mut App, key: KeyEvent, fx: &mut Vec<Effect>) {
    if app.quitting {
        return;
    }
    if let Some(Dialog::Password { input, .. }) = &mut app.dialog {
        match key.code {
            KeyCode::Enter if !input.is_empty() => {
                let secret = input.take();
                app.dialog = None;
                app.conn = Conn::Connecting {
                    stage: crate::client::Stage::Connect,
                    done: Vec::new(),
                };
                fx.push(Effect::Login(secret));
            }
            KeyCode::Backspace => input.pop(),
            KeyCode::Esc => {
                app.dialog = None;
                if app.conn == Conn::Ready {
                    return;
                }
                app.quitting = true;
                fx.push(Effect::Pop(Request::Shutdown));
                fx.push(Effect::Quit);
            }
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                app.dialog = None;
                app.quitting = true;
                fx.push(Effect::Pop(Request::Shutdown));
                fx.push(Effect::Quit);
            }
            KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => input.push(c),
            _ => {}
        }
        return;
    }
    if let Some(dialog) = app.dialog.clone() {
        return dialog_key(app, dialog, key, fx);
    }
    if let Some(overlay) = app.overlay {
        return overlay_key(app, overlay, key, fx);
    }
    if app.filter_editing {
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
        Action::Bottom => move_to(app, app.view.len().saturating_sub(1), fx),
        Action::Largest => {
            let largest = (0..app.view.len()).max_by_key(|&p| {
                let r = &app.rows[app.view[p]];
                (r.size, std::cmp::Reverse(r.number))
            });
            if let Some(p) = largest {
                move_to(app, p, fx);
                let r = &app.rows[app.view[p]];
                let text = format!("largest: message {} ({})", r.number, human_size(r.size));
                app.status(StatusKind::Info, text);
            }
        }
        Action::Open => open_preview(app, false, fx),
        Action::Close => {
            if key.code == KeyCode::Esc {
                escape(app, fx);
            } else {
                app.preview = None;
                app.scroll_into_view();
            }
        }
        Action::PreviewDown | Action::PreviewUp => {
            // A page less two lines, so that some text stays in view; never
            // past the end (the last line at the bottom of the pane).
            let step = (app.preview_text_area().height as i32 - 2).max(1);
            let max = app.preview_max_scroll();
            if let Some(p) = &mut app.preview {
                let delta = if action == Action::PreviewDown {
                    step
                } else {
                    -step
                };
                p.scroll = (p.scroll.min(max) as i32 + delta).clamp(0, max as i32) as u16;
            }
        }
        Action::RawHeaders => match &mut app.preview {
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
                if !app.marks.remove(&key) {
                    app.marks.insert(key);
                }
                move_by(app, 1, fx);
            }
        }
        Action::ToggleMarkShown => {
            let keys: Vec<String> = app.view.iter().map(|&i| app.rows[i].key()).collect();
            if keys.is_empty() {
                return;
            }
            if keys.iter().all(|k| app.marks.contains(k)) {
                for k in &keys {
                    app.marks.remove(k);
                }
                app.status(
                    StatusKind::Info,
                    format!("unmarked {} messages", keys.len()),
                );
            } else {
                let n = keys.len();
                app.marks.extend(keys);
                let text = format!(
                    "{n} messages shown are marked; {} marked in all ({}); c commits",
                    app.marks.len(),
                    human_size(app.marked_size())
                );
                app.status(StatusKind::Info, text);
            }
        }
        Action::Unmark => {
            if let Some(row) = app.selected_row() {
                let key = row.key();
                app.marks.remove(&key);
                move_by(app, 1, fx);
            }
        }
        Action::UnmarkAll => {
            let n = app.marks.len();
            app.marks.clear();
            fx.push(Effect::Pop(Request::Reset));
            app.status(StatusKind::Info, format!("unmarked {n} messages"));
        }
        Action::Commit => {
            if app.marks.is_empty() {
                app.status(
                    StatusKind::Info,
                    "nothing is marked for deletion (d marks a message)",
                );
            } else if app.conn != Conn::Ready {
                app.status(
                    StatusKind::Error,
                    "not connected: press r to reconnect first",
                );
            } else if app.save.is_some() {
                app.status(
                    StatusKind::Info,
                    "a save is running; commit when it is done",
                );
            } else {
                app.dialog = Some(Dialog::Commit);
            }
        }
        Action::Sort | Action::Reverse => {
            if action == Action::Sort {
                app.sort = app.sort.next();
            } else {
                app.reverse = !app.reverse;
            }
            app.rebuild_view();
            let text = format!(
                "sorted by {}, {} (O reverses)",
                app.sort.label(),
                app.sort.order(app.reverse)
            );
            app.status(StatusKind::Info, text);
            prioritize(app, fx);
        }
        Action::Filter => {
            app.filter_editing = true;
            app.status(
                StatusKind::Info,
                format!("filter: {}", super::FILTER_SEARCHES),
            );
        }
        Action::Transcript => {
            app.overlay = Some(Overlay::Transcript { scroll: usize::MAX });
        }
        Action::WriteTranscript => write_transcript(app, fx),
        Action::Retry => {
            if app.save.is_some() {
                app.status(
                    StatusKind::Info,
                    "a save is running; press Esc to cancel it first",
                );
                return;
            }
            app.conn = Conn::Connecting {
                stage: crate::client::Stage::Connect,
                done: Vec::new(),
            };
            app.preview = None;
            app.status(StatusKind::Info, "reconnecting…");
            fx.push(Effect::Pop(Request::Connect));
        }
        Action::Help => app.overlay = Some(Overlay::Help { scroll: 0 }),
        Action::Report => {
            app.report = None;
            app.report_source = None;
            app.overlay = Some(Overlay::Report { scroll: 0 });
            fx.push(Effect::Pop(Request::Report));
        }
        // `q` in the preview goes back to the list (as in mutt's pager);
        // Ctrl-c quits from anywhere.
        Action::Quit if key.code == KeyCode::Char('q') && app.preview.is_some() => {
            app.preview = None;
            app.scroll_into_view();
        }
        Action::Quit => {
            if !app.marks.is_empty() && app.conn == Conn::Ready {
                app.dialog = Some(Dialog::Quit);
            } else {
                quit(app, fx);
            }
        }
    }
}

fn quit(app: &mut App, fx: &mut Vec<Effect>) {
    if let Some(s) = &app.save {
        fx.push(Effect::Cancel(s.cancel.clone()));
    }
    app.quitting = true;
    app.status(
        StatusKind::Info,
        "closing the connection (nothing is deleted)…",
    );
    fx.push(Effect::Pop(Request::Shutdown));
}

/// Esc: cancel the innermost thing going on.
fn escape(app: &mut App, fx: &mut Vec<Effect>) {
    if let Some(s) = &mut app.save {
        if !s.cancelling {
            s.cancelling = true;
            fx.push(Effect::Cancel(s.cancel.clone()));
            app.status(StatusKind::Info, "cancelling the save…");
        }
    } else if app.preview.is_some() {
        app.preview = None;
        app.scroll_into_view();
    } else if !app.filter.is_empty() {
        app.filter.clear();
        app.rebuild_view();
        prioritize(app, fx);
    }
}

fn move_to(app: &mut App, pos: usize, fx: &mut Vec<Effect>) {
    if app.view.is_empty() {
        return;
    }
    let before = app.selected;
    app.selected = pos.min(app.view.len() - 1);
    app.scroll_into_view();
    if app.selected != before {
        follow_preview(app, fx);
    }
    prioritize(app, fx);
}

fn move_by(app: &mut App, delta: isize, fx: &mut Vec<Effect>) {
    let pos = app.selected.saturating_add_signed(delta);
    move_to(app, pos, fx);
}

/// Headers for the rows on screen first.
fn prioritize(app: &App, fx: &mut Vec<Effect>) {
    if app.headers_done >= app.rows.len() || app.conn != Conn::Ready {
        return;
    }
    let wanted = app.visible_without_headers();
    if !wanted.is_empty() {
        fx.push(Effect::Pop(Request::Prioritize(wanted)));
    }
}

fn open_preview(app: &mut App, raw: bool, fx: &mut Vec<Effect>) {
    let Some(row) = app.selected_row().cloned() else {
        return;
    };
    let id = app.id();
    app.preview = Some(PreviewState {
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
        number: row.number,
        uidl: row.uidl.clone(),
        lines: app.preview_lines,
        size: row.size,
    }));
}

/// The preview shows the selected row; moving asks for the new one, and
/// the old reply will be dropped when it comes.
fn follow_preview(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(p) = &app.preview else { return };
    let raw = p.raw;
    if app.selected_row().is_some_and(|r| r.key() != p.key) {
        open_preview(app, raw, fx);
    }
}

fn start_save(app: &mut App, then_mark: bool, fx: &mut Vec<Effect>) {
    let Some(row) = app.selected_row().cloned() else {
        return;
    };
    if app.save.is_some() {
        app.status(
            StatusKind::Info,
            "a save is already running (Esc cancels it)",
        );
        return;
    }
    if app.conn != Conn::Ready {
        app.status(StatusKind::Error, "not connected: press r to reconnect");
        return;
    }
    let id = app.id();
    let name = store::file_name(row.summary.as_ref(), row.uidl.as_deref(), row.number);
    let dest = app.save_dir.join(name);
    let cancel = CancellationToken::new();
    app.save = Some(SaveState {
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
    app.status = None;
    app.scroll_into_view();
    fx.push(Effect::Pop(Request::Save {
        id,
        number: row.number,
        uidl: row.uidl.clone(),
        dest,
        collision: Collision::Number,
        cancel,
    }));
}

fn write_transcript(app: &mut App, fx: &mut Vec<Effect>) {
    let started = app
        .info
        .as_ref()
        .map(|i| i.started_utc.clone())
        .unwrap_or_default();
    let stamp: String = started
        .chars()
        .map(|c| if c.is_ascii_digit() { c } else { '-' })
        .collect();
    let path = app.save_dir.join(format!("popdoc-transcript-{stamp}.txt"));
    let mut contents = crate::client::log::header(&app.account, &started);
    for l in &app.transcript {
        contents.push_str(&l.render());
        contents.push('\n');
    }
    app.status(
        StatusKind::Info,
        format!("writing the transcript to {}", path.display()),
    );
    fx.push(Effect::WriteFile { path, contents });
}

/// The report's lines for the overlay (full screen inside a border),
/// wrapped to its width. A word longer than the width (a long UIDL) is
/// continued on the next line rather than cut off by the screen's edge.
fn report_lines(app: &App) -> Option<Vec<String>> {
    let width = usize::from(app.width.saturating_sub(2)).max(1);
    let text = match app.report_source.as_ref()? {
        Ok(r) => crate::report::render_text(r, Some(width)),
        Err(sentence) => sentence.clone(),
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

fn write_report(app: &mut App, fx: &mut Vec<Effect>) {
    let Some(lines) = &app.report else { return };
    let stamp: String = app
        .info
        .as_ref()
        .map(|i| i.started_utc.clone())
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_digit() { c } else { '-' })
        .collect();
    let path = app.save_dir.join(format!("popdoc-report-{stamp}.txt"));
    // A file is read at any width: not wrapped.
    let contents = match &app.report_source {
        Some(Ok(r)) => crate::report::render_text(r, None),
        _ => lines.join("\n") + "\n",
    };
    app.status(
        StatusKind::Info,
        format!("writing the report to {}", path.display()),
    );
    fx.push(Effect::WriteFile { path, contents });
}

fn dialog_key(app: &mut App, dialog: Dialog, key: KeyEvent, fx: &mut Vec<Effect>) {
    let ch = match key.code {
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => {
            Some(c.to_ascii_lowercase())
        }
        _ => None,
    };
    let esc = key.code == KeyCode::Esc;
    match dialog {
        Dialog::Commit => {
            if ch == Some('y') {
                let mut marks: Vec<_> = app.marked_rows().map(Row::mark).collect();
                marks.sort_by_key(|m| m.number);
                app.dialog = Some(Dialog::Committing);
                app.status(
                    StatusKind::Info,
                    format!("deleting {} messages…", marks.len()),
                );
                fx.push(Effect::Pop(Request::Commit(marks)));
            } else if ch == Some('n') || esc {
                app.dialog = None;
                app.quit_after_commit = false;
                app.status(StatusKind::Info, "nothing was deleted");
            }
        }
        Dialog::Committing | Dialog::Password { .. } => {}
        Dialog::CommitRefused { accepted, .. } => {
            if ch == Some('y') && !accepted.is_empty() {
                app.dialog = Some(Dialog::Committing);
                fx.push(Effect::Pop(Request::CommitAccepted));
            } else if ch == Some('n') || esc || (ch == Some('y') && accepted.is_empty()) {
                app.dialog = None;
                app.quit_after_commit = false;
                fx.push(Effect::Pop(Request::Reset));
                app.status(
                    StatusKind::Info,
                    "nothing was deleted (RSET); the marks are kept",
                );
            }
        }
        Dialog::Quit => match ch {
            Some('c') => {
                app.quit_after_commit = true;
                app.dialog = Some(Dialog::Commit);
            }
            Some('l') => {
                app.dialog = None;
                quit(app, fx);
            }
            _ if esc || ch == Some('n') => app.dialog = None,
            _ => {}
        },
    }
}

fn overlay_key(app: &mut App, overlay: Overlay, key: KeyEvent, fx: &mut Vec<Effect>) {
    let close = matches!(key.code, KeyCode::Esc | KeyCode::Char('q'));
    // Both overlays fill the screen inside a border.
    let rows = app.height.saturating_sub(2) as usize;
    let (scroll, total) = match overlay {
        Overlay::Help { scroll } => (scroll, crate::ui::overlay::help_lines()),
        Overlay::Transcript { scroll } => (scroll, app.transcript.len()),
        Overlay::Report { scroll } => (scroll, app.report.as_ref().map_or(0, Vec::len)),
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
    app.overlay = new_scroll.map(|scroll| match overlay {
        Overlay::Help { .. } => Overlay::Help { scroll },
        Overlay::Transcript { .. } => Overlay::Transcript { scroll },
        Overlay::Report { .. } => Overlay::Report { scroll },
    });
}

fn filter_key(app: &mut App, key: KeyEvent, fx: &mut Vec<Effect>) {
    match key.code {
        KeyCode::Esc => {
            app.filter_editing = false;
            app.filter.clear();
        }
        KeyCode::Enter => app.filter_editing = false,
        KeyCode::Backspace => {
            app.filter.pop();
        }
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => app.filter.push(c),
        _ => return,
    }
    app.rebuild_view();
    follow_preview(app, fx);
    prioritize(app, fx);
}

fn on_event(app: &mut App, event: Event, fx: &mut Vec<Effect>) {
    match event {
        Event::Stage { stage, done } => app.conn = Conn::Connecting { stage, done },
        Event::Connected(info) => {
            app.listed = false;
            let text = format!("logged in ({}) — listing…", info.method);
            app.info = Some(info);
            app.conn = Conn::Ready;
            progress_status(app, text);
        }
        Event::Failed(message) => {
            close_commit_dialog(app);
            if app.asks_password && message.contains("[AUTH]") {
                app.dialog = Some(Dialog::Password {
                    input: Default::default(),
                    message: Some(message.clone()),
                });
            }
            app.status(StatusKind::Error, format!("{message} (r retries)"));
            app.conn = Conn::Failed(message);
        }
        Event::Listing(listing) => {
            app.listed = true;
            // After a commit or a reconnect the numbers may all have moved:
            // stay on the same message, else the next one that remains.
            let keep = app.selection_candidates();
            let known = &app.known;
            app.rows = listing
                .into_iter()
                .map(|l| {
                    let mut row = Row {
                        number: l.number,
                        uidl: l.uidl,
                        size: l.size,
                        summary: None,
                        header_error: None,
                    };
                    row.summary = known.get(&row.key()).cloned();
                    row
                })
                .collect();
            app.headers_done = app.rows.iter().filter(|r| r.summary.is_some()).count();
            let present: std::collections::HashSet<String> =
                app.rows.iter().map(Row::key).collect();
            let before = app.marks.len();
            app.marks.retain(|k| present.contains(k));
            app.saved.retain(|k| present.contains(k));
            app.rebuild_view_keeping(&keep);
            let n = app.rows.len();
            let mut text = format!("{n} messages, {}", human_size(app.total_size()));
            if app.marks.len() < before {
                text.push_str(&format!(
                    "; {} marked messages are no longer on the server",
                    before - app.marks.len()
                ));
            }
            if app.info.as_ref().is_some_and(is_gmail) {
                text = format!("{text}. {GMAIL_NOTE}");
            }
            progress_status(app, text);
            prioritize(app, fx);
        }
        Event::Headers(batch) => {
            for (number, result) in batch {
                let Ok(i) = app.rows.binary_search_by_key(&number, |r| r.number) else {
                    continue;
                };
                let first = app.rows[i].summary.is_none() && app.rows[i].header_error.is_none();
                match result {
                    Ok(s) => {
                        app.known.insert(app.rows[i].key(), s.clone());
                        app.rows[i].summary = Some(s);
                    }
                    Err(e) => app.rows[i].header_error = Some(e),
                }
                if first {
                    app.headers_done += 1;
                }
            }
            if app.sort != super::SortKey::Number || !app.filter.is_empty() {
                app.rebuild_view();
            }
        }
        Event::Preview { id, result, .. } => {
            if let Some(p) = &mut app.preview
                && p.id == id
            {
                p.content = match result {
                    Ok(preview) => PreviewContent::Ready(Box::new(preview)),
                    Err(e) => PreviewContent::Failed(e),
                };
            }
            // Otherwise the user has moved on: the reply is dropped.
        }
        Event::SaveProgress { id, bytes, elapsed } => {
            if let Some(s) = &mut app.save
                && s.id == id
            {
                s.bytes = bytes;
                s.elapsed = elapsed;
            }
        }
        Event::Saved {
            id,
            result,
            list_size,
            cancelled,
        } => {
            let Some(s) = app.save.take_if(|s| s.id == id) else {
                return;
            };
            if cancelled {
                app.conn = Conn::Connecting {
                    stage: crate::client::Stage::Connect,
                    done: Vec::new(),
                };
                app.status(
                    StatusKind::Info,
                    "save cancelled and the partial file removed; reconnecting, because POP3 cannot stop a RETR midway",
                );
                return;
            }
            match result {
                Ok(saved) => {
                    app.saved.insert(s.key.clone());
                    // The path first and whole (the status takes more
                    // lines when it is long): a second save's `-2` and the
                    // folder must be seen.
                    let mut text = format!(
                        "saved to {} · {} bytes · SHA-256 {}",
                        saved.path.display(),
                        saved.size,
                        saved.sha256
                    );
                    let mut kind = StatusKind::Success;
                    if saved.size != list_size {
                        text.push_str(&format!(" (LIST said {list_size} bytes)"));
                    }
                    if s.then_mark {
                        if saved.size == list_size {
                            app.marks.insert(s.key);
                            text.push_str("; marked for deletion");
                        } else {
                            kind = StatusKind::Error;
                            text.push_str("; NOT marked: the size differs from LIST, check the file, then d marks it");
                        }
                    }
                    app.status(kind, text);
                }
                Err(e) => app.status(StatusKind::Error, format!("save failed: {e}")),
            }
        }
        Event::Committed(report) => {
            for m in report.deleted.iter().chain(&report.gone) {
                let key = m.uidl.clone().unwrap_or_else(|| format!("#{}", m.number));
                app.marks.remove(&key);
            }
            app.dialog = None;
            let mut text = format!(
                "deleted {} messages; the server confirmed: {}",
                report.deleted.len(),
                report.quit
            );
            if !report.gone.is_empty() {
                text.push_str(&format!(
                    "; {} were already gone from the server",
                    report.gone.len()
                ));
            }
            app.status(StatusKind::Success, text);
            app.preview = None;
            if app.quit_after_commit {
                quit(app, fx);
            } else {
                app.conn = Conn::Connecting {
                    stage: crate::client::Stage::Connect,
                    done: Vec::new(),
                };
            }
        }
        Event::CommitRefused {
            accepted, refused, ..
        } => {
            let text = format!(
                "the server refused DELE for {} message(s); nothing is deleted until you choose",
                refused.len()
            );
            app.status(StatusKind::Error, text);
            app.dialog = Some(Dialog::CommitRefused { accepted, refused });
        }
        Event::Reset => {}
        Event::Transcript(lines) => app.push_transcript(lines),
        Event::Latency(d) => app.latency = Some(d),
        Event::Notice(text) => {
            close_commit_dialog(app);
            app.status(StatusKind::Error, text);
        }
        Event::Disconnected(reason) => {
            close_commit_dialog(app);
            app.status(
                StatusKind::Error,
                format!("connection lost: {reason} (r reconnects)"),
            );
            app.conn = Conn::Disconnected(reason);
        }
        Event::Report(report) => {
            app.report_source = Some(report);
            app.report = report_lines(app);
        }
        Event::Ended => {
            if app.quitting {
                fx.push(Effect::Quit);
            }
        }
    }
}

const GMAIL_NOTE: &str = "Gmail: a RETR (save) followed by QUIT can mark messages as downloaded even without DELE, and Gmail shows only a limited number of messages per POP session (see its POP settings)";

fn is_gmail(info: &crate::worker::run::SessionInfo) -> bool {
    let host = info
        .server
        .rsplit('@')
        .next()
        .unwrap_or("")
        .split(':')
        .next()
        .unwrap_or("")
        .to_ascii_lowercase();
    host.ends_with("gmail.com")
        || host.ends_with("googlemail.com")
        || info.greeting.contains("Gpop")
}

/// Connection progress does not hide the outcome of what the user did
/// last (a commit's result stays until the next action).
fn progress_status(app: &mut App, text: String) {
    if !matches!(app.status, Some((StatusKind::Success, _))) {
        app.status(StatusKind::Info, text);
    }
}

fn close_commit_dialog(app: &mut App) {
    if matches!(app.dialog, Some(Dialog::Committing)) {
        app.dialog = None;
        app.quit_after_commit = false;
    }
}
