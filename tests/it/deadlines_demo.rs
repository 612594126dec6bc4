//! Deadlines and caps against the built-in server (issue 10): a trickled
//! reply, an endless header block and a huge header line without an end of
//! line each end with a sentence naming the command, and `popdoc list`
//! goes on with the other messages on a new connection. No timed
//! assertions: short `--timeout`s, and an outer bound only against a hang.

use std::time::Duration;

use crate::support::cli::{Run, popdoc};
use crate::support::demo;

use popdoc::client::{CertCheck, Connection, Credentials, Endpoint, Error, LoginMethod, Security};
use popdoc::demo::{Faults, Mailbox, Server};

const PASSWORD: &str = "dl-Secret-7";
/// Only against a hang: every run here ends in a few seconds.
const OUTER: Duration = Duration::from_secs(60);

fn messages() -> Vec<Vec<u8>> {
    vec![
        b"From: ann@example.org\r\nSubject: first\r\n\r\nbody one\r\n".to_vec(),
        b"From: bob@example.org\r\nSubject: second\r\n\r\nbody two\r\n".to_vec(),
        b"From: cy@example.org\r\nSubject: third\r\n\r\n"
            .iter()
            .copied()
            .chain(std::iter::repeat_n(b'b', 40_000))
            .chain(*b"\r\n")
            .collect(),
    ]
}

async fn server(faults: Faults) -> Server {
    demo::start("ann", PASSWORD, faults, Mailbox::from_messages(messages())).await
}

fn url(s: &Server) -> String {
    format!("pop3://ann@127.0.0.1:{}", s.port())
}

