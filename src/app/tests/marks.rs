//! Marks for deletion, saves (and save-then-mark), commits with their
//! refused `DELE`, and quitting with marks pending.

use super::*;

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
                key: MsgKey::Uidl(u),
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
            confirmed: true,
            ..Default::default()
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
        Failure::new(FailureKind::Refused, "-ERR locked"),
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
            confirmed: true,
            ..Default::default()
        }))],
    );
    assert!(matches!(requests(&fx)[..], [Request::Shutdown]));
    assert!(a.lifecycle.quitting);
}
