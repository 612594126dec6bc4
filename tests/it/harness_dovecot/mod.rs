//! Tests of the test harness itself: the private Dovecot (`support::dovecot`)
//! spoken to in raw POP3 over loopback, and the message generator
//! (`support::mailgen`) checked against mail-parser (in `generator`).
//!
//! These tests must not use popdoc's own POP3 code: they are what that code
//! is later checked against.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crate::support::dovecot::{Dovecot, User};
use crate::support::mailgen::{self, KINDS};
use sha2::{Digest, Sha256};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// A minimal POP3 client over any byte stream (plain TCP or rustls).
struct Pop<S: Read + Write> {
    r: BufReader<S>,
}

impl Pop<TcpStream> {
    fn connect(port: u16) -> (Self, String) {
        let s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut p = Pop {
            r: BufReader::new(s),
        };
        let greeting = p.line();
        (p, greeting)
    }
}

impl<S: Read + Write> Pop<S> {
    fn line(&mut self) -> String {
        let mut l = Vec::new();
        self.r.read_until(b'\n', &mut l).expect("read status line");
        assert!(l.ends_with(b"\r\n"), "status line without CRLF: {l:?}");
        String::from_utf8_lossy(&l[..l.len() - 2]).into_owned()
    }

    fn send(&mut self, cmd: &str) {
        let s = self.r.get_mut();
        s.write_all(cmd.as_bytes()).unwrap();
        s.write_all(b"\r\n").unwrap();
        s.flush().unwrap();
    }

    fn cmd(&mut self, cmd: &str) -> String {
        self.send(cmd);
        self.line()
    }

    fn cmd_ok(&mut self, cmd: &str) -> String {
        let reply = self.cmd(cmd);
        assert!(reply.starts_with("+OK"), "{cmd} -> {reply}");
        reply
    }

    /// A multi-line reply's body after its +OK, dot-unstuffed (RFC 1939 section 3).
    fn multi(&mut self, cmd: &str) -> Vec<u8> {
        self.cmd_ok(cmd);
        let mut body = Vec::new();
        loop {
            let mut l = Vec::new();
            let n = self.r.read_until(b'\n', &mut l).expect("read body line");
            assert!(n > 0, "connection closed inside the reply to {cmd}");
            if l == b".\r\n" {
                return body;
            }
            body.extend_from_slice(l.strip_prefix(b".").unwrap_or(&l));
        }
    }

    fn login(&mut self, user: &User) {
        self.cmd_ok(&format!("USER {}", user.name));
        self.cmd_ok(&format!("PASS {}", user.password));
    }
}

fn login(d: &Dovecot, user: &User) -> Pop<TcpStream> {
    let (mut p, _) = Pop::connect(d.plain_port());
    p.login(user);
    p
}

fn stat(p: &mut Pop<impl Read + Write>) -> (usize, u64) {
    let reply = p.cmd_ok("STAT");
    let mut it = reply.split_whitespace().skip(1);
    let count = it.next().unwrap().parse().unwrap();
    let octets = it.next().unwrap().parse().unwrap();
    (count, octets)
}

/// Dovecot logged nothing worse than Info.
fn assert_clean_log(d: &Dovecot) {
    let log = d.log();
    let bad: Vec<&str> = log
        .lines()
        .filter(|l| {
            ["Warning:", "Error:", "Fatal:", "Panic:"]
                .iter()
                .any(|w| l.contains(w))
        })
        .collect();
    assert!(bad.is_empty(), "Dovecot complained:\n{}", bad.join("\n"));
}

fn header_value(headers: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(headers);
    let prefix = format!("{}:", name.to_ascii_lowercase());
    text.lines()
        .find(|l| l.to_ascii_lowercase().starts_with(&prefix))
        .map(|l| l[prefix.len()..].trim().to_owned())
}

