//! Raw POP3 against the built-in server: every byte the server sends is
//! checked as a client would see it on the wire (plain TCP and TLS). Here:
//! the raw client (`Pop`) and the starters; the tests are in `auth`,
//! `transaction`, `faults` and `tls`. None of it uses popdoc's own client.

use crate::support::demo;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};
use popdoc::demo::{Faults, Mailbox, Server, ServerConfig};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types};
use tokio_rustls::{TlsConnector, client::TlsStream};

const WAIT: Duration = Duration::from_secs(10);

const M1: &[u8] = b"From: a@example.org\r\nSubject: one\r\n\r\nHello\r\n.dot line\r\n..two\r\n\xe9t\xe9 8-bit\r\nlast\r\n";
const M2: &[u8] = b"Subject: two\r\n\r\nno final newline";
const M3: &[u8] = b"Subject: three\r\n\r\nbody\r\n";

fn mailbox() -> Mailbox {
    Mailbox::from_messages(vec![M1.to_vec(), M2.to_vec(), M3.to_vec()])
}

struct Pop<S> {
    io: BufReader<S>,
}

impl<S: AsyncRead + AsyncWrite + Unpin> Pop<S> {
    async fn line(&mut self) -> String {
        let mut v = Vec::new();
        tokio::time::timeout(WAIT, self.io.read_until(b'\n', &mut v))
            .await
            .expect("timed out waiting for a line")
            .expect("read failed");
        String::from_utf8_lossy(&v).into_owned()
    }

    async fn send(&mut self, s: &str) {
        let w = self.io.get_mut();
        w.write_all(format!("{s}\r\n").as_bytes()).await.unwrap();
        w.flush().await.unwrap();
    }

    async fn cmd(&mut self, s: &str) -> String {
        self.send(s).await;
        self.line().await
    }

    /// The raw bytes of a multi-line body, terminator included.
    async fn body(&mut self) -> Vec<u8> {
        let mut all = Vec::new();
        loop {
            let start = all.len();
            let n = tokio::time::timeout(WAIT, self.io.read_until(b'\n', &mut all))
                .await
                .expect("timed out in a body")
                .unwrap();
            assert!(n > 0, "connection closed inside a body");
            if &all[start..] == b".\r\n" {
                return all;
            }
        }
    }

    /// Everything until the server closes the connection.
    async fn rest(&mut self) -> Vec<u8> {
        let mut v = Vec::new();
        tokio::time::timeout(WAIT, self.io.read_to_end(&mut v))
            .await
            .expect("server did not close")
            .unwrap();
        v
    }

    /// Asserts that nothing arrives for a while and the socket stays open.
    async fn silent_for(&mut self, d: Duration) {
        let mut b = [0u8; 1];
        let r = tokio::time::timeout(d, self.io.read(&mut b)).await;
        assert!(r.is_err(), "expected silence, got {r:?}");
    }

    async fn login(&mut self) {
        assert_eq!(self.cmd("USER demo").await, "+OK send PASS\r\n");
        let r = self.cmd("PASS demo").await;
        assert!(r.starts_with("+OK logged in"), "{r}");
    }
}

async fn connect(server: &Server) -> Pop<TcpStream> {
    let s = TcpStream::connect(server.addr()).await.unwrap();
    let mut p = Pop {
        io: BufReader::new(s),
    };
    assert_eq!(p.line().await, "+OK popdoc demo server ready\r\n");
    p
}

async fn start(config: ServerConfig) -> Server {
    demo::start_with(config, mailbox()).await
}

async fn with_faults(faults: Faults) -> Server {
    start(ServerConfig {
        faults,
        ..Default::default()
    })
    .await
}

async fn capa(p: &mut Pop<impl AsyncRead + AsyncWrite + Unpin>) -> Vec<String> {
    p.send("CAPA").await;
    let status = p.line().await;
    assert!(status.starts_with("+OK"), "{status}");
    let body = p.body().await;
    let text = String::from_utf8(body).unwrap();
    text.split("\r\n")
        .filter(|l| !l.is_empty() && *l != ".")
        .map(str::to_string)
        .collect()
}

async fn server_mailbox_len(server: &Server) -> usize {
    let mut p = connect(server).await;
    p.login().await;
    let stat = p.cmd("STAT").await;
    p.cmd("QUIT").await;
    stat.split(' ').nth(1).unwrap().parse().unwrap()
}

mod auth;
mod faults;
mod tls;
mod transaction;
