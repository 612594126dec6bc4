//! `popdoc check` (the real binary) against the built-in server with
//! faults and against a scripted peer; `report_from_session` on an open
//! connection, which must send nothing.

use crate::support::cli::{Run, popdoc};
use crate::support::demo;
use crate::support::report::{json, stages, text};

use crate::support::certs;

use std::time::Duration;

use popdoc::client::{CertCheck, Connection, Credentials, Endpoint, LoginMethod, Security};
use popdoc::demo::{Faults, Mailbox, Server, ServerConfig};
use popdoc::report::Step;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

const PASSWORD: &str = "chk-Secret-4711";

fn messages() -> Vec<Vec<u8>> {
    vec![
        b"From: a@example.org\r\nSubject: one\r\n\r\nbody\r\n.dot\r\n".to_vec(),
        b"Subject: two\r\n\r\nx\r\n".to_vec(),
        b"Subject: big\r\n\r\n"
            .iter()
            .copied()
            .chain(std::iter::repeat_n(b'a', 200_000))
            .chain(*b"\r\n")
            .collect(),
    ]
}

async fn server_with(config: ServerConfig) -> Server {
    demo::start_with(config, Mailbox::from_messages(messages())).await
}

async fn server(faults: Faults) -> Server {
    demo::start("ann", PASSWORD, faults, Mailbox::from_messages(messages())).await
}

fn url(port: u16) -> String {
    format!("pop3://ann@127.0.0.1:{port}")
}

#[tokio::test(flavor = "multi_thread")]
async fn healthy_server_text_and_json() {
    let s = server(Faults {
        login_delay: Some(900),
        expire: Some("NEVER".into()),
        ..Default::default()
    })
    .await;
    let u = url(s.port());
    let out =
        popdoc(Run::new(&["check", "--json", "--plaintext", "--retr", "3", &u]).password(PASSWORD))
            .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["format"], 1);
    assert_eq!(v["protocol"], "pop3");
    assert_eq!(v["source"], "check");
    assert_eq!(v["ok"], true);
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["failed_stage"], Value::Null);
    assert_eq!(v["connection"]["security"], "plaintext");
    assert_eq!(
        v["connection"]["address"],
        format!("127.0.0.1:{}", s.port())
    );
    assert_eq!(v["tls"], Value::Null);
    assert!(v["server"]["greeting"].as_str().unwrap().starts_with("+OK"));
    assert_eq!(v["server"]["implementation"], "popdoc-demo");
    assert_eq!(v["server"]["login_delay"]["seconds"], 900);
    assert_eq!(
        v["server"]["login_delay"]["words"],
        "at least 15 min between logins"
    );
    assert_eq!(v["server"]["expire"]["days"], Value::Null);
    assert!(
        v["server"]["expire"]["words"]
            .as_str()
            .unwrap()
            .contains("never deletes")
    );
    assert_eq!(v["login"]["ok"], true);
    assert_eq!(v["login"]["method"], "SASL PLAIN");
    let m = &v["mailbox"];
    let sizes: Vec<u64> = messages().iter().map(|m| m.len() as u64).collect();
    assert_eq!(m["messages"], 3);
    assert_eq!(m["total_bytes"], sizes.iter().sum::<u64>());
    assert_eq!(m["largest"][0]["number"], 3);
    assert_eq!(m["largest"][0]["size"], sizes[2]);
    assert_eq!(
        m["largest"][0]["uidl"],
        Mailbox::from_messages(messages()).uidls()[2]
    );
    assert_eq!(m["uidl"]["supported"], true);
    assert_eq!(m["uidl"]["checked"], 3);
    assert_eq!(m["uidl"]["duplicates"], serde_json::json!([]));
    assert_eq!(m["top"]["message"], 1);
    assert_eq!(m["retr"]["message"], 3);
    assert_eq!(m["retr"]["bytes_received"], sizes[2]);
    assert_eq!(m["retr"]["list_size"], sizes[2]);
    assert_eq!(m["retr"]["size_matches"], true);
    assert_eq!(m["retr"]["scratch_deleted"], true);
    assert!(m["retr"]["bytes_per_second"]["median"].as_f64().unwrap() > 0.0);
    let st = stages(&v);
    for want in [
        "dns",
        "tcp",
        "greeting",
        "capa",
        "login",
        "capa_after_login",
        "stat",
        "list",
        "uidl",
        "top",
        "retr_first_byte",
        "retr",
        "quit",
    ] {
        assert!(st.contains(&want.to_string()), "{want} missing from {st:?}");
    }
    for t in v["timings"].as_array().unwrap() {
        assert_eq!(t["samples"], 1);
        assert!(t["min_ms"].as_f64().unwrap() >= 0.0);
    }
    // Nothing deleted, and RETR really happened.
    let received = s.received();
    assert!(received.iter().any(|l| l == "RETR 3"), "{received:?}");
    assert!(received.iter().all(|l| !l.starts_with("DELE")));

    let out = popdoc(Run::new(&["check", "--plaintext", &u]).password(PASSWORD)).await;
    assert_eq!(out.status.code(), Some(0));
    let t = text(&out);
    for section in [
        "Connection\n",
        "Server\n",
        "Login\n",
        "Mailbox\n",
        "Timings",
        "Problems\n",
    ] {
        assert!(t.contains(section), "{section} missing:\n{t}");
    }
    assert!(t.contains("Result             OK"), "{t}");
    assert!(t.contains("at least 15 min between logins"), "{t}");
    assert!(t.contains("unique, valid length and characters"), "{t}");
    assert!(!t.contains('\x1b'));
}