#[test]
fn greeting_login_and_wrong_password() {
    let Some(d) = Dovecot::start() else { return };
    let alice = d.add_user("alice", "correct horse");
    let (mut p, greeting) = Pop::connect(d.plain_port());
    assert!(greeting.starts_with("+OK Dovecot ready"), "{greeting}");
    p.login(&alice);
    assert_eq!(stat(&mut p), (0, 0));
    p.cmd_ok("QUIT");
    // Failures last: after one, Dovecot delays the next login from the same
    // address by seconds (auth penalty).
    let (mut p, _) = Pop::connect(d.plain_port());
    p.cmd_ok("USER alice");
    let reply = p.cmd("PASS wrong horse");
    assert_eq!(reply, "-ERR [AUTH] Authentication failed.");
}

#[test]
fn users_added_after_start_can_log_in() {
    let Some(d) = Dovecot::start() else { return };
    let first = d.add_user("first", "one");
    login(&d, &first).cmd_ok("QUIT");
    // The passwd-file has been read by now; a later user must still work.
    let second = d.add_user("second", "two");
    let msg = b"Subject: for second\r\n\r\nhi\r\n";
    second.store(&[msg]);
    let (mut p, _) = Pop::connect(d.plain_port());
    p.cmd_ok("USER second");
    let r = p.cmd("PASS two");
    assert!(r.starts_with("+OK"), "{r}\n{}", d.log());
    assert_eq!(stat(&mut p), (1, msg.len() as u64));
    p.cmd_ok("QUIT");
    assert!(d.log().contains("user=<second>"), "{}", d.log());
    assert_clean_log(&d);
}

#[test]
fn thousand_messages_keep_their_numbers() {
    let Some(d) = Dovecot::start() else { return };
    let user = d.add_user("many", "pw");
    let messages = mailgen::mailbox(1000, 42);
    let bytes: Vec<&[u8]> = messages.iter().map(|m| m.bytes.as_slice()).collect();
    user.store(&bytes);

    let files = user.message_files();
    assert_eq!(files.len(), 1000);
    for (i, f) in [0, 1, 499, 998, 999].map(|i| (i, &files[i])) {
        assert_eq!(std::fs::read(f).unwrap(), messages[i].bytes, "file {i}");
    }

    let mut p = login(&d, &user);
    let total: u64 = messages.iter().map(|m| m.bytes.len() as u64).sum();
    assert_eq!(stat(&mut p), (1000, total));

    // LIST is the stored size (all CRLF, all ending in CRLF).
    let list = p.multi("LIST");
    let sizes: Vec<u64> = String::from_utf8(list)
        .unwrap()
        .lines()
        .map(|l| l.split(' ').nth(1).unwrap().parse().unwrap())
        .collect();
    let expected: Vec<u64> = messages.iter().map(|m| m.bytes.len() as u64).collect();
    assert_eq!(sizes, expected);

    // UIDL: %08Xu%08Xv (Dovecot writes lowercase hex), UIDs 1..=1000 in
    // message order.
    let uidl = String::from_utf8(p.multi("UIDL")).unwrap();
    let uidls: Vec<&str> = uidl.lines().map(|l| l.split(' ').nth(1).unwrap()).collect();
    assert_eq!(uidls.len(), 1000);
    for (i, u) in uidls.iter().enumerate() {
        assert_eq!(u.len(), 16, "{u}");
        assert_eq!(
            &u[..8],
            format!("{:08x}", i + 1),
            "UIDL of message {}",
            i + 1
        );
        assert_eq!(&u[8..], &uidls[0][8..], "same UIDVALIDITY");
    }

    for n in [1, 2, 17, 500, 999, 1000] {
        let head = p.multi(&format!("TOP {n} 0"));
        let m = &messages[n - 1];
        assert_eq!(
            header_value(&head, "Message-ID").as_deref(),
            Some(format!("<{}>", m.message_id).as_str()),
            "TOP {n} 0 ({})",
            m.kind
        );
        let end = memchr::memmem::find(&m.bytes, b"\r\n\r\n").unwrap() + 4;
        assert_eq!(head, m.bytes[..end], "TOP {n} 0 is the header block");
    }
    p.cmd_ok("QUIT");
    assert_clean_log(&d);
}

