//! The worker task the TUI talks to, against the built-in server: listing
//! and headers, commit with UIDL checks, refused DELE, cancelled saves and
//! the reconnect that follows, and leaving without deleting.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use popdoc::account::{Account, SecretSource};
use popdoc::app::{App, Effect, Msg, update};
use popdoc::client::{CertCheck, Connection, Credentials, LoginMethod, Security};
use popdoc::demo::{Faults, Mailbox, Server, ServerConfig};
use popdoc::report::Step;
use popdoc::store::Collision;
use popdoc::worker::{Event, Mark, Request, spawn};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn messages(n: usize) -> Vec<Vec<u8>> {
    (1..=n)
        .map(|i| {
            format!("Subject: message {i}\r\nFrom: a{i}@example.org\r\n\r\nbody {i}\r\n")
                .into_bytes()
        })
        .collect()
}

async fn server(dir: &std::path::Path, n: usize, faults: Faults) -> (Server, Mailbox) {
    for (i, m) in messages(n).into_iter().enumerate() {
        std::fs::write(dir.join(format!("{:02}.eml", i + 1)), m).unwrap();
    }
    let mailbox = Mailbox::from_dir(dir).unwrap();
    let server = crate::support::demo::start("u", "p", faults, mailbox.clone()).await;
    (server, mailbox)
}

fn account(port: u16) -> Account {
    Account {
        label: "test".into(),
        host: "127.0.0.1".into(),
        port,
        user: "u".into(),
        security: Security::Plaintext,
        cert: CertCheck::System,
        login: LoginMethod::Auto,
        secret: SecretSource::Fixed("p".into()),
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        save_dir: None,
        preview_lines: 10,
        keepalive: None,
        plaintext_by: None,
    }
}

/// Waits for the first event `pick` accepts, dropping the others.
async fn until<T>(
    rx: &mut mpsc::Receiver<Event>,
    what: &str,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let e = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|| panic!("worker ended while waiting for {what}"));
        if let Some(t) = pick(e) {
            return t;
        }
    }
}

async fn listed(rx: &mut mpsc::Receiver<Event>) -> Vec<popdoc::client::ops::Listing> {
    until(rx, "the listing", |e| match e {
        Event::Listing(l) => Some(l),
        _ => None,
    })
    .await
}

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
    assert!(refused[0].1.starts_with("-ERR"));
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
        number: 3,
        uidl: listing[2].uidl.clone(),
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
        number: 2,
        uidl: listing[1].uidl.clone(),
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
            number: n,
            uidl: listing[n as usize - 1].uidl.clone(),
            lines: 5,
            size: 10,
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
        number: 2,
        uidl: None,
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

/// Runs a real [`App`] on the worker's events, as the TUI's loop does
/// (keys in between), until every header is in and the worker has been
/// quiet for a while.
async fn run_app_until_quiet(
    app: &mut App,
    tx: &mpsc::Sender<Request>,
    rx: &mut mpsc::Receiver<Event>,
    keys: &[char],
) {
    let mut keys = keys.iter();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let loaded = app.list.listed && app.list.headers_done == app.list.rows.len();
        let wait = if loaded {
            Duration::from_millis(300)
        } else {
            Duration::from_secs(10)
        };
        let msg = match tokio::time::timeout(wait, rx.recv()).await {
            Ok(Some(e)) => Msg::Worker(e),
            Ok(None) => panic!("the worker ended"),
            Err(_) if loaded => return,
            Err(_) => panic!("timed out loading headers"),
        };
        assert!(tokio::time::Instant::now() < deadline, "never quiet");
        let mut effects = update(app, msg);
        // A key now and then, while the headers load.
        if app.list.listed
            && let Some(&c) = keys.next()
        {
            let key = KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE);
            effects.extend(update(app, Msg::Key(key)));
        }
        for fx in effects {
            if let Effect::Pop(r) = fx {
                tx.try_send(r).unwrap();
            }
        }
    }
}

