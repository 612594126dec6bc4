//! The engine against a real Dovecot started by the harness: login over
//! STLS and POP3S, CAPA, LIST/UIDL/TOP/STAT on a generated mailbox, RETR
//! byte-exact, DELE/QUIT/RSET semantics, errors, certificates.

use std::time::Duration;

use crate::support::dovecot::{Dovecot, User};
use crate::support::mailgen;
use popdoc::client::transport::parse_fingerprint;
use popdoc::client::{CertCheck, Connection, Credentials, Endpoint, Error, LoginMethod, Security};
use popdoc::mail::summarize;
use popdoc::pop3::sasl::Mechanism;

fn endpoint(d: &Dovecot, security: Security, cert: CertCheck) -> Endpoint {
    let port = match security {
        Security::Implicit => d.pop3s_port(),
        _ => d.plain_port(),
    };
    Endpoint {
        host: "127.0.0.1".into(),
        port,
        security,
        cert,
        connect_timeout: Duration::from_secs(10),
    }
}

fn ca(d: &Dovecot) -> CertCheck {
    CertCheck::ExtraCa(d.ca_file().to_path_buf())
}

fn creds(u: &User) -> Credentials {
    Credentials {
        user: u.name.clone(),
        secret: u.password.clone().into(),
        token: false,
    }
}

async fn session(d: &Dovecot, u: &User, security: Security, method: LoginMethod) -> Connection {
    let mut c = Connection::open(
        endpoint(d, security, ca(d)),
        Duration::from_secs(30),
        &mut |_, _| {},
    )
    .await
    .unwrap_or_else(|e| panic!("open: {e}\n{}", d.log()));
    c.login(&creds(u), method, &mut |_, _| {})
        .await
        .unwrap_or_else(|e| panic!("login: {e}\n{}", d.log()));
    c
}

#[tokio::test]
async fn logins_over_stls_and_pop3s_with_capa_before_and_after() {
    let Some(d) = Dovecot::start() else { return };
    let u = d.add_user("ann", "ann-Pass-1");
    u.store(&[b"Subject: x\r\n\r\nbody\r\n".to_vec()]);
    for security in [Security::StartTls, Security::Implicit] {
        for (method, used) in [
            (LoginMethod::UserPass, "USER/PASS"),
            (LoginMethod::Sasl(Mechanism::Plain), "SASL PLAIN"),
            (LoginMethod::Auto, "SASL PLAIN"),
        ] {
            let mut c = session(&d, &u, security, method).await;
            assert!(c.is_encrypted());
            assert_eq!(c.method.as_deref(), Some(used));
            let before = c.caps_before.as_ref().unwrap();
            assert!(before.has_sasl("PLAIN") && before.user, "{before:?}");
            assert!(!before.stls, "STLS is not offered again after TLS");
            let after = c.caps.as_ref().unwrap();
            assert!(after.top && after.uidl && after.pipelining, "{after:?}");
            assert_eq!(c.stat().await.unwrap(), (1, 20));
            let log = c.log.render();
            assert!(!log.contains("ann-Pass-1"), "{log}");
            if security == Security::StartTls {
                assert!(log.contains("C: STLS"), "{log}");
            }
            c.quit().await.unwrap();
        }
    }
}

#[tokio::test]
async fn listing_headers_and_retr_on_a_generated_mailbox() {
    let Some(d) = Dovecot::start() else { return };
    let u = d.add_user("bob", "bob-Pass-2");
    let msgs = mailgen::mailbox(600, 7);
    let bytes: Vec<Vec<u8>> = msgs.iter().map(|m| m.bytes.clone()).collect();
    u.store(&bytes);
    let mut c = session(&d, &u, Security::Implicit, LoginMethod::Auto).await;
    let total: u64 = bytes.iter().map(|b| b.len() as u64).sum();
    assert_eq!(c.stat().await.unwrap(), (600, total));
    let listing = c.listing().await.unwrap();
    assert_eq!(listing.len(), 600);
    let mut uidls = std::collections::HashSet::new();
    for (l, m) in listing.iter().zip(&msgs) {
        assert_eq!(
            l.size,
            m.bytes.len() as u64,
            "LIST size of {} ({})",
            l.number,
            m.kind
        );
        assert!(uidls.insert(l.uidl.clone().unwrap()), "UIDLs are unique");
    }
    let numbers: Vec<u32> = (1..=600).collect();
    let mut seen = 0;
    c.top_many(&numbers, 0, 1 << 20, &mut |n, r| {
        let m = &msgs[n as usize - 1];
        let s = summarize(&r.unwrap());
        assert_eq!(
            Some(s.subject.clone()).filter(|s| !s.is_empty()),
            m.subject,
            "subject of {n} ({})",
            m.kind
        );
        assert_eq!(
            Some(s.from.clone()).filter(|s| !s.is_empty()),
            m.from,
            "from of {n} ({})",
            m.kind
        );
        assert_eq!(s.date, m.date, "date of {n} ({})", m.kind);
        assert_eq!(s.message_id.as_deref(), Some(m.message_id.as_str()));
        seen += 1;
    })
    .await
    .unwrap();
    assert_eq!(seen, 600);
    let pipelined = c
        .log
        .timings()
        .filter(|t| t.command.starts_with("TOP"))
        .count();
    assert_eq!(pipelined, 600);
    // RETR of every kind, byte-exact against the stored file.
    let files = u.message_files();
    for n in 1..=mailgen::KINDS.len() as u32 * 2 {
        let mut out = Vec::new();
        c.retr_to(n, &mut out, &mut |_| {}, None).await.unwrap();
        let stored = std::fs::read(&files[n as usize - 1]).unwrap();
        assert_eq!(out, stored, "RETR {n} ({})", msgs[n as usize - 1].kind);
    }
    c.quit().await.unwrap();
}

