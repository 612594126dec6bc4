//! The header load as one continuous flight: it slides past the old batch
//! boundary while a reply is outstanding, a preview asked for during a
//! large load is answered long before the load ends, and a server without
//! PIPELINING gets one command at a time.

use super::*;

/// How many header replies the worker had reported when `pick` matched.
async fn headers_until<T>(
    rx: &mut mpsc::Receiver<Event>,
    loaded: &mut usize,
    what: &str,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> T {
    until(rx, what, |e| {
        if let Event::Headers(h) = &e {
            *loaded += h.len();
        }
        pick(&e)
    })
    .await
}

#[tokio::test]
async fn the_load_slides_on_while_an_early_reply_is_outstanding() {
    // TOP 150 0 is never answered: a load in batches of 200 stops at 200
    // commands; a sliding window goes on as the other replies come in.
    let dir = tempfile::tempdir().unwrap();
    let faults = Faults {
        stall_at: Some("TOP 150 0".into()),
        ..Default::default()
    };
    let (s, _mailbox) = server(dir.path(), 1000, faults).await;
    let (_tx, mut rx, _task) = spawn(account(s.port()), "p".into(), false);
    listed(&mut rx).await;
    let mut loaded = 0;
    while loaded < 149 {
        headers_until(&mut rx, &mut loaded, "149 headers", |e| {
            matches!(e, Event::Headers(_)).then_some(())
        })
        .await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    let beyond = loop {
        let tops = s
            .received()
            .into_iter()
            .filter(|l| l.starts_with("TOP "))
            .count();
        if tops > 250 || tokio::time::Instant::now() > deadline {
            break tops;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(
        beyond > 250,
        "with TOP 150 unanswered, only {beyond} TOP commands went out"
    );
}

#[tokio::test]
async fn a_preview_during_a_large_load_is_answered_before_the_load_ends() {
    let dir = tempfile::tempdir().unwrap();
    let n = 3000;
    let faults = Faults {
        reply_delay: Some(Duration::from_millis(1)),
        ..Default::default()
    };
    let (s, _mailbox) = server(dir.path(), n, faults).await;
    let (tx, mut rx, task) = spawn(account(s.port()), "p".into(), false);
    let listing = listed(&mut rx).await;
    let mut loaded = 0;
    headers_until(&mut rx, &mut loaded, "the first headers", |e| {
        matches!(e, Event::Headers(_)).then_some(())
    })
    .await;
    let last = listing.last().unwrap();
    tx.send(Request::Preview {
        id: 1,
        key: MsgKey::new(last.number, last.uidl.as_deref()),
        number: last.number,
        lines: 5,
        size: last.size,
        cancel: Default::default(),
    })
    .await
    .unwrap();
    let preview = headers_until(&mut rx, &mut loaded, "the preview", |e| match e {
        Event::Preview { result, .. } => Some(result.is_ok()),
        _ => None,
    })
    .await;
    assert!(preview, "the preview succeeded");
    assert!(
        loaded < n / 2,
        "the preview waited for {loaded} of {n} headers"
    );
    // The load goes on after it, each header fetched once.
    while loaded < n {
        headers_until(&mut rx, &mut loaded, "the rest of the headers", |e| {
            matches!(e, Event::Headers(_)).then_some(())
        })
        .await;
    }
    tx.send(Request::Shutdown).await.unwrap();
    until(&mut rx, "the end", |e| {
        matches!(e, Event::Ended).then_some(())
    })
    .await;
    task.await.unwrap();
    let tops: Vec<String> = s
        .received()
        .into_iter()
        .filter(|l| l.starts_with("TOP ") && l.ends_with(" 0"))
        .collect();
    assert_eq!(tops.len(), n, "each TOP n 0 once");
}

/// Loads every header of `n` messages with the worker; returns the server.
async fn load_all(n: usize, faults: Faults) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let (s, _mailbox) = server(dir.path(), n, faults).await;
    let (tx, mut rx, task) = spawn(account(s.port()), "p".into(), false);
    listed(&mut rx).await;
    let mut loaded = 0;
    while loaded < n {
        headers_until(&mut rx, &mut loaded, "headers", |e| {
            matches!(e, Event::Headers(_)).then_some(())
        })
        .await;
    }
    tx.send(Request::Shutdown).await.unwrap();
    until(&mut rx, "the end", |e| {
        matches!(e, Event::Ended).then_some(())
    })
    .await;
    task.await.unwrap();
    s
}

#[tokio::test]
async fn without_pipelining_one_command_at_a_time() {
    let n = 300;
    let s = load_all(
        n,
        Faults {
            no_pipelining: true,
            ..Default::default()
        },
    )
    .await;
    assert_eq!(
        s.commands_sent_ahead(),
        0,
        "a command went out before the previous reply"
    );
    let tops = s
        .received()
        .iter()
        .filter(|l| l.starts_with("TOP "))
        .count();
    assert_eq!(tops, n);
    // The same load with PIPELINING is seen sending ahead: the count works.
    let s = load_all(n, Faults::default()).await;
    assert!(s.commands_sent_ahead() > 0);
}