#[tokio::test(flavor = "multi_thread")]
async fn in_use_is_explained_and_fails_at_login() {
    let s = server(Faults {
        in_use: true,
        ..Default::default()
    })
    .await;
    let out = popdoc(Run::new(&["check", "--plaintext", &url(s.port())]).password(PASSWORD)).await;
    assert_eq!(out.status.code(), Some(4));
    let t = text(&out);
    assert!(t.contains("FAILED at login (exit status 4)"), "{t}");
    assert!(t.contains("-ERR [IN-USE]"), "{t}");
    assert!(
        t.contains("[IN-USE] means: another client holds the mailbox lock"),
        "{t}"
    );
    // The report still shows what came before the failure.
    assert!(t.contains("Greeting"), "{t}");

    let out =
        popdoc(Run::new(&["check", "--json", "--plaintext", &url(s.port())]).password(PASSWORD))
            .await;
    let v = json(&out);
    assert_eq!(v["failed_stage"], "login");
    assert_eq!(v["login"]["ok"], false);
    assert_eq!(v["login"]["response_code"], "IN-USE");
    assert!(
        v["login"]["explanation"]
            .as_str()
            .unwrap()
            .contains("another client holds the mailbox lock")
    );
    assert_eq!(v["mailbox"], Value::Null);
}

