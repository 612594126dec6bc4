//! A real `App` on the worker's events, as the TUI's loop runs it: each
//! header fetched once, rows reply by reply, the TOP timing, the transcript
//! across a reconnect.

use super::*;

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
    let n = 600;
    let (s, _mailbox) = server(dir.path(), n, faults).await;
    let (tx, mut rx, task) = spawn(account(s.port()), "p".into(), false);
    let mut app = App::new(
        "test".into(),
        std::path::PathBuf::new(),
        10,
        jiff::tz::TimeZone::UTC,
    );
    update(&mut app, Msg::Resize(80, 24));
    // Scrolling, jumping to the end and back, and a filter, while the
    // headers load in one flight.
    run_app_until_quiet(&mut app, &tx, &mut rx, &['G', 'g', 'j', 'G', 'k', '/', '9']).await;
    assert_eq!(app.list.headers_done, n);
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
    assert_eq!(tops.len(), n, "one TOP n 0 per message");
    for n in 1..=n {
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
