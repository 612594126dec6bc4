//! Each fault of the built-in server's fault plan (`Faults`), seen on
//! the wire. It checks the server only, never popdoc's client.

use super::*;

#[tokio::test]
async fn fault_no_capa() {
    let server = with_faults(Faults {
        no_capa: true,
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    assert_eq!(p.cmd("CAPA").await, "-ERR unknown command\r\n");
    p.login().await;
    assert_eq!(p.cmd("CAPA").await, "-ERR unknown command\r\n");
}

#[tokio::test]
async fn fault_no_uidl_and_no_top() {
    let server = with_faults(Faults {
        no_uidl: true,
        no_top: true,
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    let caps = capa(&mut p).await;
    assert!(!caps.iter().any(|c| c == "UIDL" || c == "TOP"), "{caps:?}");
    p.login().await;
    assert!(p.cmd("UIDL").await.starts_with("-ERR"));
    assert!(p.cmd("UIDL 1").await.starts_with("-ERR"));
    assert!(p.cmd("TOP 1 0").await.starts_with("-ERR"));
    assert!(p.cmd("LIST 1").await.starts_with("+OK"));
}

#[tokio::test]
async fn fault_no_pipelining() {
    let normal = start(ServerConfig::default()).await;
    let mut p = connect(&normal).await;
    assert!(capa(&mut p).await.contains(&"PIPELINING".to_string()));
    let server = with_faults(Faults {
        no_pipelining: true,
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    assert!(!capa(&mut p).await.contains(&"PIPELINING".to_string()));
}

#[tokio::test]
async fn fault_bare_status() {
    let server = with_faults(Faults {
        bare_status: true,
        ..Default::default()
    })
    .await;
    let s = TcpStream::connect(server.addr()).await.unwrap();
    let mut p = Pop {
        io: BufReader::new(s),
    };
    assert_eq!(p.line().await, "+OK\r\n");
    assert_eq!(p.cmd("USER demo").await, "+OK\r\n");
    assert_eq!(p.cmd("PASS wrong").await, "-ERR\r\n");
    p.cmd("USER demo").await;
    assert_eq!(p.cmd("PASS demo").await, "+OK\r\n");
    assert_eq!(p.cmd("LIST").await, "+OK\r\n");
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
}

#[tokio::test]
async fn fault_in_use() {
    let server = with_faults(Faults {
        in_use: true,
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    p.cmd("USER demo").await;
    assert_eq!(
        p.cmd("PASS wrong").await,
        "-ERR [AUTH] authentication failed\r\n"
    );
    p.cmd("USER demo").await;
    let r = p.cmd("PASS demo").await;
    assert!(r.starts_with("-ERR [IN-USE] "), "{r}");
    assert!(
        p.cmd("STAT").await.starts_with("-ERR"),
        "still not logged in"
    );
}

#[tokio::test]
async fn fault_login_delay() {
    let server = with_faults(Faults {
        login_delay: Some(300),
        reject_login_delay: true,
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    assert!(capa(&mut p).await.contains(&"LOGIN-DELAY 300".to_string()));
    p.cmd("USER demo").await;
    let r = p.cmd("PASS demo").await;
    assert!(r.starts_with("-ERR [LOGIN-DELAY] "), "{r}");
}

#[tokio::test]
async fn fault_expire() {
    let server = with_faults(Faults {
        expire: Some("30".into()),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    assert!(capa(&mut p).await.contains(&"EXPIRE 30".to_string()));
}

#[tokio::test]
async fn fault_drop_in_retr_after() {
    let server = with_faults(Faults {
        drop_in_retr_after: Some(10),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    p.login().await;
    p.cmd("DELE 3").await;
    assert_eq!(
        p.cmd("RETR 1").await,
        format!("+OK {} octets\r\n", M1.len())
    );
    assert_eq!(p.rest().await, &M1[..10]);
    assert_eq!(server_mailbox_len(&server).await, 3, "nothing deleted");
}

#[tokio::test]
async fn fault_stall_on() {
    let server = with_faults(Faults {
        stall_on: Some("retr".into()),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    p.login().await;
    assert_eq!(p.cmd("NOOP").await, "+OK\r\n");
    p.send("RETR 1").await;
    p.send("NOOP").await;
    p.silent_for(Duration::from_millis(300)).await;
    assert_eq!(server.received().last().unwrap(), "RETR 1");
}

#[tokio::test]
async fn fault_reply_and_greeting_delay() {
    let server = with_faults(Faults {
        greeting_delay: Some(Duration::from_millis(200)),
        reply_delay: Some(Duration::from_millis(150)),
        ..Default::default()
    })
    .await;
    let t = Instant::now();
    let mut p = connect(&server).await;
    assert!(t.elapsed() >= Duration::from_millis(200));
    let t = Instant::now();
    assert_eq!(
        p.cmd("NOOP").await,
        "-ERR command not valid before login\r\n"
    );
    assert!(t.elapsed() >= Duration::from_millis(150));
}

#[tokio::test]
async fn fault_retr_bytes_per_sec() {
    let big = vec![b'a'; 8000];
    let mut msg = b"Subject: slow\r\n\r\n".to_vec();
    msg.extend_from_slice(&big);
    msg.extend_from_slice(b"\r\n");
    let server = demo::start_with(
        ServerConfig {
            faults: Faults {
                retr_bytes_per_sec: Some(8000),
                ..Default::default()
            },
            ..Default::default()
        },
        Mailbox::from_messages(vec![msg.clone()]),
    )
    .await;
    let mut p = connect(&server).await;
    p.login().await;
    // TOP is not throttled (this TOP is the whole message).
    let t = Instant::now();
    p.cmd("TOP 1 1").await;
    assert_eq!(p.body().await.len(), msg.len() + 3);
    assert!(t.elapsed() < Duration::from_millis(500));
    let t = Instant::now();
    p.cmd("RETR 1").await;
    let body = p.body().await;
    let took = t.elapsed();
    assert_eq!(&body[..body.len() - 3], &msg[..]);
    // 8019 bytes at 8000 B/s: about a second.
    assert!(took >= Duration::from_millis(900), "took {took:?}");
}

#[tokio::test]
async fn fault_garbage_on() {
    let server = with_faults(Faults {
        garbage_on: Some("STAT".into()),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    p.login().await;
    assert_eq!(p.cmd("STAT").await, "HELLO garbage\r\n");
    assert_eq!(p.cmd("NOOP").await, "+OK\r\n");
}

#[tokio::test]
async fn fault_huge_line_on() {
    let server = with_faults(Faults {
        huge_line_on: Some("LIST".into()),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    p.login().await;
    let line = p.cmd("LIST").await;
    assert_eq!(line.len(), 100_000);
    assert!(line.starts_with("+OK ") && line.ends_with("\r\n"));
    assert_eq!(p.cmd("NOOP").await, "+OK\r\n");
}

#[tokio::test]
async fn fault_refuse_dele() {
    let server = with_faults(Faults {
        refuse_dele: vec![2],
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    p.login().await;
    assert_eq!(
        p.cmd("DELE 2").await,
        "-ERR message 2 cannot be deleted\r\n"
    );
    assert_eq!(p.cmd("DELE 1").await, "+OK message 1 deleted\r\n");
    assert_eq!(p.cmd("LIST 2").await, format!("+OK 2 {}\r\n", M2.len()));
}

#[tokio::test]
async fn fault_drop_on_quit() {
    let mb = mailbox();
    let server = demo::start_with(
        ServerConfig {
            faults: Faults {
                drop_on_quit: true,
                ..Default::default()
            },
            ..Default::default()
        },
        mb.clone(),
    )
    .await;
    let mut p = connect(&server).await;
    p.login().await;
    p.cmd("DELE 1").await;
    p.send("QUIT").await;
    assert!(p.rest().await.is_empty(), "no answer to QUIT");
    assert_eq!(mb.len(), 3);
    assert_eq!(mb.messages()[0], M1);
}
