//! Raw POP3 against the built-in server: every byte the server sends is
//! checked as a client would see it on the wire (plain TCP and TLS).

use crate::support::demo;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};
use popdoc::demo::{Faults, Mailbox, Server, ServerConfig};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types};
use tokio_rustls::{TlsConnector, client::TlsStream};

const WAIT: Duration = Duration::from_secs(10);

const M1: &[u8] = b"From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n.dot line\r\n..two\r\n\xe9t\xe9 8-bit\r\nlast\r\n";
const M2: &[u8] = b"Subject: two\r\n\r\nno final newline";
const M3: &[u8] = b"Subject: three\r\n\r\nbody\r\n";

fn mailbox() -> Mailbox {
    Mailbox::from_messages(vec![M1.to_vec(), M2.to_vec(), M3.to_vec()])
}

struct Pop<S> {
    io: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Pop<S> {
    async fn line(&mut self) -> String {
        let mut v = Vec::new();
        tokio::time::timeout(WAIT, self.io.read_until(b'\n', &mut v))
            .await
            .expect("timed out waiting for a line")
            .expect("read failed");
        String::from_utf8_lossy(&v).into_owned()
    }

    async fn send(&mut self, s: &str) {
        let w = self.io.get_mut();
        w.write_all(format!("{s}\r\n").as_bytes()).await.unwrap();
        w.flush().await.unwrap();
    }

    async fn cmd(&mut self, s: &str) -> String {
        self.send(s).await;
        self.line().await
    }

    /// The raw bytes of a multi-line body, terminator included.
    async fn body(&mut self) -> Vec<u8> {
        let mut all = Vec::new();
        loop {
            let start = all.len();
            let n = tokio::time::timeout(WAIT, self.io.read_until(b'\n', &mut all))
                .await
                .expect("timed out in a body")
                .unwrap();
            assert!(n > 0, "connection closed inside a body");
            if &all[start..] == b".\r\n" {
                return all;
            }
        }
    }

    /// Everything until the server closes the connection.
    async fn rest(&mut self) -> Vec<u8> {
        let mut v = Vec::new();
        tokio::time::timeout(WAIT, self.io.read_to_end(&mut v))
            .await
            .expect("server did not close")
            .unwrap();
        v
    }

    /// Asserts that nothing arrives for a while and the socket stays open.
    async fn silent_for(&mut self, d: Duration) {
        let mut b = [0u8; 1];
        let r = tokio::time::timeout(d, self.io.read(&mut b)).await;
        assert!(r.is_err(), "expected silence, got {r:?}");
    }

    async fn login(&mut self) {
        assert_eq!(self.cmd("USER demo").await, "+OK send PASS\r\n");
        let r = self.cmd("PASS demo").await;
        assert!(r.starts_with("+OK logged in"), "{r}");
    }
}

async fn connect(server: &Server) -> Pop<TcpStream> {
    let s = TcpStream::connect(server.addr()).await.unwrap();
    let mut p = Pop {
        io: BufReader::new(s),
    };
    assert_eq!(p.line().await, "+OK popdoc demo server ready\r\n");
    p
}

async fn start(config: ServerConfig) -> Server {
    demo::start_with(config, mailbox()).await
}

async fn with_faults(faults: Faults) -> Server {
    start(ServerConfig {
        faults,
        ..Default::default()
    })
    .await
}

async fn capa(p: &mut Pop<impl AsyncRead + AsyncWrite + Unpin>) -> Vec<String> {
    p.send("CAPA").await;
    let status = p.line().await;
    assert!(status.starts_with("+OK"), "{status}");
    let body = p.body().await;
    let text = String::from_utf8(body).unwrap();
    text.split("\r\n")
        .filter(|l| !l.is_empty() && *l != ".")
        .map(str::to_string)
        .collect()
}

// ---------- AUTHORIZATION ----------

#[tokio::test]
async fn greeting_and_quit_before_login() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    assert!(p.cmd("QUIT").await.starts_with("+OK"));
    assert!(p.rest().await.is_empty(), "server must close after QUIT");
}

#[tokio::test]
async fn user_pass_right_and_wrong() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    assert_eq!(
        p.cmd("STAT").await,
        "-ERR command not valid before login\r\n"
    );
    assert_eq!(p.cmd("PASS demo").await, "-ERR send USER first\r\n");
    p.cmd("USER demo").await;
    assert_eq!(
        p.cmd("PASS nope").await,
        "-ERR [AUTH] authentication failed\r\n"
    );
    p.cmd("user demo").await;
    assert_eq!(p.cmd("pass demo").await, "+OK logged in, 3 messages\r\n");
    assert_eq!(
        p.cmd("stat").await,
        format!("+OK 3 {}\r\n", M1.len() + M2.len() + M3.len())
    );
}

