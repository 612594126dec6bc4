//! The TRANSACTION state of the built-in server on the wire: STAT, LIST,
//! UIDL, RETR, TOP, DELE/RSET/QUIT, the mailbox lock and pipelining.
//! It checks the server only, never popdoc's client.

use super::*;

#[tokio::test]
async fn stat_list_uidl_exact() {
    let mb = mailbox();
    let uidls = mb.uidls();
    let server = demo::start_with(ServerConfig::default(), mb).await;
    let mut p = connect(&server).await;
    p.login().await;
    let total = M1.len() + M2.len() + M3.len();
    assert_eq!(p.cmd("STAT").await, format!("+OK 3 {total}\r\n"));
    assert_eq!(
        p.cmd("LIST").await,
        format!("+OK 3 messages ({total} octets)\r\n")
    );
    assert_eq!(
        p.body().await,
        format!(
            "1 {}\r\n2 {}\r\n3 {}\r\n.\r\n",
            M1.len(),
            M2.len(),
            M3.len()
        )
        .as_bytes()
    );
    assert_eq!(p.cmd("LIST 2").await, format!("+OK 2 {}\r\n", M2.len()));
    assert_eq!(p.cmd("LIST 4").await, "-ERR no such message\r\n");
    assert_eq!(p.cmd("LIST 0").await, "-ERR no such message\r\n");
    assert_eq!(p.cmd("LIST x").await, "-ERR invalid message number\r\n");
    assert!(p.cmd("UIDL").await.starts_with("+OK"));
    assert_eq!(
        p.body().await,
        format!(
            "1 {}\r\n2 {}\r\n3 {}\r\n.\r\n",
            uidls[0], uidls[1], uidls[2]
        )
        .as_bytes()
    );
    assert_eq!(p.cmd("UIDL 3").await, format!("+OK 3 {}\r\n", uidls[2]));
    let unique: std::collections::HashSet<_> = uidls.iter().collect();
    assert_eq!(unique.len(), 3);
    assert!(
        uidls
            .iter()
            .all(|u| u.len() <= 70 && u.bytes().all(|b| (0x21..=0x7e).contains(&b)))
    );
}

#[tokio::test]
async fn retr_is_exact_and_dot_stuffed() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    p.login().await;
    assert_eq!(
        p.cmd("RETR 1").await,
        format!("+OK {} octets\r\n", M1.len())
    );
    assert_eq!(
        p.body().await,
        b"From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n..dot line\r\n...two\r\n\xe9t\xe9 8-bit\r\nlast\r\n.\r\n"
    );
    // No final CRLF in the store: CRLF is added before the terminator.
    assert_eq!(
        p.cmd("RETR 2").await,
        format!("+OK {} octets\r\n", M2.len())
    );
    assert_eq!(
        p.body().await,
        b"Subject: two\r\n\r\nno final newline\r\n.\r\n"
    );
    assert_eq!(p.cmd("RETR 9").await, "-ERR no such message\r\n");
    assert_eq!(p.cmd("RETR").await, "-ERR usage: RETR msg\r\n");
}

#[tokio::test]
async fn top_sends_headers_and_k_lines() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    p.login().await;
    assert!(p.cmd("TOP 1 0").await.starts_with("+OK"));
    assert_eq!(
        p.body().await,
        b"From: a@example.org\r\nSubject: one\r\n\r\n.\r\n"
    );
    assert!(p.cmd("top 1 3").await.starts_with("+OK"));
    assert_eq!(
        p.body().await,
        b"From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n..dot line\r\n...two\r\n.\r\n"
    );
    assert!(p.cmd("TOP 2 100").await.starts_with("+OK"));
    assert_eq!(
        p.body().await,
        b"Subject: two\r\n\r\nno final newline\r\n.\r\n"
    );
    assert_eq!(p.cmd("TOP 1").await, "-ERR usage: TOP msg n\r\n");
    assert_eq!(p.cmd("TOP 1 -1").await, "-ERR invalid line count\r\n");
}

#[tokio::test]
async fn deleted_messages_are_hidden_and_rset_unmarks() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    p.login().await;
    assert_eq!(p.cmd("DELE 1").await, "+OK message 1 deleted\r\n");
    assert_eq!(p.cmd("DELE 1").await, "-ERR message 1 already deleted\r\n");
    let rest = M2.len() + M3.len();
    assert_eq!(p.cmd("STAT").await, format!("+OK 2 {rest}\r\n"));
    for c in ["LIST 1", "UIDL 1", "TOP 1 0", "RETR 1"] {
        assert_eq!(p.cmd(c).await, "-ERR message 1 already deleted\r\n", "{c}");
    }
    p.cmd("LIST").await;
    assert_eq!(
        p.body().await,
        format!("2 {}\r\n3 {}\r\n.\r\n", M2.len(), M3.len()).as_bytes(),
        "numbers stay stable"
    );
    let total = M1.len() + rest;
    assert_eq!(
        p.cmd("RSET").await,
        format!("+OK maildrop has 3 messages ({total} octets)\r\n")
    );
    assert_eq!(p.cmd("LIST 1").await, format!("+OK 1 {}\r\n", M1.len()));
    assert!(p.cmd("QUIT").await.starts_with("+OK"));
    p.rest().await;
    assert_eq!(server_mailbox_len(&server).await, 3);
}

/// Logs in afresh and reads STAT's count.

