//! The built-in server over TLS: STLS, implicit TLS, an injected STLS
//! reply, and shutdown. It checks the server only, never popdoc's client.

use super::*;

fn tls_configs() -> (Arc<rustls::ServerConfig>, TlsConnector) {
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let key = pki_types::PrivateKeyDer::Pkcs8(signing_key.serialize_der().into());
    let server = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], key)
        .unwrap();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert.der().clone()).unwrap();
    let client = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    (Arc::new(server), TlsConnector::from(Arc::new(client)))
}

async fn tls_over(connector: &TlsConnector, tcp: TcpStream) -> Pop<TlsStream<TcpStream>> {
    let name = pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    Pop {
        io: BufReader::new(tls),
    }
}

#[tokio::test]
async fn stls_then_login_over_tls() {
    let (server_tls, connector) = tls_configs();
    let server = start(ServerConfig {
        tls: Some(server_tls),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    let caps = capa(&mut p).await;
    assert!(caps.contains(&"STLS".to_string()));
    assert!(
        !caps.iter().any(|c| c == "USER" || c.starts_with("SASL")),
        "no login methods before TLS: {caps:?}"
    );
    assert_eq!(p.cmd("STLS").await, "+OK Begin TLS negotiation\r\n");
    assert!(p.io.buffer().is_empty());
    let mut t = tls_over(&connector, p.io.into_inner()).await;
    let caps = capa(&mut t).await;
    assert!(!caps.contains(&"STLS".to_string()), "{caps:?}");
    assert!(caps.contains(&"USER".to_string()));
    assert!(caps.contains(&"SASL PLAIN".to_string()));
    assert!(t.cmd("STLS").await.starts_with("-ERR"));
    t.login().await;
    assert!(t.cmd("RETR 3").await.starts_with("+OK"));
    assert_eq!(t.body().await, b"Subject: three\r\n\r\nbody\r\n.\r\n");
    assert_eq!(
        server.received(),
        [
            "CAPA",
            "STLS",
            "CAPA",
            "STLS",
            "USER demo",
            "PASS ***",
            "RETR 3"
        ]
    );
}

#[tokio::test]
async fn stls_discards_commands_sent_before_the_handshake() {
    let (server_tls, connector) = tls_configs();
    let server = start(ServerConfig {
        tls: Some(server_tls),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    // An injected command in the same packet as STLS must not run after TLS.
    p.io.get_mut()
        .write_all(b"STLS\r\nUSER evil\r\n")
        .await
        .unwrap();
    assert_eq!(p.line().await, "+OK Begin TLS negotiation\r\n");
    let mut t = tls_over(&connector, p.io.into_inner()).await;
    assert_eq!(t.cmd("PASS demo").await, "-ERR send USER first\r\n");
}

#[tokio::test]
async fn implicit_tls_from_the_first_byte() {
    let (server_tls, connector) = tls_configs();
    let server = start(ServerConfig {
        tls: Some(server_tls),
        implicit_tls: true,
        ..Default::default()
    })
    .await;
    let tcp = TcpStream::connect(server.addr()).await.unwrap();
    let mut t = tls_over(&connector, tcp).await;
    assert_eq!(t.line().await, "+OK popdoc demo server ready\r\n");
    let caps = capa(&mut t).await;
    assert!(!caps.contains(&"STLS".to_string()));
    assert!(caps.contains(&"USER".to_string()));
    assert!(t.cmd("STLS").await.starts_with("-ERR"));
    t.login().await;
    assert_eq!(
        t.cmd("STAT").await,
        format!("+OK 3 {}\r\n", M1.len() + M2.len() + M3.len())
    );
}

#[tokio::test]
async fn fault_stls_inject() {
    let (server_tls, _) = tls_configs();
    let server = start(ServerConfig {
        tls: Some(server_tls),
        faults: Faults {
            stls_inject: true,
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    assert_eq!(p.cmd("STLS").await, "+OK Begin TLS\r\n");
    // The injected line arrived in the same write: it is already buffered.
    assert_eq!(p.io.buffer(), b"+OK injected\r\n");
}

#[tokio::test]
async fn shutdown_ends_sessions_and_deletes_nothing() {
    let mb = mailbox();
    let server = demo::start_with(ServerConfig::default(), mb.clone()).await;
    let mut p = connect(&server).await;
    p.login().await;
    p.cmd("DELE 1").await;
    server.shutdown().await;
    assert!(p.rest().await.is_empty());
    assert_eq!(mb.len(), 3);
    assert!(!mb.is_locked());
}
