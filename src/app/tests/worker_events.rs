//! The app follows what the worker says it does; it does not guess.

use super::*;

#[test]
fn after_a_commit_the_app_follows_what_the_worker_says() {
    let mut a = app(3);
    send(&mut a, [key('d'), key('c'), key('y')]);
    update(
        &mut a,
        Msg::Worker(Event::Committed(CommitReport {
            deleted: vec![Mark {
                number: 1,
                uidl: Some("uid1".into()),
            }],
            gone: vec![],
            quit: "+OK".into(),
            confirmed: true,
            ..Default::default()
        })),
    );
    assert_eq!(a.link, Link::Ready, "no reconnect is assumed");
    update(&mut a, Msg::Worker(Event::Connecting));
    assert!(matches!(a.link, Link::Connecting { .. }));
    assert!(
        a.screen
            .status
            .as_ref()
            .unwrap()
            .1
            .contains("deleted 1 messages")
    );
}

#[test]
fn a_marked_message_that_changed_size_is_unmarked_with_a_notice() {
    let mut a = app(5);
    send(&mut a, [key('d'), key('d')]);
    assert_eq!(a.marks.delete.len(), 2);
    // Reconnected: uid2 is there with another size, uid1 as it was.
    let mut relisted = listing(5);
    relisted[1].size += 1;
    update(&mut a, Msg::Worker(Event::Listing(relisted)));
    assert!(a.marks.delete.contains("uid1"));
    assert!(
        !a.marks.delete.contains("uid2"),
        "never deleted on a changed size"
    );
    let (kind, text) = a.screen.status.clone().unwrap();
    assert_eq!(kind, StatusKind::Error);
    assert!(
        text.contains("changed size") && text.contains("uid2"),
        "{text}"
    );
}

#[test]
fn commit_while_disconnected_reconnects_then_asks_with_the_current_numbers() {
    let mut a = app(5);
    send(&mut a, [key('j'), key('d'), key('d')]);
    update(
        &mut a,
        Msg::Worker(Event::Disconnected(Failure::new(
            FailureKind::Network,
            "the server ended the idle session.",
        ))),
    );
    let fx = send(&mut a, [key('c')]);
    assert!(matches!(requests(&fx)[..], [Request::Connect]), "{fx:?}");
    assert_eq!(a.screen.dialog, None, "no dialog on a stale listing");
    // The new session: uid2 is gone, so uid3 is now message 2.
    let relisted: Vec<Listing> = listing(5)
        .into_iter()
        .filter(|l| l.number != 2)
        .enumerate()
        .map(|(i, l)| Listing {
            number: i as u32 + 1,
            ..l
        })
        .collect();
    send(
        &mut a,
        [
            Msg::Worker(Event::Connecting),
            Msg::Worker(Event::Connected(SessionInfo::default())),
            Msg::Worker(Event::Listing(relisted)),
        ],
    );
    assert_eq!(a.screen.dialog, Some(Dialog::Commit));
    let fx = send(&mut a, [key('y')]);
    match requests(&fx)[..] {
        [Request::Commit(marks)] => assert_eq!(
            marks,
            &vec![Mark {
                number: 2,
                uidl: Some("uid3".into())
            }]
        ),
        ref other => panic!("{other:?}"),
    }
}

#[test]
fn a_commit_report_names_what_the_new_listing_shows() {
    let mark = |n: u32| Mark {
        number: n,
        uidl: Some(format!("uid{n}")),
    };
    let mut a = app(5);
    update(
        &mut a,
        Msg::Worker(Event::Committed(CommitReport {
            deleted: vec![mark(1)],
            kept: vec![mark(2)],
            quit: "+OK bye".into(),
            confirmed: true,
            rechecked: true,
            ..Default::default()
        })),
    );
    let (kind, text) = a.screen.status.clone().unwrap();
    assert_eq!(kind, StatusKind::Error);
    assert!(
        text.contains("still lists 1 of the 2") && text.contains("uid2"),
        "{text}"
    );
    update(
        &mut a,
        Msg::Worker(Event::Committed(CommitReport {
            kept: vec![mark(3), mark(4)],
            quit: "-ERR cannot update the maildrop".into(),
            rechecked: true,
            ..Default::default()
        })),
    );
    let text = a.screen.status.clone().unwrap().1;
    assert!(text.starts_with("nothing was deleted"), "{text}");
}

#[test]
fn a_lost_session_says_when_it_comes_back() {
    let mut a = app(3);
    send(
        &mut a,
        [
            Msg::Worker(Event::Disconnected(Failure::new(
                FailureKind::Network,
                "the server ended the idle session.",
            ))),
            Msg::Worker(Event::Reconnecting(Duration::from_secs(4))),
        ],
    );
    let text = a.screen.status.clone().unwrap().1;
    assert!(
        text.contains("idle session")
            && text.contains("in 4 s")
            && text.contains("r reconnects now"),
        "{text}"
    );
}
