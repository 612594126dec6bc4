//! Round trips from the greeting to the listing, counted by the built-in
//! server (`Server::flights`: the commands the client sent without
//! waiting): with PIPELINING, USER and PASS go together and the CAPA after
//! login goes with LIST and UIDL; without it, one command at a time. A
//! pipelined USER/PASS gives the same errors as one at a time. TLS
//! sessions are resumed on the next connection. Only tests.

use super::{PASSWORD, config, creds, endpoint, messages, open, server};
use crate::support::certs;

use popdoc::client::transport::parse_fingerprint;
use popdoc::client::{CertCheck, Credentials, Endpoint, LoginMethod, Security, Stage};
use popdoc::demo::{Faults, Mailbox, Server, ServerConfig};

fn no_pipelining() -> Faults {
    Faults {
        no_pipelining: true,
        ..Default::default()
    }
}

/// Logs in with `authenticate`, lists, and returns the server's flights.
async fn flights_to_listing(s: &Server, method: LoginMethod) -> Vec<Vec<String>> {
    let mut c = open(endpoint(s.port(), Security::Plaintext)).await.unwrap();
    c.authenticate(&creds(), method, &mut |_, _| {})
        .await
        .unwrap();
    let listing = c.listing().await.unwrap();
    assert_eq!(listing.len(), 3);
    assert!(listing.iter().all(|l| l.uidl.is_some()));
    // The CAPA after login was asked and is in force.
    let caps = c.caps.as_ref().expect("CAPA after login");
    assert!(caps.raw.iter().any(|l| l.starts_with("IMPLEMENTATION")));
    assert!(c.stages.iter().any(|(s, _)| *s == Stage::CapaAfterLogin));
    let transcript = c.log.render();
    assert!(!transcript.contains(PASSWORD), "{transcript}");
    c.shutdown().await;
    s.flights()
}

fn lines(flights: &[&[&str]]) -> Vec<Vec<String>> {
    flights
        .iter()
        .map(|f| f.iter().map(|l| l.to_string()).collect())
        .collect()
}

#[tokio::test]
async fn with_pipelining_login_and_listing_take_three_flights() {
    let s = server(Faults::default()).await;
    assert_eq!(
        flights_to_listing(&s, LoginMethod::UserPass).await,
        lines(&[
            &["CAPA"],
            &["USER ann", "PASS ***"],
            &["CAPA", "LIST", "UIDL"]
        ])
    );
    let s = server(Faults::default()).await;
    assert_eq!(
        flights_to_listing(&s, LoginMethod::Auto).await,
        lines(&[&["CAPA"], &["AUTH PLAIN ***"], &["CAPA", "LIST", "UIDL"]])
    );
}

#[tokio::test]
async fn without_pipelining_every_command_waits_for_its_answer() {
    let s = server(no_pipelining()).await;
    assert_eq!(
        flights_to_listing(&s, LoginMethod::UserPass).await,
        lines(&[
            &["CAPA"],
            &["USER ann"],
            &["PASS ***"],
            &["CAPA"],
            &["LIST"],
            &["UIDL"]
        ])
    );
}

#[tokio::test]
async fn utf8_goes_in_the_login_flight() {
    let s = server(Faults {
        utf8_placeholder: true,
        ..Default::default()
    })
    .await;
    let flights = flights_to_listing(&s, LoginMethod::UserPass).await;
    assert_eq!(flights[1], ["UTF8", "USER ann", "PASS ***"]);
}

#[tokio::test]
async fn a_pipelined_login_fails_with_the_same_sentences() {
    let mut seen = Vec::new();
    for faults in [Faults::default(), no_pipelining()] {
        let pipelined = !faults.no_pipelining;
        // A wrong password: the server's answer to PASS.
        let s = server(faults.clone()).await;
        let mut c = open(endpoint(s.port(), Security::Plaintext)).await.unwrap();
        let bad = Credentials {
            secret: "wrong-Pa55".into(),
            ..creds()
        };
        let wrong_password = c
            .authenticate(&bad, LoginMethod::UserPass, &mut |_, _| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(!c.log.render().contains("wrong-Pa55"));
        // USER refused: its answer, not the PASS that followed it.
        let s2 = crate::support::demo::start_with(
            ServerConfig {
                user_pass: false,
                ..config(faults)
            },
            Mailbox::from_messages(messages()),
        )
        .await;
        let mut c = open(endpoint(s2.port(), Security::Plaintext))
            .await
            .unwrap();
        let user_refused = c
            .authenticate(&creds(), LoginMethod::UserPass, &mut |_, _| {})
            .await
            .unwrap_err()
            .to_string();
        assert!(!c.log.render().contains(PASSWORD));
        let received = format!("{:?}{:?}", s.received(), s2.received());
        assert!(!received.contains(PASSWORD) && !received.contains("wrong-Pa55"));
        // Pipelined, PASS went with USER; one at a time, it was not sent.
        let login_flight = if pipelined {
            vec!["USER ann", "PASS ***"]
        } else {
            vec!["USER ann"]
        };
        assert_eq!(s2.flights(), [vec!["CAPA"], login_flight]);
        seen.push((wrong_password, user_refused));
    }
    assert_eq!(seen[0], seen[1], "the same sentences with and without");
    let (wrong_password, user_refused) = &seen[0];
    assert!(
        wrong_password.starts_with("login failed: -ERR [AUTH] authentication failed"),
        "{wrong_password}"
    );
    assert_eq!(
        user_refused,
        "login failed: -ERR USER is not allowed here; use AUTH"
    );
}

#[tokio::test]
async fn the_next_tls_connection_resumes_the_session() {
    let pki = certs::pki();
    let s = crate::support::demo::start_with(
        ServerConfig {
            tls: Some(pki.server_config()),
            implicit_tls: true,
            ..config(Faults::default())
        },
        Mailbox::from_messages(messages()),
    )
    .await;
    let ep = Endpoint {
        cert: CertCheck::Pin(parse_fingerprint(&pki.fingerprint).unwrap()),
        ..endpoint(s.port(), Security::Implicit)
    };
    let mut resumed = Vec::new();
    for _ in 0..3 {
        let mut c = open(ep.clone()).await.unwrap();
        c.login(&creds(), LoginMethod::Auto, &mut |_, _| {})
            .await
            .unwrap();
        let tls = c.tls.clone().unwrap();
        assert_eq!(tls.fingerprint().unwrap(), pki.fingerprint);
        let transcript = c.log.render();
        assert_eq!(
            transcript.contains("TLS session resumed"),
            tls.resumed,
            "{transcript}"
        );
        resumed.push(tls.resumed);
        c.quit().await.unwrap();
    }
    assert_eq!(resumed, [false, true, true]);
    // Another check of the same server never takes over that session.
    let other = Endpoint {
        cert: CertCheck::NoVerify,
        ..ep
    };
    let c = open(other).await.unwrap();
    assert!(!c.tls.as_ref().unwrap().resumed);
}