#[tokio::test]
async fn dele_quit_removes_files_drop_and_rset_do_not() {
    let Some(d) = Dovecot::start() else { return };
    let u = d.add_user("cat", "cat-Pass-3");
    let msgs: Vec<Vec<u8>> = mailgen::mailbox(5, 3)
        .into_iter()
        .map(|m| m.bytes)
        .collect();
    u.store(&msgs);
    let files = u.message_files();

    // DELE then a dropped connection: nothing is deleted.
    let mut c = session(&d, &u, Security::Implicit, LoginMethod::Auto).await;
    c.dele(1).await.unwrap();
    c.dele(2).await.unwrap();
    c.shutdown().await;
    drop(c);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        u.message_files().len(),
        5,
        "a dropped session deletes nothing"
    );

    // DELE, RSET, QUIT: nothing is deleted.
    let mut c = session(&d, &u, Security::Implicit, LoginMethod::Auto).await;
    c.dele(3).await.unwrap();
    c.rset().await.unwrap();
    c.quit().await.unwrap();
    assert_eq!(u.message_files().len(), 5, "RSET unmarks");

    // DELE, QUIT: exactly those are gone.
    let mut c = session(&d, &u, Security::Implicit, LoginMethod::Auto).await;
    c.dele(2).await.unwrap();
    c.dele(4).await.unwrap();
    let e = c.dele(4).await.unwrap_err();
    assert!(matches!(e, Error::Refused { .. }), "{e}");
    let status = c.quit().await.unwrap();
    assert!(status.ok, "{status}");
    let left = u.message_files();
    assert_eq!(left.len(), 3);
    let names = |v: &[std::path::PathBuf]| -> Vec<String> {
        v.iter()
            .map(|p| {
                p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .split(':')
                    .next()
                    .unwrap()
                    .to_string()
            })
            .collect()
    };
    let want: Vec<std::path::PathBuf> = [0, 2, 4].iter().map(|&i| files[i].clone()).collect();
    assert_eq!(names(&left), names(&want));
}

#[tokio::test]
async fn certificates_are_refused_unless_pinned_or_ca_given() {
    let Some(d) = Dovecot::start() else { return };
    for security in [Security::Implicit, Security::StartTls] {
        let e = Connection::open(
            endpoint(&d, security, CertCheck::System),
            Duration::from_secs(10),
            &mut |_, _| {},
        )
        .await
        .err()
        .expect("the private CA is not trusted by the system");
        let msg = e.to_string();
        assert!(msg.contains("not issued by a trusted authority"), "{msg}");
        assert!(
            msg.contains(&d.fingerprint()),
            "the error shows the fingerprint to check: {msg}"
        );
        let pin = CertCheck::Pin(parse_fingerprint(&d.fingerprint()).unwrap());
        let c = Connection::open(
            endpoint(&d, security, pin),
            Duration::from_secs(10),
            &mut |_, _| {},
        )
        .await
        .unwrap();
        assert_eq!(
            c.tls.as_ref().unwrap().fingerprint().unwrap(),
            d.fingerprint()
        );
        let c = Connection::open(
            endpoint(&d, security, ca(&d)),
            Duration::from_secs(10),
            &mut |_, _| {},
        )
        .await
        .unwrap();
        assert!(c.tls.as_ref().unwrap().version.starts_with("TLS 1."));
    }
}

#[tokio::test]
async fn wrong_password_shows_the_servers_err() {
    let Some(d) = Dovecot::start() else { return };
    let u = d.add_user("dan", "dan-Pass-4");
    let mut c = Connection::open(
        endpoint(&d, Security::Implicit, ca(&d)),
        Duration::from_secs(30),
        &mut |_, _| {},
    )
    .await
    .unwrap();
    let bad = Credentials {
        secret: "not-the-password".into(),
        ..creds(&u)
    };
    let e = c
        .login(&bad, LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "login failed: -ERR [AUTH] Authentication failed. — the user name or password (or token) was not accepted"
    );
    assert!(!c.log.render().contains("not-the-password"));
}
