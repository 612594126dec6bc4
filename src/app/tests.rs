//! `update` tests: sequences of messages in, state and effects out.

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::client::ops::Listing;
use crate::mail::Summary;
use crate::store::Saved;
use crate::worker::{
    CommitReport, Event, Failure, FailureKind, Mark, Provider, Request, SessionInfo,
};

fn key(c: char) -> Msg {
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    Msg::Key(KeyEvent::new(KeyCode::Char(c), mods))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn listing(n: u32) -> Vec<Listing> {
    (1..=n)
        .map(|i| Listing {
            number: i,
            size: 1000 + (i as u64 * 7919) % 5000,
            uidl: Some(format!("uid{i}")),
        })
        .collect()
}

fn summary(i: u32) -> Summary {
    Summary {
        from: format!("Sender {}", (b'a' + (i % 26) as u8) as char),
        subject: format!("Subject {i:03}"),
        date: Some(1_790_000_000 + (i as i64 % 7) * 86_400),
        ..Default::default()
    }
}

/// An app connected to a mailbox of `n` messages, all headers loaded.
fn app(n: u32) -> App {
    let mut a = App::new(
        "test".into(),
        PathBuf::from("/saves"),
        200,
        jiff::tz::TimeZone::UTC,
    );
    update(&mut a, Msg::Resize(80, 24));
    update(
        &mut a,
        Msg::Worker(Event::Connected(SessionInfo::default())),
    );
    update(&mut a, Msg::Worker(Event::Listing(listing(n))));
    let headers = (1..=n).map(|i| (i, Ok(summary(i)))).collect();
    update(&mut a, Msg::Worker(Event::Headers(headers)));
    a
}

fn send(a: &mut App, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effect> {
    msgs.into_iter().flat_map(|m| update(a, m)).collect()
}

fn selected(a: &App) -> u32 {
    a.selected_row().unwrap().number
}

fn requests(fx: &[Effect]) -> Vec<&Request> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Pop(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn moving_stays_in_bounds_and_scrolls() {
    let mut a = app(100);
    assert_eq!(selected(&a), 1);
    send(&mut a, [key('k'), code(KeyCode::Up)]);
    assert_eq!(selected(&a), 1);
    send(&mut a, [key('j'), key('j'), code(KeyCode::Down)]);
    assert_eq!(selected(&a), 4);
    send(&mut a, [code(KeyCode::PageDown)]);
    let rows = a.list_rows();
    assert_eq!(selected(&a), 4 + rows as u32);
    assert!(
        a.list.offset > 0 && a.list.selected < a.list.offset + rows,
        "the selection is on screen"
    );
    send(&mut a, [key('G')]);
    assert_eq!(selected(&a), 100);
    assert_eq!(a.list.offset, 100 - rows);
    send(&mut a, [code(KeyCode::PageDown), key('j')]);
    assert_eq!(selected(&a), 100);
    send(&mut a, [key('g')]);
    assert_eq!((selected(&a), a.list.offset), (1, 0));
    send(&mut a, [Msg::Scroll(3)]);
    assert_eq!(selected(&a), 4);
}

#[test]
fn largest_sort_and_reverse_keep_the_selection() {
    let mut a = app(50);
    send(&mut a, [key('L')]);
    let largest = a.list.rows.iter().max_by_key(|r| r.size).unwrap().number;
    assert_eq!(selected(&a), largest);
    send(&mut a, [key('o')]);
    assert_eq!(a.list.sort, SortKey::Size);
    assert_eq!(selected(&a), largest, "still on the same message");
    assert_eq!(
        a.list.view.last().map(|&i| a.list.rows[i].number),
        Some(largest)
    );
    let sizes: Vec<u64> = a.list.view.iter().map(|&i| a.list.rows[i].size).collect();
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]));
    send(&mut a, [key('O')]);
    assert!(a.list.reverse);
    assert_eq!(
        a.list.view.first().map(|&i| a.list.rows[i].number),
        Some(largest)
    );
    send(&mut a, [key('o'), key('o'), key('o'), key('o')]);
    assert_eq!(a.list.sort, SortKey::Number);
    assert!(a.screen.status.as_ref().unwrap().1.contains("number"));
}

