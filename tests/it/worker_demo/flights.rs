//! Round trips from the TCP connect to the first rows of headers, counted
//! by the built-in server over implicit TLS, and the TLS session resumed
//! when the worker reconnects.

use super::*;
use crate::support::certs;
use popdoc::client::CertCheck;
use popdoc::client::transport::parse_fingerprint;

#[tokio::test]
async fn first_rows_take_six_round_trips_and_a_reconnect_resumes_tls() {
    let pki = certs::pki();
    let s = crate::support::demo::start_with(
        ServerConfig {
            user: "u".into(),
            password: "p".into(),
            tls: Some(pki.server_config()),
            implicit_tls: true,
            ..Default::default()
        },
        Mailbox::from_messages(messages(5)),
    )
    .await;
    let account = Account {
        cert: CertCheck::Pin(parse_fingerprint(&pki.fingerprint).unwrap()),
        ..actor::account(
            "tls",
            s.port(),
            "u",
            "p",
            Security::Implicit,
            Duration::from_secs(5),
        )
    };
    let (tx, mut rx, _task) = spawn(account, "p".into(), false);
    let mut transcript = Vec::new();
    until(&mut rx, "the first headers", |e| match e {
        Event::Headers(h) if !h.is_empty() => Some(()),
        Event::Transcript(lines) => {
            transcript.extend(lines.into_iter().map(|l| l.text));
            None
        }
        Event::Failed(f) => panic!("{f}"),
        _ => None,
    })
    .await;
    let flights = s.flights();
    let first_top = flights
        .iter()
        .position(|f| f.iter().any(|l| l.starts_with("TOP")))
        .expect("a TOP was sent");
    assert_eq!(
        flights[..first_top],
        [
            vec!["CAPA"],
            vec!["AUTH PLAIN ***"],
            vec!["CAPA", "LIST", "UIDL"]
        ],
        "{flights:?}"
    );
    // The TLS handshake (TLS 1.3: one round trip), the greeting, then the
    // command flights up to and including the first TOPs.
    let round_trips = 1 + 1 + first_top + 1;
    assert!(round_trips <= 6, "{round_trips} round trips: {flights:?}");
    assert!(
        !transcript.iter().any(|l| l.contains("TLS session resumed")),
        "{transcript:?}"
    );

    // A reconnect (as after a cancelled save or a commit) resumes.
    tx.send(Request::Connect).await.unwrap();
    let mut again = Vec::new();
    until(&mut rx, "the listing again", |e| match e {
        Event::Listing(_) => Some(()),
        Event::Transcript(lines) => {
            again.extend(lines.into_iter().map(|l| l.text));
            None
        }
        Event::Failed(f) => panic!("{f}"),
        _ => None,
    })
    .await;
    assert!(
        again.iter().any(|l| l.contains("TLS session resumed")),
        "{again:?}"
    );
}