/// `popdoc list --json --timeout 2`, bounded by [`OUTER`].
async fn list(s: &Server) -> serde_json::Value {
    let run = Run::new(&["list", "--json", "--timeout", "2", "--plaintext", &url(s)]);
    let out = tokio::time::timeout(OUTER, popdoc(run.password(PASSWORD)))
        .await
        .expect("popdoc list ended");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Messages 1 and 3 are listed whole around message 2's failure.
fn others_listed(v: &serde_json::Value) {
    let m = &v["messages"];
    assert_eq!(v["count"], 3, "{v}");
    assert_eq!(m[0]["subject"], "first", "{v}");
    assert_eq!(m[2]["subject"], "third", "{v}");
    assert!(m[0]["header_error"].is_null() && m[2]["header_error"].is_null());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trickled_header_block_ends_at_its_deadline_and_the_rest_is_listed() {
    // 2 bytes/s: each byte would restart an idle timeout of 2 s.
    let s = server(Faults {
        trickle_on: Some(("TOP 2".into(), 2)),
        ..Default::default()
    })
    .await;
    let v = list(&s).await;
    others_listed(&v);
    let e = v["messages"][1]["header_error"]
        .as_str()
        .unwrap_or_default();
    assert!(e.starts_with("reply too slow: "), "{v}");
    assert!(
        e.contains("the reply to TOP 2 0 too slowly") && e.contains("in 2 s"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_endless_header_block_ends_at_its_cap_and_the_rest_is_listed() {
    let s = server(Faults {
        flood_on: Some("TOP 2".into()),
        ..Default::default()
    })
    .await;
    let v = list(&s).await;
    others_listed(&v);
    assert_eq!(
        v["messages"][1]["header_error"], "headers too large (over 1.0 MB)",
        "{v}"
    );
}

async fn logged_in(s: &Server, timeout: Duration) -> Connection {
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port: s.port(),
        security: Security::Plaintext,
        cert: CertCheck::System,
        connect_timeout: Duration::from_secs(5),
    };
    let mut c = Connection::open(ep, timeout, &mut |_, _| {}).await.unwrap();
    let creds = Credentials {
        user: "ann".into(),
        secret: PASSWORD.into(),
        token: false,
    };
    c.login(&creds, LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap();
    c
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pipelined_reply_is_not_charged_for_the_replies_before_it() {
    // Each reply comes 300 ms after the one before: ten take 3 s, more
    // than the 2 s timeout, but none takes more than 2 s once it is due.
    let s = server(Faults {
        reply_delay: Some(Duration::from_millis(300)),
        ..Default::default()
    })
    .await;
    let mut c = logged_in(&s, Duration::from_secs(2)).await;
    assert!(c.pipelining());
    let numbers = [1, 2, 3, 1, 2, 3, 1, 2, 3, 1];
    let mut got = Vec::new();
    let limit = popdoc::client::ops::HEADER_LIMIT;
    tokio::time::timeout(
        OUTER,
        c.top_many(&numbers, 0, limit, &mut |n, r| got.push((n, r))),
    )
    .await
    .expect("ended")
    .unwrap();
    assert_eq!(got.len(), 10);
    assert!(got.iter().all(|(_, r)| r.is_ok()), "{got:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_huge_header_line_without_an_end_fails_at_the_cap_not_at_the_timeout() {
    const HUGE: u64 = 10_000_000;
    let s = server(Faults {
        huge_header_on: Some(("TOP 2".into(), HUGE)),
        ..Default::default()
    })
    .await;
    // A timeout far longer than the test's bound: only the cap can end it.
    let mut c = logged_in(&s, Duration::from_secs(600)).await;
    let limit = popdoc::client::ops::HEADER_LIMIT;
    let mut got = Vec::new();
    let r = tokio::time::timeout(
        OUTER,
        c.top_many(&[1, 2, 3], 0, limit, &mut |n, r| got.push((n, r))),
    )
    .await
    .expect("ended at the cap");
    assert!(matches!(r, Err(Error::TooLong { .. })), "{r:?}");
    assert_eq!(got.len(), 2, "message 3 waits for a new connection");
    assert!(got[0].1.is_ok());
    assert!(
        matches!(&got[1].1, Err(Error::TooLong { command, limit: l }) if command == "TOP 2 0" && *l == limit),
        "{:?}",
        got[1].1
    );
    let read = c
        .log
        .timings()
        .find(|t| t.command == "TOP 2 0")
        .map(|t| t.bytes_in)
        .unwrap();
    assert!(
        read >= limit as u64 && read < limit as u64 + 256 * 1024,
        "read {read} bytes for a cap of {limit}"
    );
    assert!(c.broken().is_some(), "out of step: not reused");
    drop(c);
    let sent = s.huge_line_bytes_sent();
    assert!(sent < HUGE, "the server got {sent} of {HUGE} bytes out");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trickled_save_ends_by_the_minimum_rate_and_leaves_no_file() {
    let s = server(Faults {
        retr_bytes_per_sec: Some(200),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("three.eml");
    let run = Run::new(&[
        "save",
        "--timeout",
        "1",
        "--plaintext",
        &url(&s),
        "3",
        "-o",
        file.to_str().unwrap(),
    ]);
    let out = tokio::time::timeout(OUTER, popdoc(run.password(PASSWORD)))
        .await
        .expect("popdoc save ended");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("the server sent RETR 3 too slowly") && err.contains("in the last 1 s"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file, complete or partial"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_slow_but_moving_save_is_never_cut() {
    // 8 000 bytes/s: well above the minimum rate, but the 40 kB message
    // takes several times the 1 s --timeout.
    let s = server(Faults {
        retr_bytes_per_sec: Some(8_000),
        ..Default::default()
    })
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("three.eml");
    let run = Run::new(&[
        "save",
        "--timeout",
        "1",
        "--plaintext",
        &url(&s),
        "3",
        "-o",
        file.to_str().unwrap(),
    ]);
    let out = tokio::time::timeout(OUTER, popdoc(run.password(PASSWORD)))
        .await
        .expect("popdoc save ended");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&file).unwrap(), messages()[2]);
}
