//! The connection layer against the built-in server and scripted peers:
//! login methods, pipelining, streaming RETR, faults and their errors,
//! certificate checks, and what the transcript shows.

use crate::support::certs;

use std::time::Duration;

use popdoc::client::transport::parse_fingerprint;
use popdoc::client::{CertCheck, Connection, Credentials, Endpoint, Error, LoginMethod, Security};
use popdoc::demo::{Faults, Mailbox, Server, ServerConfig};
use popdoc::pop3::RespCode;
use popdoc::pop3::sasl::Mechanism;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "s3cret-Pa55";

fn messages() -> Vec<Vec<u8>> {
    vec![
        b"From: Ann <ann@example.org>\r\nSubject: one\r\n\r\nHello\r\n.dot line\r\n..two\r\n\xe9t\xe9\r\n.\r\nlast\r\n".to_vec(),
        b"Subject: two\r\n\r\nbare\rcr and cr cr lf\r\r\n".to_vec(),
        b"Subject: three\r\n\r\nbody\r\n".to_vec(),
    ]
}

fn config(faults: Faults) -> ServerConfig {
    ServerConfig {
        user: "ann".into(),
        password: PASSWORD.into(),
        faults,
        ..Default::default()
    }
}

async fn server(faults: Faults) -> Server {
    crate::support::demo::start_with(config(faults), Mailbox::from_messages(messages())).await
}

fn endpoint(port: u16, security: Security) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port,
        security,
        cert: CertCheck::System,
        connect_timeout: Duration::from_secs(5),
    }
}

fn creds() -> Credentials {
    Credentials {
        user: "ann".into(),
        secret: PASSWORD.into(),
        token: false,
    }
}

async fn open(ep: Endpoint) -> Result<Connection, Error> {
    Connection::open(ep, Duration::from_secs(5), &mut |_, _| {}).await
}

