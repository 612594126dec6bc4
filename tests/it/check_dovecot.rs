//! `popdoc check` (the real binary) against a private Dovecot: POP3S with
//! its CA, STLS with a pinned certificate, a wrong password, an unknown
//! certificate, `--retr` and `--repeat`.

use crate::support::cli::{Run, popdoc};
use crate::support::report::{json, text};

use crate::support::dovecot::Dovecot;
use crate::support::mailgen;
use serde_json::Value;

fn stage_rows(v: &Value) -> Vec<(String, u64)> {
    v["timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["stage"].as_str().unwrap().to_string(),
                t["samples"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn pop3s_with_retr_and_repeat() {
    let Some(d) = Dovecot::start() else { return };
    let user = d.add_user("carol", "dove-Pass-31");
    let msgs = mailgen::mailbox(6, 7);
    let stored: Vec<&[u8]> = msgs.iter().map(|m| m.bytes.as_slice()).collect();
    user.store(&stored);
    // Message 7: big enough for a throughput figure.
    const BIG: u64 = 4_000_000;
    user.store_with(|w| mailgen::write_big_message(w, BIG, 3).map(|_| ()));
    let url = format!("pop3s://carol@127.0.0.1:{}", d.pop3s_port());
    let ca = d.ca_file().to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let tr = dir.path().join("t.txt");
    let out = popdoc(
        Run::new(&[
            "check",
            "--json",
            "--ca-file",
            &ca,
            "--retr",
            "2",
            "--repeat",
            "3",
            "--transcript",
            tr.to_str().unwrap(),
            &url,
        ])
        .password("dove-Pass-31"),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["runs_completed"], 3);
    assert_eq!(v["connection"]["security"], "tls");
    let tls = &v["tls"];
    assert_eq!(tls["verified"], true);
    assert!(tls["verified_by"].as_str().unwrap().starts_with("CA file "));
    assert!(tls["version"].as_str().unwrap().starts_with("TLS 1."));
    assert!(!tls["cipher"].as_str().unwrap().is_empty());
    assert_eq!(tls["sha256"], d.fingerprint());
    assert_eq!(tls["certificate"]["subject"], "CN=localhost");
    assert_eq!(tls["certificate"]["issuer"], "CN=popdoc test CA");
    assert_eq!(
        tls["certificate"]["names"],
        serde_json::json!(["localhost", "127.0.0.1"])
    );
    assert!(tls["certificate"]["days_left"].as_i64().unwrap() > 30);
    assert!(
        v["server"]["greeting"]
            .as_str()
            .unwrap()
            .starts_with("+OK Dovecot ready")
    );
    let after = v["server"]["capabilities_after_login"].to_string();
    assert!(
        after.contains("UIDL") && after.contains("PIPELINING"),
        "{after}"
    );
    assert_eq!(v["login"]["method"], "SASL PLAIN");
    let m = &v["mailbox"];
    assert_eq!(m["messages"], 7);
    assert_eq!(m["listed_messages"], 7);
    assert_eq!(m["uidl"]["checked"], 7);
    assert_eq!(m["uidl"]["duplicates"], serde_json::json!([]));
    assert_eq!(m["largest"][0]["number"], 7);
    assert_eq!(m["largest"][0]["size"], BIG);
    let biggest = msgs.iter().map(|m| m.bytes.len()).max().unwrap();
    assert_eq!(m["largest"][1]["size"], biggest);
    assert_eq!(m["retr"]["message"], 2);
    assert_eq!(m["retr"]["bytes_received"], msgs[1].bytes.len());
    assert_eq!(m["retr"]["size_matches"], true);
    for (stage, samples) in stage_rows(&v) {
        assert_eq!(samples, 3, "{stage}");
    }
    let stages: Vec<String> = stage_rows(&v).into_iter().map(|(s, _)| s).collect();
    for want in [
        "dns", "tcp", "tls", "greeting", "login", "stat", "list", "uidl", "top", "retr",
    ] {
        assert!(stages.contains(&want.to_string()), "{want}: {stages:?}");
    }
    let transcript = std::fs::read_to_string(&tr).unwrap();
    assert_eq!(transcript.matches("# run ").count(), 3);
    assert!(transcript.contains("C: RETR 2"), "{transcript}");
    assert!(!transcript.contains("dove-Pass-31"));
    // Every message is still there.
    assert_eq!(user.message_files().len(), 7);

    let out = popdoc(
        Run::new(&[
            "check",
            "--ca-file",
            &ca,
            "--retr",
            "7",
            "--repeat",
            "3",
            &url,
        ])
        .password("dove-Pass-31"),
    )
    .await;
    assert_eq!(out.status.code(), Some(0));
    let t = text(&out);
    assert!(t.contains("CN=popdoc test CA"), "{t}");
    assert!(
        t.contains("4000000 bytes received, LIST said 4000000: sizes match"),
        "{t}"
    );
    assert!(t.contains("MB/s (median)"), "{t}");
    assert!(t.contains("OK (3 of 3 runs)"), "{t}");
    // The sample report in docs/ comes from this run.
    println!("{t}");
}

#[tokio::test(flavor = "multi_thread")]
async fn stls_with_a_pinned_certificate() {
    let Some(d) = Dovecot::start() else { return };
    let user = d.add_user("dave", "pin-Pass-77");
    user.store(&[b"Subject: a\r\n\r\nhello\r\n".as_slice()]);
    let url = format!("pop3://dave@127.0.0.1:{}", d.plain_port());
    let fp = d.fingerprint();
    let out =
        popdoc(Run::new(&["check", "--json", "--fingerprint", &fp, &url]).password("pin-Pass-77"))
            .await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["connection"]["security"], "starttls");
    assert_eq!(v["tls"]["verified_by"], "pinned fingerprint");
    assert_eq!(v["tls"]["sha256"], fp);
    let stages: Vec<String> = stage_rows(&v).into_iter().map(|(s, _)| s).collect();
    assert!(stages.contains(&"stls".to_string()), "{stages:?}");
    assert!(stages.contains(&"tls".to_string()), "{stages:?}");
    // The CAPA shown is the one after STLS, which offers no STLS again.
    let before = v["server"]["capabilities_before_login"].to_string();
    assert!(!before.contains("STLS"), "{before}");
    assert_eq!(v["mailbox"]["messages"], 1);

    let out =
        popdoc(Run::new(&["check", "--fingerprint", &fp, &url]).password("pin-Pass-77")).await;
    let t = text(&out);
    assert!(t.contains("STLS (plain connection, then TLS)"), "{t}");
    assert!(t.contains("yes (pinned fingerprint)"), "{t}");
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_fails_at_login_with_auth_explained() {
    let Some(d) = Dovecot::start() else { return };
    d.add_user("erin", "right-Pass-1");
    let url = format!("pop3s://erin@127.0.0.1:{}", d.pop3s_port());
    let ca = d.ca_file().to_str().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let tr = dir.path().join("t.txt");
    let out = popdoc(
        Run::new(&[
            "check",
            "--ca-file",
            &ca,
            "--transcript",
            tr.to_str().unwrap(),
            &url,
        ])
        .password("wrong-Pass-2"),
    )
    .await;
    assert_eq!(out.status.code(), Some(4));
    let t = text(&out);
    assert!(t.contains("FAILED at login (exit status 4)"), "{t}");
    assert!(t.contains("-ERR [AUTH]"), "{t}");
    assert!(
        t.contains("[AUTH] means: the user name or password (or token) was not accepted"),
        "{t}"
    );
    // What came before the failure is in the report.
    assert!(t.contains("CN=popdoc test CA"), "{t}");
    let transcript = std::fs::read_to_string(&tr).unwrap();
    assert!(transcript.contains("AUTH PLAIN ***"), "{transcript}");
    for shown in [t, transcript] {
        assert!(!shown.contains("wrong-Pass-2"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_certificate_is_described_anyway() {
    let Some(d) = Dovecot::start() else { return };
    d.add_user("fred", "fred-Pass-5");
    let url = format!("pop3s://fred@127.0.0.1:{}", d.pop3s_port());
    let out = popdoc(Run::new(&["check", "--json", &url]).password("fred-Pass-5")).await;
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let v = json(&out);
    assert_eq!(v["failed_stage"], "tls");
    let tls = &v["tls"];
    assert_eq!(tls["verified"], false);
    assert!(
        tls["error"]
            .as_str()
            .unwrap()
            .contains("not issued by a trusted authority"),
        "{tls}"
    );
    assert_eq!(tls["sha256"], d.fingerprint());
    assert_eq!(tls["details_from_unverified_handshake"], true);
    assert_eq!(tls["certificate"]["issuer"], "CN=popdoc test CA");
    assert_eq!(v["login"], Value::Null, "no login was tried");
    assert!(
        !d.log().contains("user=<fred>"),
        "no credentials reached the server"
    );
}
