//! Faults and their errors: a stalled server, a drop mid-RETR, garbage and
//! huge lines, a cancelled RETR, and connection errors as sentences. Only
//! tests; the set-up lives in `mod.rs`.

use super::{config, endpoint, logged_in, messages, open, server};
use std::time::Duration;

use popdoc::client::{Error, Security};
use popdoc::demo::{Faults, Mailbox};
use tokio_util::sync::CancellationToken;

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