#[test]
fn retr_returns_the_stored_bytes() {
    let Some(d) = Dovecot::start() else { return };
    let user = d.add_user("bytes", "pw");
    // Twice through every kind, with its dot lines and raw 8-bit bytes.
    let messages = mailgen::mailbox(2 * KINDS.len(), 7);
    let bytes: Vec<&[u8]> = messages.iter().map(|m| m.bytes.as_slice()).collect();
    user.store(&bytes);
    let mut p = login(&d, &user);
    for (i, m) in messages.iter().enumerate() {
        let got = p.multi(&format!("RETR {}", i + 1));
        assert!(got == m.bytes, "RETR {} ({}) differs", i + 1, m.kind);
    }
    p.cmd_ok("QUIT");
    assert_clean_log(&d);
}

#[test]
fn store_replaces_and_store_with_appends() {
    let Some(d) = Dovecot::start() else { return };
    let user = d.add_user("redo", "pw");
    let first = mailgen::mailbox(3, 1);
    user.store(&first.iter().map(|m| m.bytes.clone()).collect::<Vec<_>>());
    let mut p = login(&d, &user);
    let old_uidl = p.cmd_ok("UIDL 1");
    p.cmd_ok("QUIT");

    let second = mailgen::mailbox(2, 2);
    user.store(&second.iter().map(|m| m.bytes.clone()).collect::<Vec<_>>());
    let extra = b"Subject: appended\r\nMessage-ID: <appended@popdoc.test>\r\n\r\nlast\r\n";
    let path = user.store_with(|w| w.write_all(extra));
    assert_eq!(std::fs::read(&path).unwrap(), extra);
    assert_eq!(user.message_files().len(), 3);

    let mut p = login(&d, &user);
    assert_eq!(stat(&mut p).0, 3);
    for (n, id) in [
        (1, second[0].message_id.as_str()),
        (2, second[1].message_id.as_str()),
        (3, "appended@popdoc.test"),
    ] {
        let head = p.multi(&format!("TOP {n} 0"));
        assert_eq!(
            header_value(&head, "Message-ID"),
            Some(format!("<{id}>")),
            "TOP {n} 0"
        );
    }
    let new_uidl = p.cmd_ok("UIDL 1");
    assert_ne!(old_uidl, new_uidl, "a replaced mailbox gets new UIDLs");
    p.cmd_ok("QUIT");
    assert_clean_log(&d);
}

#[test]
fn five_megabyte_message_streams_in_and_out() {
    let Some(d) = Dovecot::start() else { return };
    let user = d.add_user("big", "pw");
    const SIZE: u64 = 5_000_000;
    let mut written = 0;
    let path = user.store_with(|w| {
        written = mailgen::write_big_message(w, SIZE, 5)?;
        Ok(())
    });
    assert_eq!(written, SIZE);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), SIZE);
    let stored = std::fs::read(&path).unwrap();

    let mut p = login(&d, &user);
    assert_eq!(stat(&mut p), (1, SIZE));
    let got = p.multi("RETR 1");
    assert_eq!(got.len() as u64, SIZE);
    assert!(
        Sha256::digest(&got) == Sha256::digest(&stored),
        "RETR differs"
    );
    p.cmd_ok("QUIT");
    assert_clean_log(&d);
}

#[test]
fn dele_and_quit_remove_the_file() {
    let Some(d) = Dovecot::start() else { return };
    let user = d.add_user("dele", "pw");
    let messages = mailgen::mailbox(3, 3);
    user.store(&messages.iter().map(|m| m.bytes.clone()).collect::<Vec<_>>());

    // Without QUIT nothing is deleted.
    let mut p = login(&d, &user);
    p.cmd_ok("DELE 2");
    drop(p);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(user.message_files().len(), 3);

    let mut p = login(&d, &user);
    p.cmd_ok("DELE 2");
    p.cmd_ok("QUIT");
    let left: Vec<Vec<u8>> = user
        .message_files()
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    assert_eq!(left, [messages[0].bytes.clone(), messages[2].bytes.clone()]);
    assert_clean_log(&d);
}

