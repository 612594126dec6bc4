//! Certificate checks: STLS and implicit TLS with a CA file or a pin, and
//! bytes injected after STLS. Only tests and the TLS server they start.

use super::{config, creds, endpoint, messages, open};
use crate::support::certs;

use popdoc::client::transport::parse_fingerprint;
use popdoc::client::{CertCheck, Endpoint, Error, LoginMethod, Security};
use popdoc::demo::{Faults, Mailbox, Server, ServerConfig};

async fn tls_server(pki: &certs::TestPki, implicit: bool, faults: Faults) -> Server {
    crate::support::demo::start_with(
        ServerConfig {
            tls: Some(pki.server_config()),
            implicit_tls: implicit,
            ..config(faults)
        },
        Mailbox::from_messages(messages()),
    )
    .await
}

#[tokio::test]
async fn stls_and_implicit_tls_with_ca_file_or_pin() {
    let pki = certs::pki();
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &pki.ca_pem).unwrap();
    for implicit in [false, true] {
        let s = tls_server(&pki, implicit, Faults::default()).await;
        let security = if implicit {
            Security::Implicit
        } else {
            Security::StartTls
        };
        for check in [
            CertCheck::ExtraCa(ca.clone()),
            CertCheck::Pin(parse_fingerprint(&pki.fingerprint).unwrap()),
        ] {
            let ep = Endpoint {
                cert: check,
                ..endpoint(s.port(), security)
            };
            let mut c = open(ep).await.unwrap();
            assert!(c.is_encrypted());
            assert_eq!(
                c.tls.as_ref().unwrap().fingerprint().unwrap(),
                pki.fingerprint
            );
            if !implicit {
                assert!(
                    c.caps_before.as_ref().unwrap().user,
                    "CAPA again after STLS"
                );
                assert!(!c.caps_before.as_ref().unwrap().stls);
            }
            c.login(&creds(), LoginMethod::Auto, &mut |_, _| {})
                .await
                .unwrap();
            assert_eq!(c.stat().await.unwrap().0, 3);
            c.quit().await.unwrap();
        }
        // The private CA is not in the system roots: refused, with the
        // fingerprint to check and pin.
        let e = open(endpoint(s.port(), security)).await.err().unwrap();
        let msg = e.to_string();
        assert!(msg.contains("not issued by a trusted authority"), "{msg}");
        assert!(msg.contains(&pki.fingerprint), "{msg}");
        // A wrong pin is refused too.
        let ep = Endpoint {
            cert: CertCheck::Pin([7; 32]),
            ..endpoint(s.port(), security)
        };
        let e = open(ep).await.err().unwrap();
        assert!(
            e.to_string()
                .contains("does not match the pinned fingerprint"),
            "{e}"
        );
        // The named opt-out connects.
        let ep = Endpoint {
            cert: CertCheck::NoVerify,
            ..endpoint(s.port(), security)
        };
        let c = open(ep).await.unwrap();
        assert!(c.tls.as_ref().unwrap().verified.contains("NOT VERIFIED"));
    }
}

#[tokio::test]
async fn bytes_injected_after_stls_abort_the_connection() {
    let pki = certs::pki();
    let s = tls_server(
        &pki,
        false,
        Faults {
            stls_inject: true,
            ..Default::default()
        },
    )
    .await;
    let ep = Endpoint {
        cert: CertCheck::NoVerify,
        ..endpoint(s.port(), Security::StartTls)
    };
    let e = open(ep).await.err().unwrap();
    assert!(matches!(e, Error::StlsInjection), "{e}");
}
