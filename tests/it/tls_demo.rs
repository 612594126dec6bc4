//! TLS failures a user meets first, each a sentence with advice that fits.
//!
//! A server certificate made the usual way for a small server,
//! `openssl req -x509` (which marks it `CA:TRUE`), handed to `--ca-file`:
//! accepted when the file holds exactly that certificate (host name still
//! checked), refused with a sentence otherwise. Needs the `openssl` binary:
//! without it that test says so and passes, except under `CI` or
//! `POPDOC_REQUIRE_DOVECOT=1`, where it fails.
//!
//! `pop3s://` to a plain POP3 port, and a server that agrees to `STLS` and
//! then cannot do TLS (one Courier setup): the check still reports the
//! greeting and CAPA it got.

use crate::support::cli::{Run, popdoc};
use crate::support::demo;
use crate::support::report::text;

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use popdoc::client::{CertCheck, Connection, Endpoint, Error, Security};
use popdoc::demo::{Mailbox, Server, ServerConfig};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A certificate and key made by `openssl req -x509`, in `dir`.
struct OpensslCert {
    cert: PathBuf,
    key: PathBuf,
}

fn required() -> bool {
    std::env::var_os("CI").is_some()
        || std::env::var(crate::support::dovecot::REQUIRE_ENV).as_deref() == Ok("1")
}

/// Runs `openssl req -x509` for `name`, or None (with a note) when the
/// binary is missing and the tests are not required.
fn openssl_cert(dir: &Path, stem: &str, name: &str) -> Option<OpensslCert> {
    let cert = dir.join(format!("{stem}.pem"));
    let key = dir.join(format!("{stem}.key"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "30",
        ])
        .arg("-subj")
        .arg(format!("/CN={name}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{name},IP:127.0.0.1"))
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(OpensslCert { cert, key }),
        Ok(o) => panic!(
            "openssl req -x509 failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ),
        Err(e) if required() => panic!("openssl is required here (CI) but cannot run: {e}"),
        Err(e) => {
            let _ = writeln!(
                std::io::stderr(),
                "note: self-signed certificate tests skipped: openssl cannot run ({e})"
            );
            None
        }
    }
}

async fn pop3s_server(c: &OpensslCert) -> Server {
    let chain = vec![CertificateDer::from_pem_file(&c.cert).unwrap()];
    let key = PrivateKeyDer::from_pem_file(&c.key).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let tls = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .unwrap();
    demo::start_with(
        ServerConfig {
            user: "ann".into(),
            password: "pw".into(),
            tls: Some(Arc::new(tls)),
            implicit_tls: true,
            ..Default::default()
        },
        Mailbox::from_messages(vec![b"Subject: a\r\n\r\nbody\r\n".to_vec()]),
    )
    .await
}

async fn open(host: &str, port: u16, ca_file: &Path) -> Result<Connection, Error> {
    let ep = Endpoint {
        host: host.into(),
        port,
        security: Security::Implicit,
        cert: CertCheck::ExtraCa(ca_file.to_path_buf()),
        connect_timeout: Duration::from_secs(10),
    };
    Connection::open(ep, Duration::from_secs(10), &mut |_, _| {}).await
}

#[tokio::test]
async fn an_openssl_self_signed_certificate_in_the_ca_file_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let Some(own) = openssl_cert(dir.path(), "own", "localhost") else {
        return;
    };
    let text = std::fs::read_to_string(&own.cert).unwrap();
    // What openssl makes, and what rustls alone refuses as a server's own.
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-text", "-in"])
        .arg(&own.cert)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("CA:TRUE"),
        "{text}"
    );
    let s = pop3s_server(&own).await;

    let conn = open("localhost", s.port(), &own.cert).await.unwrap();
    assert!(conn.greeting.ok);
    assert!(
        conn.tls.as_ref().unwrap().verified.starts_with("CA file "),
        "{:?}",
        conn.tls
    );
    drop(conn);
    let conn = open("127.0.0.1", s.port(), &own.cert).await.unwrap();
    drop(conn);

    // A CA file with another self-signed certificate: refused, in words.
    let other = openssl_cert(dir.path(), "other", "localhost").unwrap();
    let e = open("localhost", s.port(), &other.cert)
        .await
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(matches!(e, Error::Tls { .. }), "{msg}");
    assert!(
        msg.contains("contains neither the server's certificate nor the authority that issued it"),
        "{msg}"
    );
    assert!(!msg.contains("Other("), "{msg}");
    assert!(!msg.contains("--ca-file"), "{msg}");

    // The right certificate, the wrong host name: refused, naming both.
    let wrong = "mail.invalid-name.test";
    let ep = Endpoint {
        host: wrong.into(),
        port: s.port(),
        security: Security::Implicit,
        cert: CertCheck::ExtraCa(own.cert.clone()),
        connect_timeout: Duration::from_secs(10),
    };
    // The name does not resolve: connect by address, check the name.
    let e = connect_as(ep).await.err().unwrap();
    let msg = e.to_string();
    assert!(
        msg.contains(&format!(
            "the server's certificate is for localhost, 127.0.0.1, not for {wrong}"
        )),
        "{msg}"
    );
    assert!(!msg.contains("--ca-file"), "{msg}");
    s.shutdown().await;
}