async fn logged_in(s: &Server) -> Connection {
    let mut c = open(endpoint(s.port(), Security::Plaintext)).await.unwrap();
    c.login(&creds(), LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap();
    c
}

#[tokio::test]
async fn session_basics_and_transcript_redaction() {
    let s = server(Faults::default()).await;
    let mut stages = Vec::new();
    let mut c = Connection::open(
        endpoint(s.port(), Security::Plaintext),
        Duration::from_secs(5),
        &mut |stage, _| stages.push(stage),
    )
    .await
    .unwrap();
    c.login(&creds(), LoginMethod::Auto, &mut |stage, _| {
        stages.push(stage)
    })
    .await
    .unwrap();
    assert_eq!(c.method.as_deref(), Some("SASL PLAIN"));
    assert!(c.caps.as_ref().unwrap().pipelining);
    assert_eq!(
        c.stat().await.unwrap(),
        (3, messages().iter().map(|m| m.len() as u64).sum())
    );
    let listing = c.listing().await.unwrap();
    assert_eq!(listing.len(), 3);
    for (l, m) in listing.iter().zip(messages()) {
        assert_eq!(l.size, m.len() as u64);
        assert!(l.uidl.is_some());
    }
    assert_eq!(
        c.uidl_one(2).await.unwrap(),
        *listing[1].uidl.as_ref().unwrap()
    );
    let text = c.log.render();
    assert!(!text.contains(PASSWORD), "{text}");
    assert!(text.contains("C: AUTH PLAIN ***"), "{text}");
    assert!(text.contains("C: LIST"));
    let timing = c.log.timings().find(|t| t.command == "STAT").unwrap();
    assert!(timing.latency().is_some() && timing.bytes_in > 0 && timing.bytes_out == 6);
    use popdoc::client::Stage::*;
    assert_eq!(stages, [Connect, Greeting, Capa, Login, CapaAfterLogin]);
    c.quit().await.unwrap();
}

#[tokio::test]
async fn user_pass_and_apop_and_login_mechanism() {
    let s = crate::support::demo::start_with(
        ServerConfig {
            apop: true,
            mechanisms: vec!["LOGIN".into()],
            ..config(Faults::default())
        },
        Mailbox::from_messages(messages()),
    )
    .await;
    for (method, used) in [
        (LoginMethod::UserPass, "USER/PASS"),
        (LoginMethod::Apop, "APOP"),
        (LoginMethod::Auto, "SASL LOGIN"),
        (LoginMethod::Sasl(Mechanism::Login), "SASL LOGIN"),
    ] {
        let mut c = open(endpoint(s.port(), Security::Plaintext)).await.unwrap();
        c.login(&creds(), method, &mut |_, _| {}).await.unwrap();
        assert_eq!(c.method.as_deref(), Some(used));
        assert!(!c.log.render().contains(PASSWORD));
        c.quit().await.unwrap();
    }
    let received = s.received().join("\n");
    assert!(!received.contains(PASSWORD));
    assert!(received.contains("APOP ann ***"), "{received}");
}

#[tokio::test]
async fn wrong_password_shows_the_servers_error() {
    let s = server(Faults::default()).await;
    let mut c = open(endpoint(s.port(), Security::Plaintext)).await.unwrap();
    let bad = Credentials {
        secret: "wrong".into(),
        ..creds()
    };
    let e = c
        .login(&bad, LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap_err();
    let msg = e.to_string();
    assert!(msg.starts_with("login failed: -ERR [AUTH]"), "{msg}");
    assert!(msg.contains("not accepted"), "{msg}");
}

#[tokio::test]
async fn in_use_and_login_delay_are_explained() {
    let s = server(Faults {
        in_use: true,
        ..Default::default()
    })
    .await;
    let mut c = open(endpoint(s.port(), Security::Plaintext)).await.unwrap();
    let e = c
        .login(&creds(), LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap_err();
    assert_eq!(e.status().unwrap().code, Some(RespCode::InUse));
    assert!(
        e.to_string()
            .contains("another client holds the mailbox lock")
    );

    let s = server(Faults {
        reject_login_delay: true,
        ..Default::default()
    })
    .await;
    let mut c = open(endpoint(s.port(), Security::Plaintext)).await.unwrap();
    let e = c
        .login(&creds(), LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap_err();
    assert!(e.to_string().contains("too recently"), "{e}");
}

#[tokio::test]
async fn oauth2_tokens_long_and_rejected() {
    let token = format!("ya29.{}", "x".repeat(1200));
    let s = crate::support::demo::start_with(
        ServerConfig {
            oauth_token: Some(token.clone()),
            mechanisms: vec!["PLAIN".into(), "XOAUTH2".into(), "OAUTHBEARER".into()],
            ..config(Faults::default())
        },
        Mailbox::from_messages(messages()),
    )
    .await;
    let tok = |t: &str| Credentials {
        user: "ann".into(),
        secret: t.into(),
        token: true,
    };
    for method in [LoginMethod::Auto, LoginMethod::Sasl(Mechanism::OAuthBearer)] {
        let mut c = open(endpoint(s.port(), Security::Plaintext)).await.unwrap();
        c.login(&tok(&token), method, &mut |_, _| {}).await.unwrap();
        let log = c.log.render();
        assert!(!log.contains(&token[..40]), "token in transcript");
        // The token was too long for the AUTH line: it went after "+ ".
        assert!(
            log.contains("C: AUTH XOAUTH2\n") || log.contains("C: AUTH OAUTHBEARER\n"),
            "{log}"
        );
        c.quit().await.unwrap();
    }
    let mut c = open(endpoint(s.port(), Security::Plaintext)).await.unwrap();
    let e = c
        .login(&tok("expired"), LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap_err();
    assert!(e.to_string().contains("rejected the OAuth2 token"), "{e}");
    assert!(!s.received().join("\n").contains("expired"));
}

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
    // A header block over the limit is an error for that message only.
    let mut got = Vec::new();
    c.top_many(&[1, 2], 0, 20, &mut |n, r| got.push((n, r)))
        .await
        .unwrap();
    assert!(
        matches!(got[0].1, Err(Error::TooLong { limit: 20, .. })),
        "{:?}",
        got[0].1
    );
    assert_eq!(
        got[1].1.as_ref().unwrap(),
        b"Subject: two\r\n\r\n",
        "a small one still fits"
    );
    assert_eq!(c.stat().await.unwrap().0, 3, "the session is still in step");
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

#[tokio::test]
async fn a_stalled_server_times_out_naming_the_command() {
    let s = server(Faults {
        stall_on: Some("RETR".into()),
        ..Default::default()
    })
    .await;
    let mut c = logged_in(&s).await;
    c.timeout = Duration::from_millis(400);
    let e = c
        .retr_to(1, &mut Vec::new(), &mut |_| {}, None)
        .await
        .unwrap_err();
    assert!(
        matches!(&e, Error::Timeout { command, .. } if command == "RETR 1"),
        "{e}"
    );
    assert!(c.broken().is_some());
    assert!(
        c.stat().await.is_err(),
        "a timed-out connection is not reused"
    );
}

#[tokio::test]
async fn drop_mid_retr_garbage_and_huge_lines_are_clear_errors() {
    let s = server(Faults {
        drop_in_retr_after: Some(40),
        ..Default::default()
    })
    .await;
    let mut c = logged_in(&s).await;
    let mut out = Vec::new();
    let e = c.retr_to(1, &mut out, &mut |_| {}, None).await.unwrap_err();
    assert!(
        matches!(&e, Error::Closed { command } if command == "RETR 1"),
        "{e}"
    );

    let s = server(Faults {
        garbage_on: Some("STAT".into()),
        ..Default::default()
    })
    .await;
    let mut c = logged_in(&s).await;
    let e = c.stat().await.unwrap_err();
    assert!(
        e.to_string()
            .contains("broke the POP3 protocol during STAT"),
        "{e}"
    );

    let s = server(Faults {
        huge_line_on: Some("NOOP".into()),
        ..Default::default()
    })
    .await;
    let mut c = logged_in(&s).await;
    let e = c.noop().await.unwrap_err();
    assert!(e.to_string().contains("longer than"), "{e}");
}

#[tokio::test]
async fn cancel_during_a_slow_retr() {
    let big: Vec<u8> = (0..400_000u32)
        .flat_map(|i| format!("line {i}\r\n").into_bytes())
        .take(2_000_000)
        .collect();
    let mut msgs = messages();
    msgs.push(big);
    let s = crate::support::demo::start_with(
        config(Faults {
            retr_bytes_per_sec: Some(2_000_000),
            ..Default::default()
        }),
        Mailbox::from_messages(msgs),
    )
    .await;
    let mut c = logged_in(&s).await;
    let cancel = CancellationToken::new();
    let mut out = Vec::new();
    let mut seen = 0;
    let trigger = cancel.clone();
    let e = c
        .retr_to(
            4,
            &mut out,
            &mut |b| {
                seen = b;
                if b > 100_000 {
                    trigger.cancel();
                }
            },
            Some(&cancel),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Cancelled));
    assert!(seen > 100_000 && seen < 2_000_000, "{seen}");
    assert!(
        c.broken().is_some(),
        "a cancelled RETR leaves the connection unusable"
    );
}

#[tokio::test]
async fn plaintext_credentials_are_refused_unless_asked_for() {
    // STLS required, server has no STLS: stop before sending anything secret.
    let s = server(Faults::default()).await;
    let e = open(endpoint(s.port(), Security::StartTls))
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::NoStls), "{e}");
    // No CAPA at all: STLS is tried and refused.
    let s = server(Faults {
        no_capa: true,
        ..Default::default()
    })
    .await;
    let e = open(endpoint(s.port(), Security::StartTls))
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::StlsRefused(_)), "{e}");
    assert!(
        s.received()
            .iter()
            .all(|l| !l.starts_with("USER") && !l.starts_with("AUTH"))
    );
}