#[test]
fn sorting_puts_missing_headers_last() {
    let mut a = App::new("t".into(), PathBuf::new(), 10, jiff::tz::TimeZone::UTC);
    send(
        &mut a,
        [
            Msg::Resize(80, 24),
            Msg::Worker(Event::Connected(SessionInfo::default())),
        ],
    );
    send(&mut a, [Msg::Worker(Event::Listing(listing(3)))]);
    send(
        &mut a,
        [Msg::Worker(Event::Headers(vec![
            (2, Ok(summary(2))),
            (3, Err(Failure::new(FailureKind::Protocol, "too long"))),
        ]))],
    );
    for _ in 0..2 {
        send(&mut a, [key('o')]);
    }
    assert_eq!(a.list.sort, SortKey::Date);
    let order: Vec<u32> = a.list.view.iter().map(|&i| a.list.rows[i].number).collect();
    assert_eq!(order[0], 2);
    assert_eq!(
        a.list.headers_done, 2,
        "a failed header block counts as done"
    );
}

#[test]
fn filter_narrows_live_and_escape_clears() {
    let mut a = app(30);
    send(&mut a, [key('/'), key('0'), key('1')]);
    assert!(a.list.filter_editing);
    let shown: Vec<u32> = a.list.view.iter().map(|&i| a.list.rows[i].number).collect();
    assert_eq!(
        shown,
        [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
        "Subject 001, 010-019"
    );
    send(&mut a, [key('5')]);
    assert_eq!(a.list.view.len(), 1);
    send(&mut a, [code(KeyCode::Backspace), code(KeyCode::Enter)]);
    assert!(!a.list.filter_editing);
    assert_eq!(a.list.filter, "01");
    assert_eq!(a.list.view.len(), 11);
    // d and D act on what is shown.
    send(&mut a, [key('D')]);
    assert_eq!(a.marks.delete.len(), 11);
    send(&mut a, [code(KeyCode::Esc)]);
    assert!(a.list.filter.is_empty());
    assert_eq!(a.list.view.len(), 30);
    assert_eq!(
        a.marks.delete.len(),
        11,
        "clearing the filter keeps the marks"
    );
    send(&mut a, [key('/'), key('x'), key('y'), code(KeyCode::Esc)]);
    assert_eq!(a.list.view.len(), 30);
}

#[test]
fn marks_toggle_move_and_unmark_all_resets() {
    let mut a = app(10);
    send(&mut a, [key('d')]);
    assert!(a.marks.delete.contains("uid1"));
    assert_eq!(selected(&a), 2, "d moves to the next message");
    send(&mut a, [key('k'), key('d')]);
    assert!(a.marks.delete.is_empty(), "d again unmarks");
    send(&mut a, [key('d'), key('d'), key('k'), key('u')]);
    assert_eq!(
        a.marks.delete.iter().collect::<Vec<_>>(),
        ["uid2"],
        "u unmarked uid3"
    );
    let fx = send(&mut a, [key('U')]);
    assert!(a.marks.delete.is_empty());
    assert!(matches!(requests(&fx)[..], [Request::Reset]));
    send(&mut a, [key('D')]);
    assert_eq!(a.marks.delete.len(), 10);
    assert_eq!(a.marked_size(), a.total_size());
    send(&mut a, [key('D')]);
    assert!(a.marks.delete.is_empty(), "D on an all-marked view unmarks");
}

fn saved(a: &mut App, size: u64) -> Vec<Effect> {
    let id = a.screen.save.as_ref().unwrap().id;
    update(
        a,
        Msg::Worker(Event::Saved {
            id,
            result: Ok(Saved {
                path: "/saves/x.eml".into(),
                size,
                sha256: "ab".repeat(32),
            }),
            list_size: a.selected_row().unwrap().size,
            cancelled: false,
        }),
    )
}

#[test]
fn save_then_mark_marks_only_a_verified_complete_save() {
    let mut a = app(5);
    let size = a.selected_row().unwrap().size;
    let fx = send(&mut a, [key('S')]);
    match requests(&fx)[..] {
        [
            Request::Save {
                number: 1,
                uidl: Some(u),
                dest,
                ..
            },
        ] => {
            assert_eq!(u, "uid1");
            assert!(dest.starts_with("/saves"));
            assert!(dest.to_string_lossy().ends_with("uid1.eml"));
        }
        ref other => panic!("{other:?}"),
    }
    assert!(a.marks.delete.is_empty(), "not marked while saving");
    let fx = send(&mut a, [key('s')]);
    assert!(requests(&fx).is_empty(), "one save at a time");
    let id = a.screen.save.as_ref().unwrap().id;
    update(
        &mut a,
        Msg::Worker(Event::SaveProgress {
            id,
            bytes: 10,
            elapsed: Duration::from_millis(5),
        }),
    );
    assert_eq!(a.screen.save.as_ref().unwrap().bytes, 10);
    saved(&mut a, size);
    assert!(a.screen.save.is_none());
    assert!(a.marks.delete.contains("uid1") && a.marks.saved.contains("uid1"));
    assert!(
        a.screen
            .status
            .as_ref()
            .unwrap()
            .1
            .contains("marked for deletion")
    );

    // A size that differs from LIST: saved, but not marked.
    send(&mut a, [key('j'), key('S')]);
    saved(&mut a, size + 1);
    assert!(a.marks.saved.contains("uid2"));
    assert!(!a.marks.delete.contains("uid2"));
    assert_eq!(a.screen.status.as_ref().unwrap().0, StatusKind::Error);

    // A failed save marks nothing.
    send(&mut a, [key('j'), key('S')]);
    let id = a.screen.save.as_ref().unwrap().id;
    update(
        &mut a,
        Msg::Worker(Event::Saved {
            id,
            result: Err(Failure::new(FailureKind::Local, "disk full")),
            list_size: 1,
            cancelled: false,
        }),
    );
    assert!(!a.marks.delete.contains("uid3") && !a.marks.saved.contains("uid3"));
}

#[test]
fn escape_cancels_a_save_and_the_app_waits_for_the_reconnect() {
    let mut a = app(5);
    send(&mut a, [key('s')]);
    let token = a.screen.save.as_ref().unwrap().cancel.clone();
    let fx = send(&mut a, [code(KeyCode::Esc)]);
    assert!(matches!(&fx[..], [Effect::Cancel(t)] if t.is_cancelled() == token.is_cancelled()));
    let fx = send(&mut a, [code(KeyCode::Esc)]);
    assert!(fx.is_empty(), "a second Esc does not cancel twice");
    let id = a.screen.save.as_ref().unwrap().id;
    update(
        &mut a,
        Msg::Worker(Event::Saved {
            id,
            result: Err(Failure::new(FailureKind::Cancelled, "cancelled")),
            list_size: 1,
            cancelled: true,
        }),
    );
    // The worker says it reconnects; the app does not guess it.
    update(&mut a, Msg::Worker(Event::Connecting));
    assert!(a.screen.save.is_none());
    assert!(matches!(a.link, Link::Connecting { .. }));
    assert!(
        a.screen
            .status
            .as_ref()
            .unwrap()
            .1
            .contains("cannot stop a RETR midway")
    );
}

#[test]
fn commit_asks_then_sends_dele_for_the_marks() {
    let mut a = app(10);
    send(&mut a, [key('c')]);
    assert!(a.screen.dialog.is_none());
    assert!(
        a.screen
            .status
            .as_ref()
            .unwrap()
            .1
            .contains("nothing is marked")
    );
    send(&mut a, [key('G'), key('d'), key('g'), key('d'), key('c')]);
    assert_eq!(a.screen.dialog, Some(Dialog::Commit));
    let fx = send(&mut a, [key('j')]);
    assert!(
        fx.is_empty() && selected(&a) == 2,
        "keys go to the dialog, not the list"
    );
    let fx = send(&mut a, [key('n')]);
    assert!(fx.is_empty() && a.screen.dialog.is_none());
    let fx = send(&mut a, [key('c'), key('y')]);
    match requests(&fx)[..] {
        [Request::Commit(marks)] => assert_eq!(
            marks,
            &vec![
                Mark {
                    number: 1,
                    uidl: Some("uid1".into())
                },
                Mark {
                    number: 10,
                    uidl: Some("uid10".into())
                }
            ]
        ),
        ref other => panic!("{other:?}"),
    }
    assert_eq!(a.screen.dialog, Some(Dialog::Committing));
    update(
        &mut a,
        Msg::Worker(Event::Committed(CommitReport {
            deleted: vec![
                Mark {
                    number: 1,
                    uidl: Some("uid1".into()),
                },
                Mark {
                    number: 10,
                    uidl: Some("uid10".into()),
                },
            ],
            gone: vec![],
            quit: "+OK bye".into(),
        })),
    );
    assert!(a.marks.delete.is_empty() && a.screen.dialog.is_none());
    assert!(
        a.screen
            .status
            .as_ref()
            .unwrap()
            .1
            .contains("deleted 2 messages")
    );
    // The worker reconnects: the new listing must not hide the result.
    update(
        &mut a,
        Msg::Worker(Event::Connected(SessionInfo::default())),
    );
    update(&mut a, Msg::Worker(Event::Listing(listing(8))));
    assert!(
        a.screen
            .status
            .as_ref()
            .unwrap()
            .1
            .contains("deleted 2 messages")
    );
}

#[test]
fn a_refused_dele_asks_again() {
    let mut a = app(4);
    send(&mut a, [key('d'), key('d'), key('c'), key('y')]);
    let accepted = vec![Mark {
        number: 1,
        uidl: Some("uid1".into()),
    }];
    let refused = vec![(
        Mark {
            number: 2,
            uidl: Some("uid2".into()),
        },
        "-ERR locked".to_string(),
    )];
    update(
        &mut a,
        Msg::Worker(Event::CommitRefused {
            accepted: accepted.clone(),
            refused: refused.clone(),
            gone: vec![],
        }),
    );
    assert!(matches!(
        a.screen.dialog,
        Some(Dialog::CommitRefused { .. })
    ));
    let fx = send(&mut a, [key('n')]);
    assert!(matches!(requests(&fx)[..], [Request::Reset]));
    assert_eq!(a.marks.delete.len(), 2, "marks are kept");
    send(&mut a, [key('c'), key('y')]);
    update(
        &mut a,
        Msg::Worker(Event::CommitRefused {
            accepted,
            refused,
            gone: vec![],
        }),
    );
    let fx = send(&mut a, [key('y')]);
    assert!(matches!(requests(&fx)[..], [Request::CommitAccepted]));
}

#[test]
fn quit_with_marks_asks_and_leaving_deletes_nothing() {
    let mut a = app(3);
    send(&mut a, [key('d')]);
    let fx = send(&mut a, [key('q')]);
    assert!(fx.is_empty());
    assert_eq!(a.screen.dialog, Some(Dialog::Quit));
    send(&mut a, [code(KeyCode::Esc)]);
    assert!(a.screen.dialog.is_none() && !a.lifecycle.quitting);
    let fx = send(&mut a, [key('q'), key('l')]);
    assert!(matches!(requests(&fx)[..], [Request::Shutdown]));
    assert!(
        !fx.iter()
            .any(|e| matches!(e, Effect::Pop(Request::Commit(_))))
    );
    assert!(a.lifecycle.quitting);
    let fx = send(&mut a, [Msg::Worker(Event::Ended)]);
    assert!(matches!(fx[..], [Effect::Quit]));
}

#[test]
fn quit_with_commit_commits_then_leaves() {
    let mut a = app(3);
    send(&mut a, [key('d'), key('q'), key('c')]);
    assert_eq!(
        a.screen.dialog,
        Some(Dialog::Commit),
        "the commit dialog shows what will go"
    );
    let fx = send(&mut a, [key('y')]);
    assert!(matches!(requests(&fx)[..], [Request::Commit(_)]));
    let fx = send(
        &mut a,
        [Msg::Worker(Event::Committed(CommitReport {
            deleted: vec![Mark {
                number: 1,
                uidl: Some("uid1".into()),
            }],
            gone: vec![],
            quit: "+OK".into(),
        }))],
    );
    assert!(matches!(requests(&fx)[..], [Request::Shutdown]));
    assert!(a.lifecycle.quitting);
}

#[test]
fn a_preview_for_a_row_left_behind_is_dropped() {
    let mut a = app(5);
    let fx = send(&mut a, [code(KeyCode::Enter)]);
    let first = match requests(&fx)[..] {
        [
            Request::Preview {
                id,
                number: 1,
                lines: 200,
                ..
            },
        ] => *id,
        ref other => panic!("{other:?}"),
    };
    let fx = send(&mut a, [key('j')]);
    let second = match requests(&fx)[..] {
        [Request::Preview { id, number: 2, .. }] => *id,
        ref other => panic!("{other:?}"),
    };
    let pv = crate::mail::preview(b"Subject: one\r\n\r\nbody\r\n", Some(22));
    update(
        &mut a,
        Msg::Worker(Event::Preview {
            id: first,
            number: 1,
            result: Ok(pv.clone()),
        }),
    );
    assert_eq!(
        a.screen.preview.as_ref().unwrap().content,
        PreviewContent::Loading,
        "stale reply dropped"
    );
    update(
        &mut a,
        Msg::Worker(Event::Preview {
            id: second,
            number: 2,
            result: Ok(pv),
        }),
    );
    assert!(matches!(
        a.screen.preview.as_ref().unwrap().content,
        PreviewContent::Ready(_)
    ));
    send(&mut a, [key('H')]);
    assert!(a.screen.preview.as_ref().unwrap().raw);
    send(&mut a, [key('h')]);
    assert!(a.screen.preview.is_none());
    update(
        &mut a,
        Msg::Worker(Event::Preview {
            id: second,
            number: 2,
            result: Err(Failure::new(FailureKind::Timeout, "late")),
        }),
    );
    assert!(
        a.screen.preview.is_none(),
        "a reply after closing opens nothing"
    );
}

#[test]
fn visible_rows_get_their_headers_first() {
    let mut a = App::new("t".into(), PathBuf::new(), 10, jiff::tz::TimeZone::UTC);
    send(
        &mut a,
        [
            Msg::Resize(80, 24),
            Msg::Worker(Event::Connected(SessionInfo::default())),
        ],
    );
    let fx = send(&mut a, [Msg::Worker(Event::Listing(listing(500)))]);
    let rows = a.list_rows() as u32;
    match requests(&fx)[..] {
        [Request::Prioritize(n)] => assert_eq!(n, &(1..=rows).collect::<Vec<_>>()),
        ref other => panic!("{other:?}"),
    }
    let fx = send(&mut a, [key('G')]);
    match requests(&fx)[..] {
        [Request::Prioritize(n)] => assert_eq!(n.last(), Some(&500)),
        ref other => panic!("{other:?}"),
    }
    assert_eq!(a.list.headers_done, 0);
}

#[test]
fn a_new_listing_keeps_headers_and_drops_marks_of_vanished_messages() {
    let mut a = app(5);
    send(&mut a, [key('d'), key('d'), key('d')]);
    let mut l = listing(5);
    l.retain(|x| x.number != 2);
    for (i, x) in l.iter_mut().enumerate() {
        x.number = i as u32 + 1;
    }
    update(&mut a, Msg::Worker(Event::Listing(l)));
    assert_eq!(a.list.rows.len(), 4);
    assert_eq!(a.marks.delete.iter().collect::<Vec<_>>(), ["uid1", "uid3"]);
    assert_eq!(a.list.headers_done, 4, "known headers are reused");
    assert_eq!(
        a.list.rows[1].summary.as_ref().unwrap().subject,
        "Subject 003"
    );
    assert!(
        a.screen
            .status
            .as_ref()
            .unwrap()
            .1
            .contains("no longer on the server")
    );
}

#[test]
fn transcript_overlay_scrolls_and_writes() {
    let mut a = app(2);
    let lines = (0..100)
        .map(|i| crate::client::log::Line {
            at: Duration::from_millis(i),
            dir: crate::client::log::Dir::Sent,
            text: format!("NOOP {i}"),
            latency: None,
        })
        .collect();
    update(&mut a, Msg::Worker(Event::Transcript(lines)));
    send(&mut a, [key('t')]);
    assert!(matches!(a.screen.overlay, Some(Overlay::Transcript { .. })));
    send(&mut a, [key('g'), key('j')]);
    assert_eq!(a.screen.overlay, Some(Overlay::Transcript { scroll: 1 }));
    send(&mut a, [key('G'), key('k')]);
    assert_eq!(
        a.screen.overlay,
        Some(Overlay::Transcript {
            scroll: 100 - 22 - 1
        }),
        "k from the end moves one line"
    );
    let fx = send(&mut a, [key('w')]);
    match &fx[..] {
        [Effect::WriteFile { path, contents }] => {
            assert!(path.starts_with("/saves"));
            assert!(contents.contains("C: NOOP 99"));
            assert!(contents.starts_with("# popdoc transcript"));
        }
        other => panic!("{other:?}"),
    }
    send(&mut a, [code(KeyCode::Esc)]);
    assert!(a.screen.overlay.is_none());
    send(&mut a, [key('?')]);
    assert_eq!(a.screen.overlay, Some(Overlay::Help { scroll: 0 }));
    send(&mut a, [key('j')]);
    assert_eq!(
        a.screen.overlay,
        Some(Overlay::Help { scroll: 1 }),
        "the help scrolls on a short screen"
    );
    send(&mut a, [key('q')]);
    assert!(
        a.screen.overlay.is_none() && !a.lifecycle.quitting,
        "q closes the help, it does not quit"
    );
}

#[test]
fn connection_failures_and_retry() {
    let mut a = App::new("t".into(), PathBuf::new(), 10, jiff::tz::TimeZone::UTC);
    update(
        &mut a,
        Msg::Worker(Event::Failed(Failure::new(
            FailureKind::Auth,
            "login failed: -ERR [AUTH] no",
        ))),
    );
    assert!(matches!(a.link, Link::Failed(_)));
    let fx = send(&mut a, [key('r')]);
    assert!(matches!(requests(&fx)[..], [Request::Connect]));
    assert!(matches!(a.link, Link::Connecting { .. }));
    let fx = send(&mut a, [key('q')]);
    assert!(
        matches!(requests(&fx)[..], [Request::Shutdown]),
        "no marks: quit at once"
    );
}

#[test]
fn gmail_users_are_told_about_its_pop_behaviour() {
    let mut a = App::new("t".into(), PathBuf::new(), 10, jiff::tz::TimeZone::UTC);
    let info = SessionInfo {
        user: "me@gmail.com".into(),
        host: "pop.gmail.com".into(),
        port: 995,
        provider: Provider::Gmail,
        ..Default::default()
    };
    send(
        &mut a,
        [
            Msg::Worker(Event::Connected(info)),
            Msg::Worker(Event::Listing(listing(3))),
        ],
    );
    let text = &a.screen.status.as_ref().unwrap().1;
    assert!(
        text.contains("RETR (save) followed by QUIT can mark messages as downloaded"),
        "{text}"
    );
    assert!(
        text.contains("limited number of messages per POP session"),
        "{text}"
    );
    let mut b = app(3);
    assert!(!b.screen.status.as_ref().unwrap().1.contains("Gmail"));
    send(&mut b, [key('j')]);
}

#[test]
fn the_password_is_typed_masked_and_asked_again_when_refused() {
    let mut a = App::new(
        "ann@pop.example.com:995".into(),
        PathBuf::new(),
        10,
        jiff::tz::TimeZone::UTC,
    );
    a.ask_password();
    let fx = send(
        &mut a,
        [
            key('s'),
            key('3'),
            key('c'),
            code(KeyCode::Backspace),
            key('C'),
        ],
    );
    assert!(fx.is_empty(), "typing does nothing else");
    match &a.screen.dialog {
        Some(Dialog::Password { input, .. }) => {
            assert_eq!(input.len(), 3);
            assert_eq!(format!("{input:?}"), "PasswordInput(***)");
        }
        other => panic!("{other:?}"),
    }
    let fx = send(&mut a, [code(KeyCode::Enter)]);
    match &fx[..] {
        [Effect::Login(secret)] => {
            use secrecy::ExposeSecret;
            assert_eq!(secret.expose_secret(), "s3C");
            assert!(
                !format!("{fx:?}").contains("s3C"),
                "the effect's Debug hides it"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(a.screen.dialog.is_none());
    update(
        &mut a,
        Msg::Worker(Event::Failed(Failure::new(
            FailureKind::Auth,
            "login failed: -ERR [AUTH] Authentication failed.",
        ))),
    );
    assert!(
        matches!(&a.screen.dialog, Some(Dialog::Password { message: Some(m), .. }) if m.contains("[AUTH]"))
    );
    // Other failures do not ask for the password again.
    a.screen.dialog = None;
    update(
        &mut a,
        Msg::Worker(Event::Failed(Failure::new(
            FailureKind::Network,
            "could not connect",
        ))),
    );
    assert!(a.screen.dialog.is_none());
    // Esc in the dialog leaves.
    a.ask_password();
    let fx = send(&mut a, [code(KeyCode::Esc)]);
    assert!(fx.iter().any(|e| matches!(e, Effect::Quit)));
}

#[test]
fn the_report_opens_scrolls_and_writes() {
    let mut a = app(3);
    let fx = send(&mut a, [key('i')]);
    assert!(matches!(requests(&fx)[..], [Request::Report]));
    assert_eq!(a.screen.overlay, Some(Overlay::Report { scroll: 0 }));
    let text: String = (0..40).map(|i| format!("line {i}\n")).collect();
    update(
        &mut a,
        Msg::Worker(Event::Report(Err(Failure::not_connected(text)))),
    );
    assert_eq!(a.screen.report.as_ref().unwrap().len(), 40);
    send(&mut a, [key('G')]);
    assert_eq!(a.screen.overlay, Some(Overlay::Report { scroll: 40 - 22 }));
    let fx = send(&mut a, [key('w')]);
    match &fx[..] {
        [Effect::WriteFile { path, contents }] => {
            assert!(
                path.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("popdoc-report-")
            );
            assert!(contents.starts_with("line 0\nline 1\n"));
        }
        other => panic!("{other:?}"),
    }
    send(&mut a, [key('i')]);
    assert!(a.screen.overlay.is_none());
}

/// The report overlay wraps to the screen, and again after a resize.
#[test]
fn the_report_wraps_to_the_screen_width() {
    let mut a = app(3);
    update(&mut a, Msg::Resize(70, 30));
    send(&mut a, [key('i')]);
    let report = crate::report::text::tests::wide_report();
    let flat = crate::report::render_text(&report, None);
    update(&mut a, Msg::Worker(Event::Report(Ok(Box::new(report)))));
    let lines = a.screen.report.clone().unwrap();
    assert!(lines.iter().all(|l| l.chars().count() <= 68), "{lines:#?}");
    // Nothing is lost: the same characters, whatever the line breaks.
    let text = |s: &str| s.split_whitespace().collect::<String>();
    assert_eq!(text(&lines.join("\n")), text(&flat));
    update(&mut a, Msg::Resize(150, 30));
    let lines = a.screen.report.clone().unwrap();
    let row = lines.iter().find(|l| l.contains("#1 ")).unwrap();
    assert!(row.contains("UIDL 17ea8182"), "{lines:#?}");
}
mod screen;
mod worker_events;