/// The TLS handshake for `ep.host` over a TCP connection to 127.0.0.1.
async fn connect_as(ep: Endpoint) -> Result<(), Error> {
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", ep.port))
        .await
        .unwrap();
    let mut times = Default::default();
    popdoc::client::transport::upgrade(tcp, &ep, &mut times)
        .await
        .map(|_| ())
}

#[tokio::test]
async fn pop3s_to_a_plain_pop3_port_says_so() {
    let s = demo::start_with(
        ServerConfig {
            user: "ann".into(),
            password: "pw".into(),
            ..Default::default()
        },
        Mailbox::from_messages(vec![b"Subject: a\r\n\r\nbody\r\n".to_vec()]),
    )
    .await;
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port: s.port(),
        security: Security::Implicit,
        cert: CertCheck::System,
        connect_timeout: Duration::from_secs(10),
    };
    let e = Connection::open(ep, Duration::from_secs(10), &mut |_, _| {})
        .await
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(
        msg.contains(&format!("port {} speaks plain POP3, not TLS", s.port())),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("Use pop3://127.0.0.1:{}", s.port())),
        "{msg}"
    );
    assert!(msg.contains("port 995"), "{msg}");
    assert!(!msg.contains("InvalidContentType"), "{msg}");
    s.shutdown().await;
}

/// A server that offers STLS, agrees to it, and then answers the TLS
/// handshake with plain text (as one Courier setup did).
async fn broken_stls_server() -> u16 {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                w.write_all(b"+OK Courier-ish ready\r\n").await.unwrap();
                let mut line = String::new();
                while r.read_line(&mut line).await.unwrap_or(0) > 0 {
                    let verb = line.trim().to_ascii_uppercase();
                    line.clear();
                    match verb.as_str() {
                        "CAPA" => w
                            .write_all(b"+OK\r\nSTLS\r\nUSER\r\nIMPLEMENTATION tiny-stls\r\n.\r\n")
                            .await
                            .unwrap(),
                        "STLS" => {
                            w.write_all(b"+OK Begin TLS\r\n").await.unwrap();
                            let mut hello = [0u8; 5];
                            let _ = r.read_exact(&mut hello).await;
                            let _ = w.write_all(b"-ERR TLS not available\r\n").await;
                            return;
                        }
                        _ => w.write_all(b"-ERR unknown\r\n").await.unwrap(),
                    }
                }
            });
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_handshake_after_stls_is_explained_and_the_report_keeps_the_greeting() {
    let port = broken_stls_server().await;
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port,
        security: Security::StartTls,
        cert: CertCheck::System,
        connect_timeout: Duration::from_secs(10),
    };
    let e = Connection::open(ep, Duration::from_secs(10), &mut |_, _| {})
        .await
        .err()
        .unwrap();
    let msg = e.to_string();
    assert!(msg.contains("the TLS handshake after STLS failed"), "{msg}");
    assert!(msg.contains("try pop3s://"), "{msg}");

    let out =
        popdoc(Run::new(&["check", &format!("pop3://ann@127.0.0.1:{port}")]).password("pw")).await;
    assert_eq!(out.status.code(), Some(3));
    let t = text(&out);
    assert!(t.contains("+OK Courier-ish ready"), "{t}");
    assert!(t.contains("IMPLEMENTATION tiny-stls"), "{t}");
    assert!(t.contains("the TLS handshake after STLS failed"), "{t}");
    assert!(t.contains("Certificate"), "{t}");
    assert!(t.contains("none received"), "{t}");
    assert!(!t.contains("Verified"), "{t}");
}
