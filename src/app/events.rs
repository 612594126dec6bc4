//! What the worker tells the app: each [`Event`] changes the state (and
//! may ask for more, e.g. headers for the rows on screen). The app reacts
//! to what happened; failures arrive typed and are matched by kind, never
//! by searching their text. Pure: no I/O, no ui.

use super::dialogs::resume_commit;
use super::update::{prioritize, quit, report_lines};
use super::{App, Dialog, Effect, Link, PreviewContent, Row, StatusKind};
use crate::util::human_size;
use crate::worker::{CommitReport, Event, FailureKind, Mark, Provider};

pub(super) fn on_event(app: &mut App, event: Event, fx: &mut Vec<Effect>) {
    match event {
        Event::Connecting => {
            app.link = Link::Connecting {
                stage: crate::client::Stage::Connect,
                done: Vec::new(),
            }
        }
        Event::Stage { stage, done } => app.link = Link::Connecting { stage, done },
        Event::Connected(info) => {
            app.list.listed = false;
            let text = format!("logged in ({}) — listing…", info.method);
            app.session.info = Some(info);
            app.link = Link::Ready;
            progress_status(app, text);
        }
        Event::Failed(failure) => {
            close_commit_dialog(app);
            if app.lifecycle.asks_password && failure.kind == FailureKind::Auth {
                app.screen.dialog = Some(Dialog::Password {
                    input: Default::default(),
                    message: Some(failure.text.clone()),
                });
            }
            app.status(StatusKind::Error, format!("{failure} (r retries)"));
            app.link = Link::Failed(failure.text);
        }
        Event::Listing(listing) => {
            app.list.listed = true;
            // After a commit or a reconnect the numbers may all have moved:
            // stay on the same message, else the next one that remains.
            let keep = app.selection_candidates();
            // The size each mark had when the user saw it: a message whose
            // size changed is not the one the user marked.
            let marked_sizes: std::collections::HashMap<_, _> =
                app.marked_rows().map(|r| (r.key(), r.size)).collect();
            let known = &app.session.known;
            app.list.rows = listing
                .into_iter()
                .map(|l| {
                    let mut row = Row {
                        number: l.number,
                        uidl: l.uidl.map(String::into_boxed_str),
                        size: l.size,
                        summary: None,
                        header_error: None,
                    };
                    row.summary = known.get(&row.key()).cloned();
                    row
                })
                .collect();
            app.list.headers_done = app.list.rows.iter().filter(|r| r.summary.is_some()).count();
            let present: std::collections::HashMap<_, _> =
                app.list.rows.iter().map(|r| (r.key(), r.size)).collect();
            let before = app.marks.delete.len();
            app.marks.delete.retain(|k| present.contains_key(k));
            let vanished = before - app.marks.delete.len();
            let resized: Vec<_> = marked_sizes
                .iter()
                .filter(|(k, size)| present.get(*k).is_some_and(|now| now != *size))
                .map(|(k, _)| k.clone())
                .collect();
            for k in &resized {
                app.marks.delete.remove(k);
            }
            app.marks.saved.retain(|k| present.contains_key(k));
            app.rebuild_view_keeping(&keep);
            let n = app.list.rows.len();
            let mut text = format!("{n} messages, {}", human_size(app.total_size()));
            if vanished > 0 {
                text.push_str(&format!(
                    "; {vanished} marked messages are no longer on the server"
                ));
            }
            if !resized.is_empty() {
                let keys: Vec<String> = resized.iter().map(ToString::to_string).collect();
                text.push_str(&format!(
                    "; {} marked messages changed size on the server and were unmarked, not deleted ({})",
                    resized.len(),
                    keys.join(", ")
                ));
            }
            if app
                .session
                .info
                .as_ref()
                .is_some_and(|i| i.provider == Provider::Gmail)
            {
                text = format!("{text}. {GMAIL_NOTE}");
            }
            if resized.is_empty() {
                progress_status(app, text);
            } else {
                app.status(StatusKind::Error, text);
            }
            resume_commit(app);
            prioritize(app, fx);
        }
        Event::Headers(batch) => {
            for (number, result) in batch {
                let Ok(i) = app.list.rows.binary_search_by_key(&number, |r| r.number) else {
                    continue;
                };
                let first =
                    app.list.rows[i].summary.is_none() && app.list.rows[i].header_error.is_none();
                match result {
                    Ok(s) => {
                        let s = std::sync::Arc::new(s);
                        app.session.known.insert(app.list.rows[i].key(), s.clone());
                        app.list.rows[i].summary = Some(s);
                    }
                    Err(e) => app.list.rows[i].header_error = Some(e.text.into_boxed_str()),
                }
                if first {
                    app.list.headers_done += 1;
                }
            }
            if app.list.sort != super::SortKey::Number || !app.list.filter.is_empty() {
                app.rebuild_view();
            }
        }
        Event::Preview { id, result, .. } => {
            // The worker answers again: a wait still outstanding starts over.
            if let Some(w) = &mut app.screen.waiting {
                w.since = None;
                w.text = None;
            }
            if let Some(p) = &mut app.screen.preview
                && p.id == id
            {
                p.content = match result {
                    Ok(preview) => PreviewContent::Ready(Box::new(preview)),
                    Err(e) => PreviewContent::Failed(e.text),
                };
            }
            // Otherwise the user has moved on: the reply is dropped.
        }
        Event::SaveProgress { id, bytes, elapsed } => {
            if let Some(s) = &mut app.screen.save
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
            let Some(s) = app.screen.save.take_if(|s| s.id == id) else {
                return;
            };
            if cancelled {
                // The worker reconnects, and says so (`Event::Connecting`).
                app.status(
                    StatusKind::Info,
                    "save cancelled and the partial file removed; reconnecting, because POP3 cannot stop a RETR midway",
                );
                return;
            }
            match result {
                Ok(saved) => {
                    app.marks.saved.insert(s.key.clone());
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
                            app.marks.delete.insert(s.key);
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
                app.marks.delete.remove(&m.key());
            }
            app.screen.dialog = None;
            let (kind, text) = commit_text(&report);
            app.status(kind, text);
            app.screen.preview = None;
            // The worker has listed the mailbox again and sends that
            // listing next (`Event::Listing`), unless the user leaves now.
            if app.lifecycle.quit_after_commit {
                quit(app, fx);
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
            app.screen.dialog = Some(Dialog::CommitRefused {
                accepted: accepted.len(),
                refused,
            });
        }
        Event::Reset => {}
        Event::Transcript(lines) => app.push_transcript(lines),
        Event::Latency(d) => app.session.latency = Some(d),
        Event::Notice(failure) => {
            close_commit_dialog(app);
            app.status(StatusKind::Error, failure.text);
        }
        Event::Disconnected(reason) => {
            close_commit_dialog(app);
            app.status(
                StatusKind::Error,
                format!("connection lost: {reason} (r reconnects)"),
            );
            app.link = Link::Disconnected(reason.text);
        }
        Event::Reconnecting(wait) => {
            let why = match &app.link {
                Link::Disconnected(why) => format!("connection lost: {why}"),
                Link::Failed(why) => format!("could not reconnect: {why}"),
                // The user asked for a connection already (r, c).
                _ => return,
            };
            app.status(
                StatusKind::Error,
                format!(
                    "{why} Reconnecting by itself in {} s (r reconnects now).",
                    wait.as_secs().max(1)
                ),
            );
        }
        Event::Report(report) => {
            app.screen.report_source = Some(report);
            app.screen.report = report_lines(app);
        }
        Event::Ended => {
            if app.lifecycle.quitting {
                fx.push(Effect::Quit);
            }
        }
    }
}

/// What a commit did, as the listing after QUIT shows it.
fn commit_text(report: &CommitReport) -> (StatusKind, String) {
    let names = |marks: &[Mark]| {
        marks
            .iter()
            .map(|m| m.key().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (d, k) = (report.deleted.len(), report.kept.len());
    let mut text = if !report.rechecked && !report.confirmed {
        format!(
            "the server did not confirm QUIT ({}) and could not be listed again: it is unknown whether the {k} messages were deleted; they stay marked. Reconnect (r) to see what is there.",
            report.quit
        )
    } else if !report.rechecked || (report.confirmed && k == 0) {
        format!(
            "deleted {d} messages; the server confirmed: {}",
            report.quit
        )
    } else if report.confirmed {
        format!(
            "the server confirmed QUIT ({}) but still lists {k} of the {} messages: {}; they stay marked. Deleted {d}.",
            report.quit,
            d + k,
            names(&report.kept)
        )
    } else if d == 0 {
        format!(
            "nothing was deleted: QUIT did not succeed ({}); listed again, all {k} marked messages are still there and stay marked.",
            report.quit
        )
    } else {
        format!(
            "QUIT did not succeed ({}); listed again: {d} deleted ({}), {k} still there ({}), which stay marked.",
            report.quit,
            names(&report.deleted),
            names(&report.kept)
        )
    };
    if !report.gone.is_empty() {
        text.push_str(&format!(
            "; {} were already gone from the server",
            report.gone.len()
        ));
    }
    let kind = if report.confirmed && k == 0 {
        StatusKind::Success
    } else {
        StatusKind::Error
    };
    (kind, text)
}

const GMAIL_NOTE: &str = "Gmail: a RETR (save) followed by QUIT can mark messages as downloaded even without DELE, and Gmail shows only a limited number of messages per POP session (see its POP settings)";

/// Connection progress does not hide the outcome of what the user did
/// last (a commit's result stays until the next action).
fn progress_status(app: &mut App, text: String) {
    if !matches!(app.screen.status, Some((StatusKind::Success, _))) {
        app.status(StatusKind::Info, text);
    }
}

fn close_commit_dialog(app: &mut App) {
    if matches!(app.screen.dialog, Some(Dialog::Committing)) {
        app.screen.dialog = None;
        app.lifecycle.quit_after_commit = false;
    }
}
