//! Commands after login: streaming RETR byte-exact, bounded TOP, DELE
//! committed only by QUIT, pipelining against a scripted peer, and servers
//! without CAPA, UIDL or TOP. Only tests and their scripted peer.

use super::{creds, endpoint, logged_in, messages, open, server};
use std::time::Duration;

use popdoc::client::{Error, LoginMethod, Security};
use popdoc::demo::Faults;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::test]
async fn retr_streams_byte_exact_and_top_is_bounded() {
    let s = server(Faults::default()).await;
    let mut c = logged_in(&s).await;
    for (i, m) in messages().iter().enumerate() {
        let mut out = Vec::new();
        let mut last = 0;
        let n = c
            .retr_to(i as u32 + 1, &mut out, &mut |b| last = b, None)
            .await
            .unwrap();
        assert_eq!(&out, m, "message {}", i + 1);
        assert_eq!(n, m.len() as u64);
        assert_eq!(last, n);
    }
    let mut got = Vec::new();
    c.top_many(&[1, 2, 3, 9], 0, 1 << 20, &mut |n, r| got.push((n, r)))
        .await
        .unwrap();
    assert_eq!(got.len(), 4);
    assert_eq!(
        got[0].1.as_ref().unwrap(),
        b"From: Ann <ann@example.org>\r\nSubject: one\r\n\r\n"
    );
    assert!(matches!(got[3].1, Err(Error::Refused { .. })));
    // A header block over the limit is given up at the limit: an error for
    // that message, and the connection (out of step) is not reused.
    let mut got = Vec::new();
    let r = c
        .top_many(&[1, 2], 0, 20, &mut |n, r| got.push((n, r)))
        .await;
    assert!(matches!(r, Err(Error::TooLong { limit: 20, .. })), "{r:?}");
    assert_eq!(got.len(), 1, "message 2 is left for a new connection");
    assert!(
        matches!(got[0].1, Err(Error::TooLong { limit: 20, .. })),
        "{:?}",
        got[0].1
    );
    assert!(c.broken().is_some());
}

#[tokio::test]
async fn dele_quit_commits_and_drop_or_rset_does_not() {
    let s = server(Faults::default()).await;
    let mut c = logged_in(&s).await;
    c.dele(2).await.unwrap();
    c.rset().await.unwrap();
    c.dele(1).await.unwrap();
    c.shutdown().await;
    drop(c);
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut c = logged_in(&s).await;
    assert_eq!(
        c.stat().await.unwrap().0,
        3,
        "a dropped session deletes nothing"
    );
    c.dele(2).await.unwrap();
    let e = c.dele(2).await.unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e}");
    let status = c.quit().await.unwrap();
    assert!(status.ok);
    let mut c = logged_in(&s).await;
    assert_eq!(c.stat().await.unwrap().0, 2);
}

/// A peer that answers nothing until it has read `need` TOP commands, then
/// answers them all: only a pipelining client gets its replies.
async fn pipelining_peer(pipelining: bool, need: usize) -> (u16, tokio::task::JoinHandle<usize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let task = tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let (r, mut w) = sock.into_split();
        let mut r = BufReader::new(r);
        w.write_all(b"+OK ready\r\n").await.unwrap();
        let mut line = String::new();
        let mut max_unanswered = 0;
        let mut pending = Vec::new();
        loop {
            line.clear();
            if r.read_line(&mut line).await.unwrap() == 0 {
                return max_unanswered;
            }
            let cmd = line.trim_end().to_string();
            if cmd == "CAPA" {
                let capa = if pipelining {
                    "+OK\r\nUSER\r\nPIPELINING\r\n.\r\n"
                } else {
                    "+OK\r\nUSER\r\n.\r\n"
                };
                w.write_all(capa.as_bytes()).await.unwrap();
            } else if cmd.starts_with("TOP") {
                pending.push(cmd);
                max_unanswered = max_unanswered.max(pending.len());
                // Answer when enough arrived, or when nothing more comes soon.
                let more = tokio::time::timeout(Duration::from_millis(200), r.fill_buf()).await;
                if pending.len() >= need || more.is_err() {
                    for p in pending.drain(..) {
                        w.write_all(format!("+OK\r\nSubject: {p}\r\n\r\n.\r\n").as_bytes())
                            .await
                            .unwrap();
                    }
                }
            } else {
                w.write_all(b"+OK\r\n").await.unwrap();
            }
        }
    });
    (port, task)
}

#[tokio::test]
async fn pipelining_keeps_many_commands_in_flight() {
    let (port, peer) = pipelining_peer(true, 50).await;
    let mut c = open(endpoint(port, Security::Plaintext)).await.unwrap();
    c.login(&creds(), LoginMethod::UserPass, &mut |_, _| {})
        .await
        .unwrap();
    let numbers: Vec<u32> = (1..=50).collect();
    let mut got = Vec::new();
    c.top_many(&numbers, 0, 1 << 20, &mut |n, r| got.push((n, r.unwrap())))
        .await
        .unwrap();
    assert_eq!(got.len(), 50);
    for (i, (n, body)) in got.iter().enumerate() {
        assert_eq!(*n, i as u32 + 1, "replies in order");
        assert_eq!(body, format!("Subject: TOP {n} 0\r\n\r\n").as_bytes());
    }
    c.shutdown().await;
    drop(c);
    assert_eq!(peer.await.unwrap(), 50, "all 50 were in flight at once");
}

#[tokio::test]
async fn without_pipelining_one_command_at_a_time() {
    let (port, peer) = pipelining_peer(false, 50).await;
    let mut c = open(endpoint(port, Security::Plaintext)).await.unwrap();
    c.login(&creds(), LoginMethod::UserPass, &mut |_, _| {})
        .await
        .unwrap();
    let numbers: Vec<u32> = (1..=5).collect();
    let mut got = 0;
    c.top_many(&numbers, 0, 1 << 20, &mut |_, r| {
        r.unwrap();
        got += 1
    })
    .await
    .unwrap();
    assert_eq!(got, 5);
    c.shutdown().await;
    drop(c);
    assert_eq!(peer.await.unwrap(), 1, "never more than one in flight");
}

#[tokio::test]
async fn servers_without_capa_uidl_or_top_still_work() {
    let s = server(Faults {
        no_capa: true,
        no_uidl: true,
        no_top: true,
        bare_status: true,
        ..Default::default()
    })
    .await;
    let mut c = logged_in(&s).await;
    assert!(c.caps.is_none());
    assert_eq!(c.method.as_deref(), Some("USER/PASS"));
    let listing = c.listing().await.unwrap();
    assert_eq!(listing.len(), 3);
    assert!(listing.iter().all(|l| l.uidl.is_none()));
    let mut got = Vec::new();
    c.top_many(&[1], 0, 1000, &mut |_, r| got.push(r))
        .await
        .unwrap();
    assert!(matches!(got[0], Err(Error::Refused { .. })));
    let mut out = Vec::new();
    c.retr_to(3, &mut out, &mut |_| {}, None).await.unwrap();
    assert_eq!(out, messages()[2]);
}
