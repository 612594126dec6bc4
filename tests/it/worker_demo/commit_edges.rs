//! Commits that go wrong on the server's side, each with its demo fault:
//! the DELE batch in one flight, the connection lost after some DELE, QUIT
//! lost, refused, or answered `+OK` while a message stayed, and one UIDL
//! listed for two messages. After QUIT the worker lists again, and the
//! report says what that listing shows.

use super::*;
use popdoc::client::log::Dir;
use popdoc::worker::{CommitReport, FailureKind};

fn marks(listing: &[popdoc::client::ops::Listing], numbers: &[usize]) -> Vec<Mark> {
    numbers
        .iter()
        .map(|&n| Mark {
            number: n as u32,
            uidl: listing[n - 1].uidl.clone(),
        })
        .collect()
}

/// Commits messages `numbers` of `n` under `faults`; the report and what
/// the mailbox holds afterwards.
async fn commit(n: usize, numbers: &[usize], faults: Faults) -> (CommitReport, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    let (s, mailbox) = server(dir.path(), n, faults).await;
    let (tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    let listing = listed(&mut rx).await;
    tx.send(Request::Commit(marks(&listing, numbers)))
        .await
        .unwrap();
    let report = until(&mut rx, "the commit", |e| match e {
        Event::Committed(r) => Some(r),
        Event::Notice(f) => panic!("{f}"),
        _ => None,
    })
    .await;
    let names = mailbox
        .files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    (report, names)
}

fn numbers(marks: &[Mark]) -> Vec<u32> {
    marks.iter().map(|m| m.number).collect()
}

#[tokio::test]
async fn the_dele_batch_goes_out_in_one_flight() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _mailbox) = server(dir.path(), 5, Faults::default()).await;
    let (tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    let listing = listed(&mut rx).await;
    tx.send(Request::Commit(marks(&listing, &[1, 2, 4, 5])))
        .await
        .unwrap();
    let mut lines = Vec::new();
    until(&mut rx, "the commit", |e| match e {
        Event::Transcript(l) => {
            lines.extend(l);
            None
        }
        Event::Committed(_) => Some(()),
        _ => None,
    })
    .await;
    let first_dele = lines
        .iter()
        .position(|l| l.dir == Dir::Sent && l.text.starts_with("DELE"))
        .expect("DELE in the transcript");
    let first_reply = lines[first_dele..]
        .iter()
        .position(|l| l.dir == Dir::Received)
        .unwrap()
        + first_dele;
    let sent_before: Vec<&str> = lines[first_dele..first_reply]
        .iter()
        .filter(|l| l.dir == Dir::Sent)
        .map(|l| l.text.as_str())
        .collect();
    assert_eq!(
        sent_before,
        ["DELE 1", "DELE 2", "DELE 4", "DELE 5"],
        "every DELE before the first reply"
    );
}

#[tokio::test]
async fn lost_after_some_dele_nothing_is_deleted_and_it_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        drop_after_deles: Some(1),
        ..Default::default()
    };
    let (s, mailbox) = server(dir.path(), 4, faults).await;
    let (tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    let listing = listed(&mut rx).await;
    tx.send(Request::Commit(marks(&listing, &[1, 2, 3])))
        .await
        .unwrap();
    let notice = until(&mut rx, "the notice", |e| match e {
        Event::Notice(f) => Some(f),
        Event::Committed(r) => panic!("{r:?}"),
        _ => None,
    })
    .await;
    assert!(
        notice.text.contains("accepted 1 of 3 DELE") && notice.text.contains("Nothing was deleted"),
        "{notice}"
    );
    assert_eq!(mailbox.len(), 4);
    assert!(!s.received().iter().any(|l| l == "QUIT"));
    // And the worker reconnects by itself.
    assert_eq!(listed(&mut rx).await.len(), 4);
}

#[tokio::test]
async fn quit_lost_after_the_server_deleted_is_checked_on_a_new_listing() {
    let faults = Faults {
        drop_after_quit_commit: true,
        ..Default::default()
    };
    let (report, names) = commit(4, &[2, 3], faults).await;
    assert!(!report.confirmed && report.rechecked, "{report:?}");
    assert_eq!(numbers(&report.deleted), [2, 3]);
    assert!(report.kept.is_empty());
    assert_eq!(names, ["01.eml", "04.eml"]);
}

#[tokio::test]
async fn quit_lost_before_the_server_deleted_reports_them_still_there() {
    let faults = Faults {
        drop_on_quit: true,
        ..Default::default()
    };
    let (report, names) = commit(4, &[2, 3], faults).await;
    assert!(!report.confirmed && report.rechecked, "{report:?}");
    assert!(report.deleted.is_empty());
    assert_eq!(numbers(&report.kept), [2, 3]);
    assert_eq!(names.len(), 4);
}

#[tokio::test]
async fn an_err_to_quit_deletes_nothing_and_says_so() {
    let faults = Faults {
        refuse_quit: true,
        ..Default::default()
    };
    let (report, names) = commit(3, &[1, 3], faults).await;
    assert!(!report.confirmed, "{report:?}");
    assert!(report.quit.starts_with("-ERR"), "{}", report.quit);
    assert!(report.deleted.is_empty());
    assert_eq!(numbers(&report.kept), [1, 3]);
    assert_eq!(names.len(), 3);
}

#[tokio::test]
async fn a_message_kept_after_ok_to_quit_is_reported() {
    let faults = Faults {
        quit_keeps: vec![3],
        ..Default::default()
    };
    let (report, names) = commit(4, &[1, 3], faults).await;
    assert!(report.confirmed && report.rechecked, "{report:?}");
    assert_eq!(numbers(&report.deleted), [1]);
    assert_eq!(numbers(&report.kept), [3]);
    assert_eq!(names, ["02.eml", "03.eml", "04.eml"]);
}

#[tokio::test]
async fn an_ambiguous_uidl_is_warned_about_and_never_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        duplicate_uidl: true,
        ..Default::default()
    };
    let (s, mailbox) = server(dir.path(), 3, faults).await;
    let (tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    let listing = listed(&mut rx).await;
    assert_eq!(listing[0].uidl, listing[1].uidl);
    let warning = until(&mut rx, "the warning", |e| match e {
        Event::Notice(f) => Some(f),
        _ => None,
    })
    .await;
    assert!(warning.text.contains("same UIDL"), "{warning}");
    tx.send(Request::Commit(marks(&listing, &[2, 3])))
        .await
        .unwrap();
    let (accepted, refused) = until(&mut rx, "the refusal", |e| match e {
        Event::CommitRefused {
            accepted, refused, ..
        } => Some((accepted, refused)),
        _ => None,
    })
    .await;
    assert_eq!(numbers(&accepted), [3]);
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].1.kind, FailureKind::Refused);
    assert!(refused[0].1.text.contains("more than one message"));
    assert!(
        !s.received().iter().any(|l| l == "DELE 1" || l == "DELE 2"),
        "{:?}",
        s.received()
    );
    tx.send(Request::Reset).await.unwrap();
    until(&mut rx, "the reset", |e| {
        matches!(e, Event::Reset).then_some(())
    })
    .await;
    assert_eq!(mailbox.len(), 3);
}
