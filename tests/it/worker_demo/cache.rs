//! The worker with a header cache: a reopen shows the cached rows right
//! after the listing and sends `TOP` only for unknown UIDLs or changed
//! sizes; a server without UIDL writes no cache.

use super::*;
use popdoc::account::CacheSetting;

/// Header events until `n` messages have a summary: each event's
/// (number, subject) pairs.
async fn headers(rx: &mut mpsc::Receiver<Event>, n: usize) -> Vec<Vec<(u32, String)>> {
    let mut got = Vec::new();
    let mut count = 0;
    while count < n {
        let batch = until(rx, "headers", |e| match e {
            Event::Headers(h) => Some(h),
            Event::Disconnected(f) | Event::Failed(f) => panic!("{f}"),
            _ => None,
        })
        .await;
        let batch: Vec<(u32, String)> = batch
            .into_iter()
            .map(|(num, r)| (num, r.unwrap().subject))
            .collect();
        count += batch.len();
        got.push(batch);
    }
    assert_eq!(count, n);
    got
}

async fn end(tx: mpsc::Sender<Request>, mut rx: mpsc::Receiver<Event>, mailbox: &Mailbox) {
    tx.send(Request::Shutdown).await.unwrap();
    until(&mut rx, "the end", |e| {
        matches!(e, Event::Ended).then_some(())
    })
    .await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while mailbox.is_locked() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn tops(s: &Server, from: usize) -> Vec<String> {
    s.received()[from..]
        .iter()
        .filter(|l| l.starts_with("TOP "))
        .cloned()
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_reopen_sends_top_only_for_unknown_or_changed_messages() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    // Like GNU Mailutils: a message sent with RETR is stored again, larger,
    // under the same UIDL.
    let (s, mailbox) = server(&mail, 4, Faults::mailutils()).await;
    let account = Account {
        cache: CacheSetting::In(dir.path().join("cache")),
        ..account(s.port())
    };
    let (tx, mut rx, _task) = spawn(account.clone(), "p".into(), false);
    let listing = listed(&mut rx).await;
    let mut first: Vec<(u32, String)> = headers(&mut rx, 4).await.concat();
    first.sort();
    assert_eq!(tops(&s, 0).len(), 4);
    tx.send(Request::Save {
        id: 1,
        key: MsgKey::new(2, listing[1].uidl.as_deref()),
        dest: dir.path().join("m.eml"),
        collision: Collision::Number,
        cancel: CancellationToken::new(),
    })
    .await
    .unwrap();
    until(&mut rx, "the save", |e| match e {
        Event::Saved { id: 1, result, .. } => Some(result.unwrap()),
        _ => None,
    })
    .await;
    end(tx, rx, &mailbox).await;
    assert!(dir.path().join("cache").exists(), "written at the end");

    let before = s.received().len();
    let (tx, mut rx, _task) = spawn(account.clone(), "p".into(), false);
    let again = listed(&mut rx).await;
    assert!(
        again[1].size > listing[1].size,
        "message 2 was stored again"
    );
    let batches = headers(&mut rx, 4).await;
    let numbers = |b: &[(u32, String)]| b.iter().map(|h| h.0).collect::<Vec<_>>();
    assert_eq!(
        numbers(&batches[0]),
        [1, 3, 4],
        "the cached rows come at once, after the listing"
    );
    assert_eq!(numbers(&batches.concat()[3..]), [2]);
    let mut second = batches.concat();
    second.sort();
    assert_eq!(second, first, "the same headers");
    assert_eq!(tops(&s, before), ["TOP 2 0"], "only the changed message");
    end(tx, rx, &mailbox).await;

    // A third session finds all four.
    let before = s.received().len();
    let (tx, mut rx, _task) = spawn(account, "p".into(), false);
    listed(&mut rx).await;
    assert_eq!(
        headers(&mut rx, 4).await.len(),
        1,
        "one event, from the cache"
    );
    end(tx, rx, &mailbox).await;
    assert_eq!(tops(&s, before), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_without_uidl_is_never_cached() {
    let dir = tempfile::tempdir().unwrap();
    let mail = dir.path().join("mail");
    std::fs::create_dir(&mail).unwrap();
    let faults = Faults {
        no_uidl: true,
        ..Faults::default()
    };
    let (s, mailbox) = server(&mail, 3, faults).await;
    let cache = dir.path().join("cache");
    let account = Account {
        cache: CacheSetting::In(cache.clone()),
        ..account(s.port())
    };
    for _ in 0..2 {
        let (tx, mut rx, _task) = spawn(account.clone(), "p".into(), false);
        listed(&mut rx).await;
        headers(&mut rx, 3).await;
        end(tx, rx, &mailbox).await;
    }
    assert_eq!(tops(&s, 0).len(), 6);
    assert!(!cache.exists(), "nothing written");
}