#[tokio::test]
async fn dele_and_quit_remove_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in [("01-one.eml", M1), ("02-two.eml", M2), ("03-three.eml", M3)] {
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    let mb = Mailbox::from_dir(dir.path()).unwrap();
    assert_eq!(mb.uidls(), ["01-one", "02-two", "03-three"]);
    let server = demo::start_with(ServerConfig::default(), mb.clone()).await;
    let mut p = connect(&server).await;
    p.login().await;
    assert_eq!(p.cmd("UIDL 2").await, "+OK 2 02-two\r\n");
    assert_eq!(
        p.cmd("RETR 2").await,
        format!("+OK {} octets\r\n", M2.len())
    );
    assert_eq!(
        p.body().await,
        b"Subject: two\r\n\r\nno final newline\r\n.\r\n"
    );
    p.cmd("DELE 2").await;
    assert!(dir.path().join("02-two.eml").exists(), "not before QUIT");
    assert_eq!(
        p.cmd("QUIT").await,
        "+OK popdoc demo server signing off (1 messages deleted)\r\n"
    );
    assert!(p.rest().await.is_empty());
    assert!(!dir.path().join("02-two.eml").exists());
    assert_eq!(
        mb.files(),
        [
            dir.path().join("01-one.eml"),
            dir.path().join("03-three.eml")
        ]
    );
    assert!(!mb.is_locked());
}

#[tokio::test]
async fn dele_then_dropped_connection_removes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.eml"), M1).unwrap();
    let mb = Mailbox::from_dir(dir.path()).unwrap();
    let server = demo::start_with(ServerConfig::default(), mb.clone()).await;
    let mut p = connect(&server).await;
    p.login().await;
    assert!(p.cmd("DELE 1").await.starts_with("+OK"));
    drop(p);
    // The lock goes when the server notices the close; then log in again.
    let mut q = connect(&server).await;
    let deadline = Instant::now() + WAIT;
    loop {
        q.cmd("USER demo").await;
        let r = q.cmd("PASS demo").await;
        if r.starts_with("+OK") {
            break;
        }
        assert!(r.starts_with("-ERR [IN-USE]"), "{r}");
        assert!(Instant::now() < deadline, "lock never released");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(q.cmd("STAT").await, format!("+OK 1 {}\r\n", M1.len()));
    assert!(dir.path().join("a.eml").exists());
    assert_eq!(mb.len(), 1);
}

#[tokio::test]
async fn second_concurrent_login_gets_in_use() {
    let server = start(ServerConfig::default()).await;
    let mut a = connect(&server).await;
    a.login().await;
    let mut b = connect(&server).await;
    b.cmd("USER demo").await;
    let r = b.cmd("PASS demo").await;
    assert!(r.starts_with("-ERR [IN-USE]"), "{r}");
    // Still in AUTHORIZATION; after the first QUITs, the second can log in.
    assert!(a.cmd("QUIT").await.starts_with("+OK"));
    a.rest().await;
    b.login().await;
}

#[tokio::test]
async fn pipelined_commands_are_answered_in_order() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    p.io.get_mut()
        .write_all(
            b"USER demo\r\nPASS demo\r\nSTAT\r\nLIST 1\r\nTOP 3 0\r\nUIDL 2\r\nNOOP\r\nQUIT\r\n",
        )
        .await
        .unwrap();
    assert_eq!(p.line().await, "+OK send PASS\r\n");
    assert_eq!(p.line().await, "+OK logged in, 3 messages\r\n");
    assert!(p.line().await.starts_with("+OK 3 "));
    assert_eq!(p.line().await, format!("+OK 1 {}\r\n", M1.len()));
    assert!(p.line().await.starts_with("+OK"));
    assert_eq!(p.body().await, b"Subject: three\r\n\r\n.\r\n");
    assert!(p.line().await.starts_with("+OK 2 "));
    assert_eq!(p.line().await, "+OK\r\n");
    assert!(
        p.line()
            .await
            .starts_with("+OK popdoc demo server signing off")
    );
    assert!(p.rest().await.is_empty());
    assert_eq!(
        server.received(),
        [
            "USER demo",
            "PASS ***",
            "STAT",
            "LIST 1",
            "TOP 3 0",
            "UIDL 2",
            "NOOP",
            "QUIT"
        ]
    );
}

#[tokio::test]
async fn retr_of_20_mb_streams_exact_bytes() {
    let mut msg = Vec::with_capacity(21 << 20);
    msg.extend_from_slice(b"Subject: big\r\n\r\n");
    let mut i = 0u32;
    while msg.len() < 20 << 20 {
        if i.is_multiple_of(1000) {
            msg.extend_from_slice(b".");
        }
        msg.extend_from_slice(format!("line {i:08} {}\r\n", "x".repeat(80)).as_bytes());
        i += 1;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.eml"), &msg).unwrap();
    let server = demo::start_with(
        ServerConfig::default(),
        Mailbox::from_dir(dir.path()).unwrap(),
    )
    .await;
    let mut p = connect(&server).await;
    p.login().await;
    assert_eq!(
        p.cmd("RETR 1").await,
        format!("+OK {} octets\r\n", msg.len())
    );
    let body = p.body().await;
    // Undo the stuffing the way a client does and compare.
    let mut got = Vec::with_capacity(body.len());
    for line in body[..body.len() - 3].split_inclusive(|&b| b == b'\n') {
        got.extend_from_slice(line.strip_prefix(b".").unwrap_or(line));
    }
    assert_eq!(got.len(), msg.len());
    assert!(got == msg, "20 MB body differs");
    assert_eq!(body.len(), msg.len() + (i as usize).div_ceil(1000) + 3);
}