#[tokio::test]
async fn user_pass_can_be_switched_off() {
    let server = start(ServerConfig {
        user_pass: false,
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    assert!(!capa(&mut p).await.contains(&"USER".to_string()));
    assert!(p.cmd("USER demo").await.starts_with("-ERR"));
}

fn plain(user: &str, pass: &str) -> String {
    B64.encode(format!("\0{user}\0{pass}"))
}

#[tokio::test]
async fn auth_plain_with_initial_response() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    let bad = p.cmd(&format!("AUTH PLAIN {}", plain("demo", "x"))).await;
    assert_eq!(bad, "-ERR [AUTH] authentication failed\r\n");
    let ok = p
        .cmd(&format!("AUTH PLAIN {}", plain("demo", "demo")))
        .await;
    assert_eq!(ok, "+OK logged in, 3 messages\r\n");
    assert_eq!(
        server.received(),
        ["AUTH PLAIN ***", "AUTH PLAIN ***"],
        "SASL payloads must be redacted"
    );
}

#[tokio::test]
async fn auth_plain_with_continuation_and_empty_initial_response() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    // "=" is an empty initial response (RFC 5034): not valid PLAIN credentials.
    assert_eq!(
        p.cmd("AUTH PLAIN =").await,
        "-ERR [AUTH] authentication failed\r\n"
    );
    assert_eq!(p.cmd("AUTH PLAIN").await, "+ \r\n");
    let ok = p.cmd(&plain("demo", "demo")).await;
    assert_eq!(ok, "+OK logged in, 3 messages\r\n");
    assert_eq!(server.received(), ["AUTH PLAIN ***", "AUTH PLAIN", "***"]);
}