#[tokio::test(flavor = "multi_thread")]
async fn login_delay_refusal_is_explained() {
    let s = server(Faults {
        reject_login_delay: true,
        ..Default::default()
    })
    .await;
    let out =
        popdoc(Run::new(&["check", "--json", "--plaintext", &url(s.port())]).password(PASSWORD))
            .await;
    assert_eq!(out.status.code(), Some(4));
    let v = json(&out);
    assert_eq!(v["login"]["response_code"], "LOGIN-DELAY");
    let p = &v["problems"][0];
    assert_eq!(p["severity"], "error");
    assert_eq!(p["stage"], "login");
    assert!(p["explanation"].as_str().unwrap().contains("too recently"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stall_names_the_stage_that_timed_out() {
    let s = server(Faults {
        stall_on: Some("STAT".into()),
        ..Default::default()
    })
    .await;
    let out = popdoc(
        Run::new(&[
            "check",
            "--json",
            "--plaintext",
            "--timeout",
            "1",
            &url(s.port()),
        ])
        .password(PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(5));
    let v = json(&out);
    assert_eq!(v["failed_stage"], "stat");
    let e = v["error"].as_str().unwrap();
    assert!(e.contains("did not answer STAT within 1 s"), "{e}");
    // Stages before the stall are still timed.
    assert!(stages(&v).contains(&"login".to_string()));

    let s = server(Faults {
        greeting_delay: Some(Duration::from_secs(5)),
        ..Default::default()
    })
    .await;
    let out = popdoc(
        Run::new(&["check", "--plaintext", "--timeout", "1", &url(s.port())]).password(PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(3));
    let t = text(&out);
    assert!(t.contains("FAILED at greeting (exit status 3)"), "{t}");
}

#[tokio::test(flavor = "multi_thread")]
async fn no_capa_is_noted_but_not_a_failure() {
    let s = server(Faults {
        no_capa: true,
        ..Default::default()
    })
    .await;
    let out =
        popdoc(Run::new(&["check", "--json", "--plaintext", &url(s.port())]).password(PASSWORD))
            .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["server"]["capabilities_before_login"], Value::Null);
    assert_eq!(v["login"]["method"], "USER/PASS");
    let notes: Vec<&str> = v["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    assert!(notes.iter().any(|n| n.contains("no CAPA")), "{notes:?}");
    assert_eq!(v["mailbox"]["messages"], 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_retr_fails_with_exit_6() {
    let s = server(Faults {
        drop_in_retr_after: Some(1000),
        ..Default::default()
    })
    .await;
    let out = popdoc(
        Run::new(&[
            "check",
            "--json",
            "--plaintext",
            "--retr",
            "3",
            &url(s.port()),
        ])
        .password(PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(6));
    let v = json(&out);
    assert_eq!(v["failed_stage"], "retr");
    let e = v["error"].as_str().unwrap();
    assert!(e.contains("closed the connection during RETR 3"), "{e}");
    // The mailbox section from before the failure is kept.
    assert_eq!(v["mailbox"]["messages"], 3);

    let out = popdoc(
        Run::new(&["check", "--plaintext", "--retr", "9", &url(s.port())]).password(PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(6));
    assert!(
        text(&out).contains("there is no message 9"),
        "{}",
        text(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expire_zero_skips_retr_so_nothing_is_deleted() {
    let s = server(Faults {
        expire: Some("0".into()),
        ..Default::default()
    })
    .await;
    let out = popdoc(
        Run::new(&[
            "check",
            "--json",
            "--plaintext",
            "--retr",
            "1",
            &url(s.port()),
        ])
        .password(PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let v = json(&out);
    assert_eq!(v["mailbox"]["retr"], Value::Null);
    assert!(v["problems"].to_string().contains("EXPIRE 0"));
    assert!(s.received().iter().all(|l| !l.starts_with("RETR")));
}

#[tokio::test(flavor = "multi_thread")]
async fn repeat_gives_min_median_max_over_runs() {
    let s = server(Faults::default()).await;
    let out = popdoc(
        Run::new(&[
            "check",
            "--json",
            "--plaintext",
            "--repeat",
            "3",
            "--retr",
            "2",
            &url(s.port()),
        ])
        .password(PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["runs_requested"], 3);
    assert_eq!(v["runs_completed"], 3);
    for t in v["timings"].as_array().unwrap() {
        assert_eq!(t["samples"], 3, "{t}");
        let (min, med, max) = (
            t["min_ms"].as_f64().unwrap(),
            t["median_ms"].as_f64().unwrap(),
            t["max_ms"].as_f64().unwrap(),
        );
        assert!(min <= med && med <= max, "{t}");
    }
    let logins = s
        .received()
        .iter()
        .filter(|l| l.starts_with("AUTH"))
        .count();
    assert_eq!(logins, 3, "one login per run");
    let out = popdoc(
        Run::new(&["check", "--plaintext", "--repeat", "2", &url(s.port())]).password(PASSWORD),
    )
    .await;
    let t = text(&out);
    assert!(t.contains("OK (2 of 2 runs)"), "{t}");
    assert!(t.contains("min / median / max"), "{t}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_password_never_appears_anywhere() {
    let s = server(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let tr = dir.path().join("transcript.txt");
    let trs = tr.to_str().unwrap();
    for (password, code) in [(PASSWORD, 0), ("Wrong-Pass-0815", 4)] {
        for json_flag in [true, false] {
            let mut args = vec!["check", "--plaintext", "--transcript", trs];
            if json_flag {
                args.push("--json");
            }
            let u = url(s.port());
            args.push(&u);
            let out = popdoc(Run::new(&args).password(password)).await;
            assert_eq!(out.status.code(), Some(code));
            let transcript = std::fs::read_to_string(&tr).unwrap();
            assert!(transcript.contains("AUTH PLAIN ***"), "{transcript}");
            for shown in [
                text(&out),
                String::from_utf8_lossy(&out.stderr).into_owned(),
                transcript,
            ] {
                assert!(!shown.contains(password), "password leaked: {shown}");
                // Nor its base64 form inside AUTH PLAIN.
                use base64::Engine;
                let b64 =
                    base64::engine::general_purpose::STANDARD.encode(format!("\0ann\0{password}"));
                assert!(!shown.contains(&b64), "SASL payload leaked: {shown}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn usage_errors_exit_2() {
    let out = popdoc(
        Run::new(&[
            "check",
            "pop3s://a@127.0.0.1:1",
            "--send-test",
            "x@y",
            "--from",
            "a@b",
        ])
        .password(PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--send-test is for SMTP"));
    let out = popdoc(Run::new(&["check", "imap://a@h"]).password(PASSWORD)).await;
    assert_eq!(out.status.code(), Some(2));
    let out =
        popdoc(Run::new(&["check", "smtp://h", "--send-test", "b@example.net"]).password(PASSWORD))
            .await;
    assert_eq!(out.status.code(), Some(2), "--send-test needs --from");
    let out = popdoc(
        Run::new(&["check", "smtp://h", "--send-test", "b c@x", "--from", "a@b"])
            .password(PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an e-mail address"));
    let out = popdoc(Run::new(&["check", "smtp://h", "--retr", "1"]).password(PASSWORD)).await;
    assert_eq!(out.status.code(), Some(2));
    let out = popdoc(Run::new(&["check", "--repeat", "0", "pop3s://a@h"]).password(PASSWORD)).await;
    assert_eq!(out.status.code(), Some(2));
    // Nothing listens on port 1: a connection failure, exit 3.
    let out =
        popdoc(Run::new(&["check", "--json", "pop3s://a@127.0.0.1:1"]).password(PASSWORD)).await;
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(json(&out)["failed_stage"], "tcp");
}

/// A POP3 server that answers from a script; its UIDLs break RFC 1939.
async fn scripted_peer() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (r, mut w) = s.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"+OK scripted\r\n").await.unwrap();
        let long = "L".repeat(71);
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
            let reply = match verb.as_str() {
                "CAPA" => "+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n".to_string(),
                "USER" | "PASS" => "+OK\r\n".into(),
                "STAT" => "+OK 4 400\r\n".into(),
                "LIST" => "+OK\r\n1 100\r\n2 100\r\n3 100\r\n4 100\r\n.\r\n".into(),
                "UIDL" => format!("+OK\r\n1 same\r\n2 same\r\n3 {long}\r\n4 bad\x7fone\r\n.\r\n"),
                "TOP" => "+OK\r\nSubject: x\r\n\r\n.\r\n".into(),
                "QUIT" => {
                    w.write_all(b"+OK bye\r\n").await.unwrap();
                    break;
                }
                _ => "-ERR unknown\r\n".into(),
            };
            w.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn uidl_problems_are_reported() {
    let port = scripted_peer().await;
    let out =
        popdoc(Run::new(&["check", "--json", "--plaintext", &url(port)]).password(PASSWORD)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    let u = &v["mailbox"]["uidl"];
    assert_eq!(
        u["duplicates"],
        serde_json::json!([{"uidl": "same", "messages": [1, 2]}])
    );
    assert_eq!(u["too_long"], serde_json::json!([3]));
    assert_eq!(u["bad_characters"], serde_json::json!([4]));
    let problems = v["problems"].to_string();
    assert!(
        problems.contains("messages 1, 2 share the UIDL same"),
        "{problems}"
    );
    assert!(problems.contains("longer than 70"), "{problems}");
}

#[tokio::test(flavor = "multi_thread")]
async fn report_from_an_open_session_sends_nothing() {
    let pki = certs::pki();
    let s = server_with(ServerConfig {
        user: "ann".into(),
        password: PASSWORD.into(),
        tls: Some(pki.server_config()),
        implicit_tls: true,
        ..Default::default()
    })
    .await;
    let endpoint = Endpoint {
        host: "127.0.0.1".into(),
        port: s.port(),
        security: Security::Implicit,
        cert: CertCheck::Pin(
            popdoc::client::transport::parse_fingerprint(&pki.fingerprint).unwrap(),
        ),
        connect_timeout: Duration::from_secs(5),
    };
    let mut conn = Connection::open(endpoint, Duration::from_secs(5), &mut |_, _| {})
        .await
        .unwrap();
    let creds = Credentials {
        user: "ann".into(),
        secret: PASSWORD.into(),
        token: false,
    };
    conn.login(&creds, LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap();
    let listing = conn.listing().await.unwrap();
    conn.top_many(&[1, 2, 3], 0, 64 * 1024, &mut |_, _| {})
        .await
        .unwrap();
    let mut file = tokio::io::sink();
    conn.retr_to(2, &mut file, &mut |_| {}, None).await.unwrap();
    let before = s.received().len();

    let args = popdoc::cli::ConnArgs::default();
    let account = args
        .account(&format!("pop3s://ann@127.0.0.1:{}", s.port()))
        .unwrap();
    let report = popdoc::report::report_from_session(&conn, &listing, &account);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        s.received().len(),
        before,
        "the report must not send anything"
    );

    assert_eq!(report.source, popdoc::report::Source::Session);
    assert!(report.ok);
    let tls = report.tls.as_ref().unwrap();
    assert!(tls.verified);
    assert_eq!(tls.verified_by.as_deref(), Some("pinned fingerprint"));
    assert_eq!(tls.sha256.as_deref(), Some(pki.fingerprint.as_str()));
    let c = tls.certificate.as_ref().unwrap();
    assert_eq!(c.subject, "CN=localhost");
    assert_eq!(c.issuer, "CN=popdoc test CA");
    assert_eq!(c.names, vec!["localhost", "127.0.0.1"]);
    assert_eq!(
        report.login.as_ref().unwrap().method.as_deref(),
        Some("SASL PLAIN")
    );
    let m = report.mailbox.as_ref().unwrap();
    assert_eq!(m.messages, 3);
    assert_eq!(m.largest[0].number, 3);
    let top = report
        .timings
        .iter()
        .find(|t| t.stage == Step::Top)
        .unwrap();
    assert_eq!(top.samples, 3, "every TOP of the session");
    assert!(
        report
            .timings
            .iter()
            .any(|t| t.stage == Step::RetrFirstByte)
    );
    assert!(report.timings.iter().any(|t| t.stage == Step::Tls));
    let text = popdoc::report::render_text(&report, None);
    assert!(text.contains("Source"), "{text}");
    assert!(text.contains("CN=popdoc test CA"), "{text}");
    assert!(!text.contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_from_the_config_file() {
    let s = server(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("popdoc.toml");
    std::fs::write(
        &cfg,
        format!(
            "[accounts.shop]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"ann\"\ntls = \"plaintext\"\npassword-env = \"CHECK_TEST_PW\"\n",
            s.port()
        ),
    )
    .unwrap();
    let out = popdoc(
        Run::new(&["check", "--json", "--config", cfg.to_str().unwrap(), "shop"])
            .env("CHECK_TEST_PW", PASSWORD),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["target"], "shop");
    assert_eq!(v["connection"]["user"], "ann");
    assert_eq!(v["mailbox"]["messages"], 3);

    let out =
        popdoc(Run::new(&["check", "--config", cfg.to_str().unwrap(), "nope"]).password(PASSWORD))
            .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account \"nope\""));
}

/// Without a password there is nothing to log in with: one verdict, before
/// any connection, and no "none found" beside it.
#[tokio::test(flavor = "multi_thread")]
async fn no_password_is_one_coherent_failure() {
    // No password anywhere and no terminal to ask on; nothing listens on
    // port 1, and the check must not even try.
    let out = popdoc(Run::new(&[
        "check",
        "--plaintext",
        "pop3://ann@127.0.0.1:1",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(4));
    let t = text(&out);
    assert!(
        t.contains("FAILED before connecting (exit status 4)"),
        "{t}"
    );
    assert!(!t.contains("none found"), "{t}");
    assert!(!t.contains("could not connect"), "{t}");
    let problems = &t[t.find("\nProblems\n").unwrap()..];
    assert!(problems.contains("- ERROR (login): "), "{t}");
    assert!(
        problems.contains("popdoc did not connect to the server."),
        "{t}"
    );
}

/// A server whose RETR delivers far fewer bytes than LIST says (Courier
/// without UTF8 lists the real size and sends a placeholder): a warning,
/// not a note that sizes often differ by a line break.
async fn lying_list_peer() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (r, mut w) = s.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"+OK ready\r\n").await.unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
            let reply = match verb.as_str() {
                "CAPA" => "+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n",
                "USER" | "PASS" => "+OK\r\n",
                "STAT" => "+OK 1 5000\r\n",
                "LIST" => "+OK\r\n1 5000\r\n.\r\n",
                "UIDL" => "+OK\r\n1 a1\r\n.\r\n",
                "TOP" => "+OK\r\nSubject: x\r\n\r\n.\r\n",
                "RETR" => "+OK\r\nSubject: placeholder\r\n\r\nshort\r\n.\r\n",
                "QUIT" => {
                    w.write_all(b"+OK bye\r\n").await.unwrap();
                    break;
                }
                _ => "-ERR unknown\r\n",
            };
            w.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retr_size_that_differs_from_list_is_a_problem() {
    let port = lying_list_peer().await;
    let out = popdoc(
        Run::new(&[
            "check",
            "--plaintext",
            "--retr",
            "1",
            &format!("pop3://ann@127.0.0.1:{port}"),
        ])
        .password(PASSWORD),
    )
    .await;
    let t = text(&out);
    // The words, whatever the wrapping.
    let problems = t[t.find("\nProblems\n").unwrap()..]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        problems.contains(
            "- WARNING (RETR whole): LIST said message 1 has 5000 bytes; RETR delivered 31."
        ),
        "{t}"
    );
    assert!(problems.contains("placeholder"), "{t}");
    assert!(t.contains("NONE (plaintext, chosen by --plaintext)"), "{t}");
    // Piped output is not wrapped: the sentence is one line.
    assert!(
        t.lines().any(|l| l.contains(
            "RETR delivered 31. The server rewrote or replaced the message it delivers (some servers"
        )),
        "{t}"
    );
}

/// The demo's report says what chose the plain connection: the built-in
/// demo server, not a --plaintext nobody passed.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_report_names_what_chose_plaintext() {
    let (server, account, _dir) = popdoc::cmd::demo::start(false, None).await.unwrap();
    let mut conn = Connection::open(account.endpoint(), Duration::from_secs(5), &mut |_, _| {})
        .await
        .unwrap();
    let creds = Credentials {
        user: account.user.clone(),
        secret: "demo".into(),
        token: false,
    };
    conn.login(&creds, LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap();
    let listing = conn.listing().await.unwrap();
    let report = popdoc::report::report_from_session(&conn, &listing, &account);
    let t = popdoc::report::render_text(&report, None);
    assert!(
        t.contains("NONE (plaintext, chosen by the built-in demo server"),
        "{t}"
    );
    assert!(!t.contains("--plaintext"), "{t}");
    drop(conn);
    server.shutdown().await;
}