fn tls_client(
    d: &Dovecot,
    tcp: TcpStream,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    let name = ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(d.tls_client_config(), name).unwrap();
    rustls::StreamOwned::new(conn, tcp)
}

fn peer_fingerprint(s: &rustls::StreamOwned<rustls::ClientConnection, TcpStream>) -> String {
    let leaf = &s.conn.peer_certificates().expect("peer certificate")[0];
    Sha256::digest(leaf.as_ref())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn tls_on_both_ports_with_the_private_ca() {
    let Some(d) = Dovecot::start() else { return };
    let user = d.add_user("tls", "pw");
    let msg = b"Subject: over TLS\r\n\r\nsecret\r\n";
    user.store(&[msg]);

    let ca = CertificateDer::from_pem_file(d.ca_file()).expect("ca.pem");
    assert_eq!(&ca, d.ca_der());
    assert_eq!(d.fingerprint().len(), 64);

    // Implicit TLS.
    let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, d.pop3s_port())).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut p = Pop {
        r: BufReader::new(tls_client(&d, tcp)),
    };
    assert!(p.line().starts_with("+OK"));
    assert_eq!(peer_fingerprint(p.r.get_ref()), d.fingerprint());
    p.login(&user);
    assert_eq!(p.multi("RETR 1"), msg);
    p.cmd_ok("QUIT");

    // STLS on the plain port.
    let (mut plain, _) = Pop::connect(d.plain_port());
    let capa = String::from_utf8(plain.multi("CAPA")).unwrap();
    assert!(capa.lines().any(|l| l == "STLS"), "{capa}");
    plain.cmd_ok("STLS");
    assert!(plain.r.buffer().is_empty());
    let tcp = plain.r.into_inner();
    let mut p = Pop {
        r: BufReader::new(tls_client(&d, tcp)),
    };
    let capa = String::from_utf8(p.multi("CAPA")).unwrap();
    assert!(!capa.lines().any(|l| l == "STLS"), "{capa}");
    assert_eq!(peer_fingerprint(p.r.get_ref()), d.fingerprint());
    p.login(&user);
    assert_eq!(stat(&mut p), (1, msg.len() as u64));
    p.cmd_ok("QUIT");

    // A client that trusts another CA refuses the certificate.
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(
            rcgen::generate_simple_self_signed(vec!["localhost".into()])
                .unwrap()
                .cert
                .der()
                .clone(),
        )
        .unwrap();
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, d.pop3s_port())).unwrap();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), ServerName::try_from("localhost").unwrap())
            .unwrap();
    let mut s = rustls::StreamOwned::new(conn, tcp);
    let mut buf = [0u8; 16];
    assert!(s.read(&mut buf).is_err(), "untrusted certificate accepted");
    assert_clean_log(&d);
}

#[test]
fn instances_are_separate_and_drop_cleans_up() {
    let Some(a) = Dovecot::start() else { return };
    let Some(b) = Dovecot::start() else { return };
    let ports = [
        a.plain_port(),
        a.pop3s_port(),
        b.plain_port(),
        b.pop3s_port(),
    ];
    let mut unique = ports.to_vec();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 4, "{ports:?}");
    assert_ne!(a.dir(), b.dir());
    a.add_user("same", "a");
    b.add_user("same", "b");

    let dir = a.dir().to_path_buf();
    let pids = a.live_pids();
    assert!(pids.contains(&a.pid()), "{pids:?}");
    assert!(pids.len() > 1, "services run beside the master: {pids:?}");
    let title = format!("dovecot-{}/", a.instance());
    let port = a.plain_port();
    drop(a);
    assert!(!dir.exists(), "{} left behind", dir.display());
    for pid in pids {
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline);
        assert!(
            !cmdline.starts_with(&title) && !cmdline.contains(dir.to_str().unwrap()),
            "process {pid} still runs: {cmdline}"
        );
    }
    assert!(TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err());
    // The other instance is untouched.
    let (_, greeting) = Pop::connect(b.plain_port());
    assert!(greeting.starts_with("+OK"));
}

mod generator;
