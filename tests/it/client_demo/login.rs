//! Login against the built-in server: the session basics and what the
//! transcript redacts, USER/PASS, APOP and SASL, refused and delayed
//! logins, OAuth2 tokens, and the refusal of plaintext credentials. Only
//! tests; the set-up lives in `mod.rs`.

use super::{PASSWORD, config, creds, endpoint, messages, open, server};
use std::time::Duration;

use popdoc::client::{Connection, Credentials, Error, LoginMethod, Security};
use popdoc::demo::{Faults, Mailbox, ServerConfig};
use popdoc::pop3::RespCode;
use popdoc::pop3::sasl::Mechanism;

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
