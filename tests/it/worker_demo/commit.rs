//! Commits: UIDLs checked before `DELE`, a refused `DELE` commits
//! nothing until asked, and a commit after a refusal deletes only those.

use super::*;

#[tokio::test]
async fn headers_load_and_commit_checks_uidls() {
    let dir = tempfile::tempdir().unwrap();
    let (s, mailbox) = server(dir.path(), 6, Faults::default()).await;
    let (tx, mut rx, task) = spawn(account(s.port()), "p".into(), false);
    let listing = listed(&mut rx).await;
    assert_eq!(listing.len(), 6);
    let mut headers = 0;
    while headers < 6 {
        headers += until(&mut rx, "headers", |e| match e {
            Event::Headers(h) => Some(h.len()),
            _ => None,
        })
        .await;
    }
    // Mark 2 and 5, and one whose UIDL is not on the server.
    let marks = vec![
        Mark {
            number: 2,
            uidl: listing[1].uidl.clone(),
        },
        Mark {
            number: 5,
            uidl: listing[4].uidl.clone(),
        },
        Mark {
            number: 6,
            uidl: Some("not-there".into()),
        },
    ];
    tx.send(Request::Commit(marks)).await.unwrap();
    let report = until(&mut rx, "the commit", |e| match e {
        Event::Committed(r) => Some(r),
        _ => None,
    })
    .await;
    assert_eq!(report.deleted.len(), 2);
    assert_eq!(report.gone.len(), 1);
    assert!(report.quit.starts_with("+OK"), "{}", report.quit);
    let names: Vec<String> = mailbox
        .files()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["01.eml", "03.eml", "04.eml", "06.eml"]);
    // The worker reconnects and lists what is left.
    assert_eq!(listed(&mut rx).await.len(), 4);
    tx.send(Request::Shutdown).await.unwrap();
    until(&mut rx, "the end", |e| {
        matches!(e, Event::Ended).then_some(())
    })
    .await;
    task.await.unwrap();
}

#[tokio::test]
async fn a_refused_dele_commits_nothing_until_asked() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        refuse_dele: vec![3],
        ..Default::default()
    };
    let (s, mailbox) = server(dir.path(), 4, faults).await;
    let (tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    let listing = listed(&mut rx).await;
    let marks: Vec<Mark> = [1usize, 3]
        .iter()
        .map(|&n| Mark {
            number: n as u32,
            uidl: listing[n - 1].uidl.clone(),
        })
        .collect();
    tx.send(Request::Commit(marks)).await.unwrap();
    let (accepted, refused) = until(&mut rx, "the refusal", |e| match e {
        Event::CommitRefused {
            accepted, refused, ..
        } => Some((accepted, refused)),
        _ => None,
    })
    .await;
    assert_eq!(accepted.len(), 1);
    assert_eq!(refused.len(), 1);
    assert!(refused[0].1.text.starts_with("-ERR"));
    assert_eq!(mailbox.len(), 4, "nothing deleted yet");
    tx.send(Request::Reset).await.unwrap();
    until(&mut rx, "the reset", |e| {
        matches!(e, Event::Reset).then_some(())
    })
    .await;
    tx.send(Request::Shutdown).await.unwrap();
    until(&mut rx, "the end", |e| {
        matches!(e, Event::Ended).then_some(())
    })
    .await;
    assert_eq!(mailbox.len(), 4, "RSET then QUIT deletes nothing");
    assert!(s.received().iter().any(|l| l == "RSET"));
}

#[tokio::test]
async fn commit_accepted_after_a_refusal_deletes_only_those() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        refuse_dele: vec![3],
        ..Default::default()
    };
    let (s, mailbox) = server(dir.path(), 4, faults).await;
    let (tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    let listing = listed(&mut rx).await;
    let marks: Vec<Mark> = [1usize, 3]
        .iter()
        .map(|&n| Mark {
            number: n as u32,
            uidl: listing[n - 1].uidl.clone(),
        })
        .collect();
    tx.send(Request::Commit(marks)).await.unwrap();
    until(&mut rx, "the refusal", |e| {
        matches!(e, Event::CommitRefused { .. }).then_some(())
    })
    .await;
    tx.send(Request::CommitAccepted).await.unwrap();
    let report = until(&mut rx, "the commit", |e| match e {
        Event::Committed(r) => Some(r),
        _ => None,
    })
    .await;
    assert_eq!(report.deleted.len(), 1);
    assert_eq!(mailbox.len(), 3);
}