async fn tls_server(pki: &certs::TestPki, implicit: bool, faults: Faults) -> Server {
    crate::support::demo::start_with(
        ServerConfig {
            tls: Some(pki.server_config()),
            implicit_tls: implicit,
            ..config(faults)
        },
        Mailbox::from_messages(messages()),
    )
    .await
}

#[tokio::test]
async fn stls_and_implicit_tls_with_ca_file_or_pin() {
    let pki = certs::pki();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    for implicit in [false, true] {
        let s = tls_server(&pki, implicit, Faults::default()).await;
        let security = if implicit {
            Security::Implicit
        } else {
            Security::StartTls
        };
        for check in [
            CertCheck::ExtraCa(ca.clone()),
            CertCheck::Pin(parse_fingerprint(&pki.fingerprint).unwrap()),
        ] {
            let ep = Endpoint {
                cert: check,
                ..endpoint(s.port(), security)
            };
            let mut c = open(ep).await.unwrap();
            assert!(c.is_encrypted());
            assert_eq!(
                c.tls.as_ref().unwrap().fingerprint().unwrap(),
                pki.fingerprint
            );
            if !implicit {
                assert!(
                    c.caps_before.as_ref().unwrap().user,
                    "CAPA again after STLS"
                );
                assert!(!c.caps_before.as_ref().unwrap().stls);
            }
            c.login(&creds(), LoginMethod::Auto, &mut |_, _| {})
                .await
                .unwrap();
            assert_eq!(c.stat().await.unwrap().0, 3);
            c.quit().await.unwrap();
        }
        // The private CA is not in the system roots: refused, with the
        // fingerprint to check and pin.
        let e = open(endpoint(s.port(), security)).await.err().unwrap();
        let msg = e.to_string();
        assert!(msg.contains("not issued by a trusted authority"), "{msg}");
        assert!(msg.contains(&pki.fingerprint), "{msg}");
        // A wrong pin is refused too.
        let ep = Endpoint {
            cert: CertCheck::Pin([7; 32]),
            ..endpoint(s.port(), security)
        };
        let e = open(ep).await.err().unwrap();
        assert!(
            e.to_string()
                .contains("does not match the pinned fingerprint"),
            "{e}"
        );
        // The named opt-out connects.
        let ep = Endpoint {
            cert: CertCheck::NoVerify,
            ..endpoint(s.port(), security)
        };
        let c = open(ep).await.unwrap();
        assert!(c.tls.as_ref().unwrap().verified.contains("NOT VERIFIED"));
    }
}

#[tokio::test]
async fn bytes_injected_after_stls_abort_the_connection() {
    let pki = certs::pki();
    let s = tls_server(
        &pki,
        false,
        Faults {
            stls_inject: true,
            ..Default::default()
        },
    )
    .await;
    let ep = Endpoint {
        cert: CertCheck::NoVerify,
        ..endpoint(s.port(), Security::StartTls)
    };
    let e = open(ep).await.err().unwrap();
    assert!(matches!(e, Error::StlsInjection), "{e}");
}

#[tokio::test]
async fn connection_errors_are_sentences() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let e = open(endpoint(port, Security::Plaintext))
        .await
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(
        msg.starts_with(&format!("could not connect to 127.0.0.1:{port}")),
        "{msg}"
    );
    assert!(msg.contains("Check the host and port"));
    // TLS against a plain port.
    let s = server(Faults::default()).await;
    let e = open(endpoint(s.port(), Security::Implicit))
        .await
        .err()
        .unwrap();
    assert!(matches!(e, Error::Tls { .. }), "{e}");
}