#[tokio::test]
async fn each_header_is_fetched_once_however_the_user_moves() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        reply_delay: Some(Duration::from_millis(2)),
        ..Default::default()
    };
    let (s, _mailbox) = server(dir.path(), 30, faults).await;
    let (tx, mut rx, task) = spawn(account(s.port()), "p".into(), false);
    let mut app = App::new(
        "test".into(),
        std::path::PathBuf::new(),
        10,
        jiff::tz::TimeZone::UTC,
    );
    update(&mut app, Msg::Resize(80, 24));
    run_app_until_quiet(&mut app, &tx, &mut rx, &['G', 'g', 'j', 'G']).await;
    assert_eq!(app.list.headers_done, 30);
    tx.send(Request::Shutdown).await.unwrap();
    until(&mut rx, "the end", |e| {
        matches!(e, Event::Ended).then_some(())
    })
    .await;
    task.await.unwrap();
    let tops: Vec<String> = s
        .received()
        .into_iter()
        .filter(|l| l.starts_with("TOP "))
        .collect();
    for n in 1..=30 {
        let sent = tops.iter().filter(|l| **l == format!("TOP {n} 0")).count();
        assert_eq!(sent, 1, "TOP {n} 0 went out {sent} times: {tops:?}");
    }
}

#[tokio::test]
async fn rows_arrive_reply_by_reply_on_a_slow_server() {
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        reply_delay: Some(Duration::from_millis(30)),
        ..Default::default()
    };
    let (s, _mailbox) = server(dir.path(), 8, faults).await;
    let (_tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    listed(&mut rx).await;
    let mut events = Vec::new();
    while events.iter().sum::<usize>() < 8 {
        events.push(
            until(&mut rx, "headers", |e| match e {
                Event::Headers(h) => Some(h.len()),
                _ => None,
            })
            .await,
        );
    }
    assert!(
        events.len() >= 4 && events[0] < 8,
        "the rows come as their replies do, not all at once: {events:?}"
    );
}

#[tokio::test]
async fn the_top_timing_row_counts_only_header_fetches() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _mailbox) = server(dir.path(), 3, Faults::default()).await;
    let account = account(s.port());
    let mut conn = Connection::open(account.endpoint(), Duration::from_secs(5), &mut |_, _| {})
        .await
        .unwrap();
    let creds = Credentials {
        user: "u".into(),
        secret: "p".into(),
        token: false,
    };
    conn.login(&creds, LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap();
    let listing = conn.listing().await.unwrap();
    conn.top_many(&[1, 2, 3], 0, 64 * 1024, &mut |_, r| {
        r.unwrap();
    })
    .await
    .unwrap();
    // Two previews: TOP n 10 is not a header fetch.
    conn.top_many(&[1, 2], 10, 64 * 1024, &mut |_, r| {
        r.unwrap();
    })
    .await
    .unwrap();
    let report = popdoc::report::report_from_session(&conn, &listing, &account);
    let top = report
        .timings
        .iter()
        .find(|t| t.stage == Step::Top)
        .expect("a TOP n 0 row");
    assert_eq!(top.samples, 3, "{:?}", report.timings);
}

/// The app's transcript is one file on one clock: after a reconnect the
/// times go on from where they were, and the start it names stays the same.
#[tokio::test]
async fn transcript_times_go_on_across_a_reconnect() {
    let dir = tempfile::tempdir().unwrap();
    let (s, _mailbox) = server(dir.path(), 2, Faults::default()).await;
    let (tx, mut rx, task) = spawn(account(s.port()), "p".into(), false);
    let mut lines = Vec::new();
    let mut starts = Vec::new();
    for round in 0..2 {
        if round == 1 {
            tokio::time::sleep(Duration::from_millis(300)).await;
            tx.send(Request::Connect).await.unwrap();
        }
        loop {
            match until(&mut rx, "the listing", Some).await {
                Event::Transcript(l) => lines.extend(l.into_iter().map(|l| (round, l))),
                Event::Connected(info) => starts.push(info.started_utc),
                Event::Listing(_) => break,
                _ => {}
            }
        }
    }
    assert_eq!(starts.len(), 2);
    assert_eq!(starts[0], starts[1], "one clock for the whole transcript");
    // Each session's first line says "connected to"; the second session's
    // comes after the pause, and no time goes back.
    let connects: Vec<_> = lines
        .iter()
        .filter(|(_, l)| l.text.contains("connected to"))
        .map(|(_, l)| l.at)
        .collect();
    assert_eq!(connects.len(), 2, "{lines:?}");
    assert!(
        connects[1] >= Duration::from_millis(300),
        "times restarted after the reconnect: {connects:?}"
    );
    for pair in lines.windows(2) {
        assert!(pair[1].1.at >= pair[0].1.at, "{pair:?}");
    }
    tx.send(Request::Shutdown).await.unwrap();
    until(&mut rx, "the end", |e| {
        matches!(e, Event::Ended).then_some(())
    })
    .await;
    task.await.unwrap();
}
