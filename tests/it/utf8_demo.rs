//! Courier's UTF8 quirk (RFC 6856) on the built-in server: until the client
//! sends `UTF8`, every message with 8-bit content is replaced by a "Cannot
//! display Unicode content" placeholder. popdoc sends `UTF8` when it is
//! advertised, says so in the transcript, and sees the real messages.

use crate::support::demo;
use std::time::Duration;

use crate::support::cli::{Run, popdoc};
use popdoc::client::{CertCheck, Connection, Credentials, Endpoint, LoginMethod, Security};
use popdoc::demo::{Faults, Mailbox, Server};

const PASSWORD: &str = "utf8-Secret-9";

fn messages() -> Vec<Vec<u8>> {
    vec![
        "From: Åsa <asa@example.se>\r\nSubject: Smörgåsbord på fredag\r\n\r\nHej då\r\n"
            .as_bytes()
            .to_vec(),
        b"From: plain@example.org\r\nSubject: ascii only\r\n\r\nbody\r\n".to_vec(),
    ]
}

async fn courier() -> Server {
    let faults = Faults {
        utf8_placeholder: true,
        ..Default::default()
    };
    demo::start("ann", PASSWORD, faults, Mailbox::from_messages(messages())).await
}

#[tokio::test]
async fn utf8_is_sent_when_advertised_and_the_real_message_arrives() {
    let s = courier().await;
    let ep = Endpoint {
        host: "127.0.0.1".into(),
        port: s.port(),
        security: Security::Plaintext,
        cert: CertCheck::System,
        connect_timeout: Duration::from_secs(5),
    };
    let mut c = Connection::open(ep, Duration::from_secs(5), &mut |_, _| {})
        .await
        .unwrap();
    assert!(c.caps_before.as_ref().unwrap().utf8);
    let creds = Credentials {
        user: "ann".into(),
        secret: PASSWORD.into(),
        token: false,
    };
    c.login(&creds, LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap();
    let listing = c.listing().await.unwrap();
    assert_eq!(listing[0].size, messages()[0].len() as u64);
    let mut out = Vec::new();
    c.retr_to(1, &mut out, &mut |_| {}, None).await.unwrap();
    assert_eq!(out, messages()[0]);
    let transcript = c.log.render();
    let utf8_at = transcript.find("UTF8\n").expect(&transcript);
    let login_at = transcript
        .find("USER ann")
        .or(transcript.find("AUTH"))
        .unwrap();
    assert!(
        utf8_at < login_at,
        "UTF8 goes before the login:\n{transcript}"
    );
    assert!(transcript.contains("sent UTF8 (RFC 6856)"), "{transcript}");
}

#[tokio::test(flavor = "multi_thread")]
async fn list_shows_the_real_subject_not_the_placeholder() {
    let s = courier().await;
    let url = format!("pop3://ann@127.0.0.1:{}", s.port());
    let out = popdoc(Run::new(&["list", "--json", "--plaintext", &url]).password(PASSWORD)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["messages"][0]["subject"], "Smörgåsbord på fredag");
    assert_eq!(v["messages"][0]["size"], messages()[0].len());
    assert_eq!(v["messages"][1]["subject"], "ascii only");
}

/// The quirk itself, as a client that never sends UTF8 meets it.
#[tokio::test]
async fn without_utf8_the_server_sends_the_placeholder() {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let s = courier().await;
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", s.port()))
        .await
        .unwrap();
    let (r, mut w) = tcp.into_split();
    let mut r = BufReader::new(r);
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    w.write_all(format!("USER ann\r\nPASS {PASSWORD}\r\nRETR 1\r\nQUIT\r\n").as_bytes())
        .await
        .unwrap();
    let mut all = Vec::new();
    tokio::io::AsyncReadExt::read_to_end(&mut r, &mut all)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&all);
    assert!(
        text.contains("Subject: Cannot display Unicode content"),
        "{text}"
    );
    assert!(!text.contains("Smörgåsbord"), "{text}");
}
