//! Saves and previews: a cancelled save and its reconnect, a dropped UI
//! deletes nothing, the report from the session, a save without UIDL.

use super::*;

#[tokio::test]
async fn a_cancelled_save_removes_the_file_and_reconnects() {
    let dir = tempfile::tempdir().unwrap();
    let mut msgs = messages(2);
    msgs.push(
        std::iter::repeat_n(b"0123456789abcdef\r\n".as_slice(), 200_000)
            .flatten()
            .copied()
            .collect(),
    );
    for (i, m) in msgs.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{:02}.eml", i + 1)), m).unwrap();
    }
    let config = ServerConfig {
        user: "u".into(),
        password: "p".into(),
        faults: Faults {
            retr_bytes_per_sec: Some(1_000_000),
            ..Default::default()
        },
        ..Default::default()
    };
    let s = crate::support::demo::start_with(config, Mailbox::from_dir(dir.path()).unwrap()).await;
    let saves = tempfile::tempdir().unwrap();
    let (tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    let listing = listed(&mut rx).await;
    let cancel = CancellationToken::new();
    tx.send(Request::Save {
        id: 7,
        key: MsgKey::new(3, listing[2].uidl.as_deref()),
        dest: saves.path().join("big.eml"),
        collision: Collision::Number,
        cancel: cancel.clone(),
    })
    .await
    .unwrap();
    let bytes = until(&mut rx, "progress", |e| match e {
        Event::SaveProgress { id: 7, bytes, .. } if bytes > 0 => Some(bytes),
        _ => None,
    })
    .await;
    assert!(bytes < 3_600_000);
    cancel.cancel();
    let cancelled = until(&mut rx, "the end of the save", |e| match e {
        Event::Saved {
            id: 7,
            cancelled,
            result,
            ..
        } => Some((cancelled, result)),
        _ => None,
    })
    .await;
    assert!(cancelled.0 && cancelled.1.is_err());
    assert_eq!(
        std::fs::read_dir(saves.path()).unwrap().count(),
        0,
        "no partial file left"
    );
    assert_eq!(
        listed(&mut rx).await.len(),
        3,
        "reconnected and listed again"
    );
}

#[tokio::test]
async fn saves_previews_and_a_dropped_ui_delete_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (s, mailbox) = server(dir.path(), 3, Faults::default()).await;
    let saves = tempfile::tempdir().unwrap();
    let (tx, mut rx, task) = spawn(account(s.port()), "p".into(), false);
    let listing = listed(&mut rx).await;
    tx.send(Request::Save {
        id: 1,
        key: MsgKey::new(2, listing[1].uidl.as_deref()),
        dest: saves.path().join("m.eml"),
        collision: Collision::Number,
        cancel: CancellationToken::new(),
    })
    .await
    .unwrap();
    let saved = until(&mut rx, "the save", |e| match e {
        Event::Saved {
            id: 1,
            result,
            list_size,
            ..
        } => Some((result, list_size)),
        _ => None,
    })
    .await;
    let file = saved.0.unwrap();
    assert_eq!(std::fs::read(&file.path).unwrap(), messages(3)[1]);
    assert_eq!(file.size, saved.1);
    // Three previews at once: only the last is worth answering.
    for (id, n) in [(10, 1u32), (11, 2), (12, 3)] {
        tx.send(Request::Preview {
            id,
            key: MsgKey::new(n, listing[n as usize - 1].uidl.as_deref()),
            number: n,
            lines: 5,
            size: 10,
            cancel: Default::default(),
        })
        .await
        .unwrap();
    }
    let (id, subject) = until(&mut rx, "a preview", |e| match e {
        Event::Preview { id, result, .. } => Some((
            id,
            result
                .unwrap()
                .headers
                .iter()
                .find(|h| h.0 == "Subject")
                .unwrap()
                .1
                .clone(),
        )),
        _ => None,
    })
    .await;
    assert_eq!(
        (id, subject.as_str()),
        (12, "message 3"),
        "stale previews are skipped"
    );
    // The UI goes away without a word: the worker leaves, deleting nothing.
    drop(tx);
    drop(rx);
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mailbox.len(), 3);
    assert!(s.received().iter().all(|l| !l.starts_with("DELE")));
}

#[tokio::test]
async fn the_report_comes_from_the_session_without_new_commands() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _mailbox) = server(dir.path(), 3, Faults::default()).await;
    let (tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    listed(&mut rx).await;
    // Let the headers finish so that nothing else is in flight.
    let mut headers = 0;
    while headers < 3 {
        headers += until(&mut rx, "headers", |e| match e {
            Event::Headers(h) => Some(h.len()),
            _ => None,
        })
        .await;
    }
    let before = s.received().len();
    tx.send(Request::Report).await.unwrap();
    let text = until(&mut rx, "the report", |e| match e {
        Event::Report(r) => Some(popdoc::report::render_text(&r.unwrap(), None)),
        _ => None,
    })
    .await;
    assert!(text.contains("Mailbox"), "{text}");
    assert!(text.contains("Messages           3"), "{text}");
    assert!(!text.contains(" p\n"), "no password");
    assert_eq!(
        s.received().len(),
        before,
        "the report sends nothing to the server"
    );
}

#[tokio::test]
async fn without_uidl_a_save_compares_with_its_own_list_size() {
    let dir = tempfile::tempdir().unwrap();
    // Sizes differ, so the LIST size of the wrong message would show.
    let msgs: Vec<Vec<u8>> = (1..=3)
        .map(|i| format!("Subject: m{i}\r\n\r\n{}\r\n", "x".repeat(i * 100)).into_bytes())
        .collect();
    for (i, m) in msgs.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{:02}.eml", i + 1)), m).unwrap();
    }
    let config = ServerConfig {
        user: "u".into(),
        password: "p".into(),
        faults: Faults {
            no_uidl: true,
            ..Default::default()
        },
        ..Default::default()
    };
    let s = crate::support::demo::start_with(config, Mailbox::from_dir(dir.path()).unwrap()).await;
    let saves = tempfile::tempdir().unwrap();
    let (tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    let listing = listed(&mut rx).await;
    assert!(listing.iter().all(|l| l.uidl.is_none()));
    tx.send(Request::Save {
        id: 2,
        key: MsgKey::Number(2),
        dest: saves.path().join("m.eml"),
        collision: Collision::Number,
        cancel: CancellationToken::new(),
    })
    .await
    .unwrap();
    let (result, list_size) = until(&mut rx, "the save", |e| match e {
        Event::Saved {
            id: 2,
            result,
            list_size,
            ..
        } => Some((result, list_size)),
        _ => None,
    })
    .await;
    let saved = result.unwrap();
    assert_eq!(std::fs::read(&saved.path).unwrap(), msgs[1]);
    assert_eq!(
        list_size, listing[1].size,
        "LIST size of message 2, not of the first row"
    );
    assert_ne!(listing[0].size, listing[1].size);
    assert_eq!(saved.size, list_size);
}