#[tokio::test]
async fn auth_login_and_cancel() {
    let server = start(ServerConfig {
        mechanisms: vec!["PLAIN".into(), "LOGIN".into()],
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    assert!(capa(&mut p).await.contains(&"SASL PLAIN LOGIN".to_string()));
    assert_eq!(p.cmd("AUTH LOGIN").await, "+ VXNlcm5hbWU6\r\n");
    assert_eq!(p.cmd("*").await, "-ERR authentication cancelled\r\n");
    assert_eq!(p.cmd("AUTH LOGIN").await, "+ VXNlcm5hbWU6\r\n");
    assert_eq!(p.cmd(&B64.encode("demo")).await, "+ UGFzc3dvcmQ6\r\n");
    assert_eq!(
        p.cmd(&B64.encode("demo")).await,
        "+OK logged in, 3 messages\r\n"
    );
}

#[tokio::test]
async fn auth_rejects_unoffered_mechanism_and_bad_base64() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    // XOAUTH2 is not offered without a token, LOGIN not configured.
    assert!(
        p.cmd("AUTH XOAUTH2 dXNlcj0=")
            .await
            .starts_with("-ERR unsupported")
    );
    assert!(p.cmd("AUTH LOGIN").await.starts_with("-ERR unsupported"));
    assert!(
        p.cmd("AUTH PLAIN !!!")
            .await
            .starts_with("-ERR invalid base64")
    );
    p.cmd("AUTH PLAIN").await;
    assert!(p.cmd("%%%").await.starts_with("-ERR invalid base64"));
    assert_eq!(
        p.cmd("NOOP").await,
        "-ERR command not valid before login\r\n"
    );
}

fn oauth_server() -> ServerConfig {
    ServerConfig {
        oauth_token: Some("tok123".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn xoauth2_right_and_wrong_token() {
    let server = start(oauth_server()).await;
    let mut p = connect(&server).await;
    assert!(
        capa(&mut p)
            .await
            .contains(&"SASL PLAIN XOAUTH2 OAUTHBEARER".to_string())
    );
    let bad = B64.encode("user=demo\x01auth=Bearer wrong\x01\x01");
    let challenge = p.cmd(&format!("AUTH XOAUTH2 {bad}")).await;
    let json = B64
        .decode(challenge.strip_prefix("+ ").unwrap().trim_end())
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["status"], "401");
    assert_eq!(p.cmd("").await, "-ERR [AUTH] authentication failed\r\n");
    let good = B64.encode("user=demo\x01auth=Bearer tok123\x01\x01");
    assert_eq!(
        p.cmd(&format!("AUTH XOAUTH2 {good}")).await,
        "+OK logged in, 3 messages\r\n"
    );
    assert_eq!(
        server.received(),
        ["CAPA", "AUTH XOAUTH2 ***", "", "AUTH XOAUTH2 ***"]
    );
}

#[tokio::test]
async fn xoauth2_long_token_goes_after_the_continuation() {
    let token = "t".repeat(2000);
    let server = start(ServerConfig {
        oauth_token: Some(token.clone()),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    let ir = B64.encode(format!("user=demo\x01auth=Bearer {token}\x01\x01"));
    // Over 255 octets as a command line: refused.
    assert_eq!(
        p.cmd(&format!("AUTH XOAUTH2 {ir}")).await,
        "-ERR line too long\r\n"
    );
    assert_eq!(p.cmd("AUTH XOAUTH2").await, "+ \r\n");
    assert_eq!(p.cmd(&ir).await, "+OK logged in, 3 messages\r\n");
}

#[tokio::test]
async fn oauthbearer_right_and_wrong_token() {
    let server = start(oauth_server()).await;
    let mut p = connect(&server).await;
    let bad = B64.encode("n,a=demo,\x01host=127.0.0.1\x01auth=Bearer nope\x01\x01");
    let challenge = p.cmd(&format!("AUTH OAUTHBEARER {bad}")).await;
    let json = B64
        .decode(challenge.strip_prefix("+ ").unwrap().trim_end())
        .unwrap();
    assert!(String::from_utf8(json).unwrap().contains("invalid_token"));
    assert_eq!(p.cmd("AQ==").await, "-ERR [AUTH] authentication failed\r\n");
    // Right token, but for another user.
    let other = B64.encode("n,a=other,\x01auth=Bearer tok123\x01\x01");
    assert!(
        p.cmd(&format!("AUTH OAUTHBEARER {other}"))
            .await
            .starts_with("+ ")
    );
    assert!(p.cmd("AQ==").await.starts_with("-ERR [AUTH]"));
    let good = B64.encode("n,a=demo,\x01auth=Bearer tok123\x01\x01");
    assert_eq!(
        p.cmd(&format!("AUTH OAUTHBEARER {good}")).await,
        "+OK logged in, 3 messages\r\n"
    );
}

#[tokio::test]
async fn apop_with_the_greeting_timestamp() {
    let server = start(ServerConfig {
        apop: true,
        ..Default::default()
    })
    .await;
    let s = TcpStream::connect(server.addr()).await.unwrap();
    let mut p = Pop {
        io: BufReader::new(s),
    };
    let greeting = p.line().await;
    let ts = &greeting[greeting.find('<').unwrap()..=greeting.find('>').unwrap()];
    assert!(ts.contains('@'));
    let digest = |pw: &str| -> String {
        Md5::digest(format!("{ts}{pw}"))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let wrong = p.cmd(&format!("APOP demo {}", digest("x"))).await;
    assert_eq!(wrong, "-ERR [AUTH] authentication failed\r\n");
    let ok = p.cmd(&format!("APOP demo {}", digest("demo"))).await;
    assert_eq!(ok, "+OK logged in, 3 messages\r\n");
    assert_eq!(server.received(), ["APOP demo ***", "APOP demo ***"]);
}

#[tokio::test]
async fn apop_is_refused_when_off() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    assert_eq!(
        p.cmd("APOP demo 00000000000000000000000000000000").await,
        "-ERR APOP is not supported\r\n"
    );
}

#[tokio::test]
async fn received_redacts_pass_and_keeps_other_lines() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    p.cmd("USER demo").await;
    p.cmd("PASS demo").await;
    p.cmd("NOOP").await;
    assert_eq!(server.received(), ["USER demo", "PASS ***", "NOOP"]);
}

#[tokio::test]
async fn capa_before_and_after_login() {
    let server = start(ServerConfig {
        faults: Faults {
            expire: Some("NEVER".into()),
            login_delay: Some(900),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    let before = capa(&mut p).await;
    for c in [
        "TOP",
        "UIDL",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
        "USER",
        "SASL PLAIN",
        "EXPIRE NEVER",
        "LOGIN-DELAY 900",
        "IMPLEMENTATION popdoc-demo",
    ] {
        assert!(before.contains(&c.to_string()), "missing {c} in {before:?}");
    }
    assert!(!before.iter().any(|c| c == "STLS"), "no TLS configured");
    p.login().await;
    let after = capa(&mut p).await;
    assert!(after.contains(&"PIPELINING".to_string()));
    assert!(after.contains(&"EXPIRE NEVER".to_string()));
}

#[tokio::test]
async fn overlong_command_line_is_refused_and_the_session_goes_on() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    let long = format!("USER {}", "x".repeat(300));
    assert_eq!(p.cmd(&long).await, "-ERR line too long\r\n");
    assert_eq!(p.cmd("FROB").await, "-ERR unknown command\r\n");
    p.login().await;
}

#[tokio::test]
async fn idle_connection_is_closed() {
    let server = start(ServerConfig {
        idle_timeout: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    p.login().await;
    let mb_before = server.received().len();
    assert_eq!(p.rest().await, b"-ERR Disconnected for inactivity\r\n");
    assert_eq!(server.received().len(), mb_before);
    // The lock is released: a new session can log in.
    let mut q = connect(&server).await;
    q.login().await;
}

// ---------- TRANSACTION ----------

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
async fn server_mailbox_len(server: &Server) -> usize {
    let mut p = connect(server).await;
    p.login().await;
    let stat = p.cmd("STAT").await;
    p.cmd("QUIT").await;
    stat.split(' ').nth(1).unwrap().parse().unwrap()
}

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

// ---------- Faults ----------

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

// ---------- TLS ----------

fn tls_configs() -> (Arc<rustls::ServerConfig>, TlsConnector) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), TlsConnector::from(Arc::new(client)))
}

async fn tls_over(connector: &TlsConnector, tcp: TcpStream) -> Pop<TlsStream<TcpStream>> {
    let name = pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    Pop {
        io: BufReader::new(tls),
    }
}

#[tokio::test]
async fn stls_then_login_over_tls() {
    let (server_tls, connector) = tls_configs();
    let server = start(ServerConfig {
        tls: Some(server_tls),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    let caps = capa(&mut p).await;
    assert!(caps.contains(&"STLS".to_string()));
    assert!(
        !caps.iter().any(|c| c == "USER" || c.starts_with("SASL")),
        "no login methods before TLS: {caps:?}"
    );
    assert_eq!(p.cmd("STLS").await, "+OK Begin TLS negotiation\r\n");
    assert!(p.io.buffer().is_empty());
    let mut t = tls_over(&connector, p.io.into_inner()).await;
    let caps = capa(&mut t).await;
    assert!(!caps.contains(&"STLS".to_string()), "{caps:?}");
    assert!(caps.contains(&"USER".to_string()));
    assert!(caps.contains(&"SASL PLAIN".to_string()));
    assert!(t.cmd("STLS").await.starts_with("-ERR"));
    t.login().await;
    assert!(t.cmd("RETR 3").await.starts_with("+OK"));
    assert_eq!(t.body().await, b"Subject: three\r\n\r\nbody\r\n.\r\n");
    assert_eq!(
        server.received(),
        [
            "CAPA",
            "STLS",
            "CAPA",
            "STLS",
            "USER demo",
            "PASS ***",
            "RETR 3"
        ]
    );
}

#[tokio::test]
async fn stls_discards_commands_sent_before_the_handshake() {
    let (server_tls, connector) = tls_configs();
    let server = start(ServerConfig {
        tls: Some(server_tls),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    // An injected command in the same packet as STLS must not run after TLS.
    p.io.get_mut()
        .write_all(b"STLS\r\nUSER evil\r\n")
        .await
        .unwrap();
    assert_eq!(p.line().await, "+OK Begin TLS negotiation\r\n");
    let mut t = tls_over(&connector, p.io.into_inner()).await;
    assert_eq!(t.cmd("PASS demo").await, "-ERR send USER first\r\n");
}

#[tokio::test]
async fn implicit_tls_from_the_first_byte() {
    let (server_tls, connector) = tls_configs();
    let server = start(ServerConfig {
        tls: Some(server_tls),
        implicit_tls: true,
        ..Default::default()
    })
    .await;
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let mut t = tls_over(&connector, tcp).await;
    assert_eq!(t.line().await, "+OK popdoc demo server ready\r\n");
    let caps = capa(&mut t).await;
    assert!(!caps.contains(&"STLS".to_string()));
    assert!(caps.contains(&"USER".to_string()));
    assert!(t.cmd("STLS").await.starts_with("-ERR"));
    t.login().await;
    assert_eq!(
        t.cmd("STAT").await,
        format!("+OK 3 {}\r\n", M1.len() + M2.len() + M3.len())
    );
}

#[tokio::test]
async fn fault_stls_inject() {
    let (server_tls, _) = tls_configs();
    let server = start(ServerConfig {
        tls: Some(server_tls),
        faults: Faults {
            stls_inject: true,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    assert_eq!(p.cmd("STLS").await, "+OK Begin TLS\r\n");
    // The injected line arrived in the same write: it is already buffered.
    assert_eq!(p.io.buffer(), b"+OK injected\r\n");
}

#[tokio::test]
async fn shutdown_ends_sessions_and_deletes_nothing() {
    let mb = mailbox();
    let server = demo::start_with(ServerConfig::default(), mb.clone()).await;
    let mut p = connect(&server).await;
    p.login().await;
    p.cmd("DELE 1").await;
    server.shutdown().await;
    assert!(p.rest().await.is_empty());
    assert_eq!(mb.len(), 3);
    assert!(!mb.is_locked());
}
