//! `popdoc check smtp://…` (the real binary) against a private Exim:
//! STARTTLS and SMTPS, AUTH PLAIN / LOGIN / XOAUTH2, `--send-test` with the
//! queue id checked against Exim's queue, refusals explained, and against
//! scripted peers: no STARTTLS (no credentials sent) and a stalled command.

use crate::support::cli::{Run, popdoc};
use crate::support::report::{json, stages, text};

use std::sync::{Arc, Mutex};

use crate::support::smtp::{self, SmtpServer};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

#[tokio::test(flavor = "multi_thread")]
async fn starttls_auth_and_a_test_message() {
    let Some(s) = SmtpServer::start() else { return };
    let url = format!("smtp://{}@127.0.0.1:{}", smtp::USER, s.submission_port());
    let ca = s.ca_file();
    let dir = tempfile::tempdir().unwrap();
    let tr = dir.path().join("t.txt");
    let out = popdoc(
        Run::new(&[
            "check",
            "--json",
            "--ca-file",
            ca.to_str().unwrap(),
            "--transcript",
            tr.to_str().unwrap(),
            "--send-test",
            "bob@example.net",
            "--from",
            "alice@example.org",
            &url,
        ])
        .password(smtp::PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out), s.log());
    let v = json(&out);
    assert_eq!(v["protocol"], "smtp");
    assert_eq!(v["connection"]["security"], "starttls");
    assert_eq!(v["connection"]["port"], s.submission_port());
    assert!(
        v["server"]["greeting"]
            .as_str()
            .unwrap()
            .starts_with("220 smtp.localhost ESMTP Exim")
    );
    let tls = &v["tls"];
    assert_eq!(tls["verified"], true);
    assert_eq!(tls["sha256"], s.fingerprint());
    assert_eq!(tls["certificate"]["subject"], "CN=smtp.localhost");
    assert_eq!(tls["certificate"]["issuer"], "CN=popdoc SMTP test CA");
    let m = &v["smtp"];
    let before: Vec<&str> = m["ehlo_before_tls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert!(before.contains(&"STARTTLS"), "{before:?}");
    assert!(before.iter().all(|k| !k.starts_with("AUTH")), "{before:?}");
    let after = m["ehlo"].to_string();
    assert!(after.contains("AUTH PLAIN LOGIN XOAUTH2"), "{after}");
    assert_eq!(m["starttls_offered"], true);
    assert_eq!(m["size_limit"], 10 * 1024 * 1024);
    assert_eq!(v["login"]["ok"], true);
    assert_eq!(v["login"]["method"], "AUTH PLAIN");
    let t = &m["send_test"];
    assert_eq!(t["ok"], true);
    assert_eq!(t["from"], "alice@example.org");
    assert!(t["data_reply"].as_str().unwrap().starts_with("354"));
    let queued = s.queued();
    assert_eq!(queued.len(), 1, "exactly one message sent");
    assert_eq!(t["queue_id"], queued[0].id.as_str());
    assert!(
        t["reply"].as_str().unwrap().contains(&queued[0].id),
        "{}",
        t["reply"]
    );
    assert!(queued[0].envelope.contains("<bob@example.net>"));
    assert!(queued[0].envelope.contains("<alice@example.org>"));
    // Dot-stuffed on the wire, unstuffed by the server: one dot again.
    let body = String::from_utf8_lossy(&queued[0].body);
    assert!(
        body.contains("\n.This line starts with a dot, so it travels dot-stuffed"),
        "{body}"
    );
    assert!(!body.contains("..This"), "{body}");
    let st = stages(&v);
    for want in [
        "dns",
        "tcp",
        "greeting",
        "ehlo",
        "starttls",
        "tls",
        "ehlo_after_tls",
        "auth",
        "mail_from",
        "rcpt_to",
        "data",
        "message",
        "quit",
    ] {
        assert!(st.contains(&want.to_string()), "{want}: {st:?}");
    }
    let transcript = std::fs::read_to_string(&tr).unwrap();
    assert!(transcript.contains("C: AUTH PLAIN ***"), "{transcript}");
    assert!(transcript.contains("C: STARTTLS"), "{transcript}");
    assert!(transcript.contains("S: 250-"), "multi-line replies kept");
    for shown in [text(&out), transcript] {
        assert!(!shown.contains(smtp::PASSWORD));
    }

    let out = popdoc(
        Run::new(&["check", "--ca-file", ca.to_str().unwrap(), &url]).password(smtp::PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let t = text(&out);
    assert!(t.contains("popdoc check (SMTP)"), "{t}");
    assert!(t.contains("STARTTLS (plain connection, then TLS)"), "{t}");
    assert!(t.contains("EHLO before TLS"), "{t}");
    assert!(t.contains("AUTH PLAIN"), "{t}");
    assert_eq!(s.queued().len(), 1, "no message without --send-test");
    println!("{t}");
}

#[tokio::test(flavor = "multi_thread")]
async fn smtps_with_xoauth2_and_login() {
    let Some(s) = SmtpServer::start() else { return };
    let url = format!("smtps://{}@127.0.0.1:{}", smtp::USER, s.smtps_port());
    let fp = s.fingerprint();
    let cmd = format!("echo {}", smtp::TOKEN);
    let out = popdoc(
        Run::new(&[
            "check",
            "--json",
            "--fingerprint",
            &fp,
            "--oauth-token-command",
            &cmd,
            &url,
        ])
        .password("unused"),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}\n{}", text(&out), s.log());
    let v = json(&out);
    assert_eq!(v["connection"]["security"], "tls");
    assert_eq!(v["tls"]["verified_by"], "pinned fingerprint");
    assert_eq!(v["smtp"]["ehlo_before_tls"], Value::Null);
    assert_eq!(v["login"]["method"], "AUTH XOAUTH2");
    assert!(!text(&out).contains(smtp::TOKEN));

    let out = popdoc(
        Run::new(&[
            "check",
            "--json",
            "--fingerprint",
            &fp,
            "--login",
            "login",
            &url,
        ])
        .password(smtp::PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(json(&out)["login"]["method"], "AUTH LOGIN");
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_are_explained_with_their_stage() {
    let Some(s) = SmtpServer::start() else { return };
    let fp = s.fingerprint();
    let url = format!("smtps://{}@127.0.0.1:{}", smtp::USER, s.smtps_port());
    let out =
        popdoc(Run::new(&["check", "--fingerprint", &fp, &url]).password("wrong-Pass-5")).await;
    assert_eq!(out.status.code(), Some(4));
    let t = text(&out);
    assert!(t.contains("FAILED at AUTH (exit status 4)"), "{t}");
    assert!(t.contains("535"), "{t}");
    assert!(
        t.contains("means: the user name or password (or token) was not accepted"),
        "{t}"
    );
    assert!(!t.contains("wrong-Pass-5"));

    // No user: no AUTH, so the server will not relay.
    let anon = format!("smtps://127.0.0.1:{}", s.smtps_port());
    let out = popdoc(
        Run::new(&[
            "check",
            "--json",
            "--fingerprint",
            &fp,
            "--send-test",
            "bob@example.net",
            "--from",
            "alice@example.org",
            &anon,
        ])
        .password(""),
    )
    .await;
    assert_eq!(out.status.code(), Some(7));
    let v = json(&out);
    assert_eq!(v["failed_stage"], "rcpt_to");
    assert_eq!(v["login"], Value::Null);
    assert!(
        v["smtp"]["send_test"]["rcpt_to_reply"]
            .as_str()
            .unwrap()
            .starts_with("550 relay not permitted")
    );
    let p = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["severity"] == "error")
        .unwrap();
    assert_eq!(p["response_code"], "550");
    assert!(p["explanation"].as_str().unwrap().contains("policy"));
    assert!(s.queued().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_near_expiry_is_warned_about() {
    let Some(s) = SmtpServer::start_with(smtp::Options { cert_days: 10 }) else {
        return;
    };
    let url = format!("smtps://127.0.0.1:{}", s.smtps_port());
    let out =
        popdoc(Run::new(&["check", "--ca-file", s.ca_file().to_str().unwrap(), &url]).password(""))
            .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("(10 days left)"), "{t}");
    assert!(
        t.contains("WARNING (TLS handshake): the server's certificate expires on"),
        "{t}"
    );
    assert!(t.contains("(in 10 days)"), "{t}");
}

/// An SMTP peer from a script; records what it received.
async fn scripted(stall_on: &'static str, ehlo: &'static str) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        let (sock, _) = listener.accept().await.unwrap();
        let (r, mut w) = sock.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"220 scripted ESMTP\r\n").await.unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            log.lock().unwrap().push(line.clone());
            let upper = line.to_ascii_uppercase();
            if upper.starts_with(stall_on) {
                // Never answer; keep the socket open until the client leaves.
                while let Ok(Some(_)) = lines.next_line().await {}
                return;
            }
            let reply: &[u8] = if upper.starts_with("EHLO") {
                ehlo.as_bytes()
            } else if upper.starts_with("QUIT") {
                b"221 bye\r\n"
            } else {
                b"250 ok\r\n"
            };
            w.write_all(reply).await.unwrap();
        }
    });
    (port, seen)
}

#[tokio::test(flavor = "multi_thread")]
async fn no_starttls_means_no_credentials() {
    let (port, seen) = scripted(
        "NEVER",
        "250-scripted\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n",
    )
    .await;
    let url = format!("smtp://alice@127.0.0.1:{port}");
    let out = popdoc(Run::new(&["check", "--json", &url]).password("secret-Pass-1")).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["failed_stage"], "starttls");
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("does not offer STARTTLS")
    );
    let seen = seen.lock().unwrap().clone();
    assert!(seen.iter().all(|l| !l.starts_with("AUTH")), "{seen:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stalled_command_is_named() {
    let (port, _) = scripted("MAIL", "250-scripted\r\n250 8BITMIME\r\n").await;
    let url = format!("smtp://127.0.0.1:{port}");
    let out = popdoc(
        Run::new(&[
            "check",
            "--json",
            "--plaintext",
            "--timeout",
            "1",
            "--send-test",
            "b@example.net",
            "--from",
            "a@example.org",
            &url,
        ])
        .password(""),
    )
    .await;
    assert_eq!(out.status.code(), Some(7), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["failed_stage"], "mail_from");
    let e = v["error"].as_str().unwrap();
    assert!(e.contains("did not answer MAIL FROM within 1 s"), "{e}");
    assert_eq!(v["smtp"]["ehlo"], serde_json::json!(["8BITMIME"]));
}
