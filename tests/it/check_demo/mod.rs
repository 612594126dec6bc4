//! `popdoc check` (the real binary) against the built-in server with
//! faults: text and JSON, refusals explained, stalls, drops, `--repeat`,
//! usage errors. Scripted peers and `report_from_session` are in `peers`.

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

mod peers;
