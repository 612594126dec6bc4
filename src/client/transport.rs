//! The byte pipe to the server: DNS, TCP with a timeout, implicit TLS and
//! the TLS upgrade after STLS, with certificate checks (system roots and
//! host name, an extra CA file, a pinned SHA-256 fingerprint, or an opt-out
//! the user named).
//!
//! Knows nothing of POP3 beyond "the upgrade happens on an idle socket";
//! the caller makes sure no unread bytes remain before [`upgrade`].

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::ServerName;

use super::error::Error;

/// How the connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte (`pop3s`, port 995).
    Implicit,
    /// Plain TCP, then STLS before anything else (port 110); required.
    StartTls,
    /// No encryption at all; only when the user asked for it by name.
    Plaintext,
}

impl Security {
    pub fn default_port(self) -> u16 {
        match self {
            Security::Implicit => 995,
            Security::StartTls | Security::Plaintext => 110,
        }
    }
}

/// How the server's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum CertCheck {
    /// The system's roots and the host name.
    System,
    /// The system's roots plus the CAs in this PEM file, and the host name.
    ExtraCa(PathBuf),
    /// Exactly this certificate: SHA-256 of its DER form. No name check.
    Pin([u8; 32]),
    /// No check at all (`--insecure-no-verify`): encryption without
    /// authentication.
    NoVerify,
}

#[derive(Debug, Clone)]
pub struct Endpoint {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub cert: CertCheck,
    pub connect_timeout: Duration,
}

/// What was negotiated, for the status bar and `check`.
#[derive(Debug, Clone)]
pub struct TlsInfo {
    pub version: String,
    pub cipher: String,
    /// The server's chain as sent, leaf first (DER).
    pub chain: Vec<Vec<u8>>,
    /// How the certificate was accepted.
    pub verified: String,
    /// The handshake resumed an earlier session of this process (no
    /// certificate exchange: it was checked when the session began).
    pub resumed: bool,
}

impl TlsInfo {
    /// The transcript's line for the handshake.
    pub fn summary(&self) -> String {
        let resumed = if self.resumed {
            "; TLS session resumed"
        } else {
            ""
        };
        format!(
            "{} {} ({}){resumed}",
            self.version, self.cipher, self.verified
        )
    }

    /// SHA-256 of the leaf certificate, lowercase hex.
    pub fn fingerprint(&self) -> Option<String> {
        self.chain.first().map(|c| hex(&Sha256::digest(c)))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parses a SHA-256 fingerprint: 64 hex digits, colons and spaces allowed,
/// an optional `sha256:` / `SHA256:` prefix.
pub fn parse_fingerprint(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    let s = s
        .strip_prefix("sha256:")
        .or_else(|| s.strip_prefix("SHA256:"))
        .or_else(|| s.strip_prefix("sha256/"))
        .unwrap_or(s);
    let digits: Vec<u8> = s.bytes().filter(|b| !matches!(b, b':' | b' ')).collect();
    if digits.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, pair) in digits.chunks(2).enumerate() {
        let pair = std::str::from_utf8(pair).ok()?;
        out[i] = u8::from_str_radix(pair, 16).ok()?;
    }
    Some(out)
}

/// Either side of the STLS upgrade.
#[allow(clippy::large_enum_variant)]
pub enum Stream {
    Tcp(TcpStream),
    Tls(Box<TlsStream<Sniff>>),
    /// Placeholder while the TCP stream is moved into TLS.
    Gone,
}

impl Stream {
    pub fn is_tls(&self) -> bool {
        matches!(self, Stream::Tls(_))
    }
}

fn gone() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection closed")
}

impl AsyncRead for Stream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_read(cx, buf),
            Stream::Tls(s) => read_records(s, cx, buf),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }
}

/// The largest plaintext of one TLS record (RFC 8446 section 5.1).
const MAX_RECORD: usize = 16 * 1024;

/// Reads as many TLS records as are ready into `buf`, not only one: the TLS
/// stream hands out one record (at most 16 KiB) per read, and each read
/// costs the engine a turn and the file a write; a 50 MB RETR over TLS was
/// slower than over plain TCP because of it.
fn read_records(
    s: &mut TlsStream<Sniff>,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    let start = buf.filled().len();
    loop {
        let before = buf.filled().len();
        match Pin::new(&mut *s).poll_read(cx, buf) {
            // End of stream (nothing new): report what came before it first.
            Poll::Ready(Ok(())) if buf.filled().len() == before => return Poll::Ready(Ok(())),
            Poll::Ready(Ok(())) if buf.remaining() >= MAX_RECORD => {}
            Poll::Ready(Ok(())) => return Poll::Ready(Ok(())),
            // An error after some data: the data first; the error comes
            // again with the next read.
            Poll::Ready(Err(_)) | Poll::Pending if buf.filled().len() > start => {
                return Poll::Ready(Ok(()));
            }
            other => return other,
        }
    }
}

impl AsyncWrite for Stream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_write(cx, buf),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_write(cx, buf),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_flush(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_flush(cx),
            Stream::Gone => Poll::Ready(Err(gone())),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            Stream::Tcp(s) => Pin::new(s).poll_shutdown(cx),
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_shutdown(cx),
            Stream::Gone => Poll::Ready(Ok(())),
        }
    }
}

/// Times of the connection stages, for progress and `check`.
#[derive(Debug, Clone, Default)]
pub struct ConnectTimes {
    pub dns: Duration,
    pub tcp: Duration,
    pub tls: Option<Duration>,
    pub addr: Option<SocketAddr>,
}

/// Resolves the host and connects over TCP, trying each address in turn
/// within the timeout.
pub async fn connect_tcp(
    endpoint: &Endpoint,
    times: &mut ConnectTimes,
) -> Result<TcpStream, Error> {
    let target = format!("{}:{}", endpoint.host, endpoint.port);
    let start = Instant::now();
    let addrs: Vec<SocketAddr> = tokio::time::timeout(
        endpoint.connect_timeout,
        tokio::net::lookup_host((endpoint.host.as_str(), endpoint.port)),
    )
    .await
    .map_err(|_| Error::ConnectTimeout {
        addr: target.clone(),
        secs: endpoint.connect_timeout.as_secs(),
    })?
    .map_err(|e| Error::Resolve {
        host: endpoint.host.clone(),
        reason: e.to_string(),
    })?
    .collect();
    times.dns = start.elapsed();
    let deadline = Instant::now() + endpoint.connect_timeout;
    let mut last = None;
    for addr in addrs {
        let started = Instant::now();
        let left = deadline.saturating_duration_since(started);
        match tokio::time::timeout(left, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                times.tcp = started.elapsed();
                times.addr = Some(addr);
                let _ = s.set_nodelay(true);
                return Ok(s);
            }
            Ok(Err(e)) => {
                last = Some(match e.kind() {
                    io::ErrorKind::ConnectionRefused => "the connection was refused".to_string(),
                    io::ErrorKind::NetworkUnreachable | io::ErrorKind::HostUnreachable => {
                        "the network or host is unreachable".to_string()
                    }
                    _ => e.to_string(),
                })
            }
            Err(_) => {
                return Err(Error::ConnectTimeout {
                    addr: target,
                    secs: endpoint.connect_timeout.as_secs(),
                });
            }
        }
    }
    Err(Error::Connect {
        addr: target,
        reason: last.unwrap_or_else(|| "the name has no addresses".into()),
    })
}

/// TLS handshake on a connected socket (implicit TLS, or after STLS).
pub async fn upgrade(
    tcp: TcpStream,
    endpoint: &Endpoint,
    times: &mut ConnectTimes,
) -> Result<(Stream, TlsInfo), Error> {
    let checked = super::verify::client_config(&endpoint.cert)?;
    let name = ServerName::try_from(endpoint.host.clone()).map_err(|_| Error::Tls {
        host: endpoint.host.clone(),
        reason: "the host name is not valid for TLS".into(),
        fingerprint: None,
        advice: None,
    })?;
    let key = name.to_str().into_owned();
    checked.forget_leaf(&key);
    let start = Instant::now();
    let sniff = Sniff {
        io: tcp,
        first: Vec::new(),
    };
    let tls = tokio::time::timeout(
        endpoint.connect_timeout,
        TlsConnector::from(checked.config.clone())
            .connect(name, sniff)
            .into_fallible(),
    )
    .await
    .map_err(|_| Error::ConnectTimeout {
        addr: format!("{}:{} (TLS handshake)", endpoint.host, endpoint.port),
        secs: endpoint.connect_timeout.as_secs(),
    })?
    .map_err(|(e, sniff)| {
        let leaf = checked.leaf(&key);
        let (reason, advice) = tls_failure(&e, endpoint, leaf.as_deref(), &sniff.first);
        Error::Tls {
            host: endpoint.host.clone(),
            reason,
            fingerprint: leaf.map(|c| hex(&Sha256::digest(c))),
            advice,
        }
    })?;
    times.tls = Some(start.elapsed());
    let conn = tls.get_ref().1;
    let info = TlsInfo {
        version: conn
            .protocol_version()
            .and_then(|v| v.as_str())
            .unwrap_or("TLS")
            .replace("TLSv1_", "TLS 1.")
            .replace("TLSv1", "TLS 1.0"),
        cipher: conn
            .negotiated_cipher_suite()
            .map(|c| format!("{:?}", c.suite()))
            .unwrap_or_default(),
        chain: conn
            .peer_certificates()
            .map(|c| c.iter().map(|c| c.to_vec()).collect())
            .unwrap_or_default(),
        verified: checked.verified.clone(),
        resumed: conn.handshake_kind() == Some(rustls::HandshakeKind::Resumed),
    };
    Ok((Stream::Tls(Box::new(tls)), info))
}

/// Why a handshake failed, and what to do, from the error, the leaf the
/// verifier was shown and the first bytes the server sent.
fn tls_failure(
    e: &io::Error,
    endpoint: &Endpoint,
    leaf: Option<&[u8]>,
    first_bytes: &[u8],
) -> (String, Option<String>) {
    let stls = endpoint.security == Security::StartTls;
    let after_stls = |what: String| {
        (
            format!("the TLS handshake after STLS failed: {what}"),
            Some("The server agreed to STLS but did not complete the TLS handshake; try pop3s:// (TLS from the first byte, usually port 995).".to_string()),
        )
    };
    let rustls_error = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>());
    match rustls_error {
        Some(rustls::Error::InvalidCertificate(c)) => {
            return super::refusal::refusal(c, leaf, &endpoint.cert, &endpoint.host);
        }
        Some(rustls::Error::InvalidMessage(_)) if !stls && looks_like_pop3(first_bytes) => {
            return (
                format!(
                    "port {} speaks plain POP3, not TLS (the server greeted with \"{}\")",
                    endpoint.port,
                    printable(first_bytes)
                ),
                Some(format!(
                    "Use pop3://{}:{} (plain POP3 upgraded with STLS), or pop3s:// on port 995.",
                    endpoint.host, endpoint.port
                )),
            );
        }
        _ => {}
    }
    let what = match rustls_error {
        Some(rustls::Error::AlertReceived(a)) => {
            format!("the server ended the handshake (TLS alert {a:?})")
        }
        Some(rustls::Error::InvalidMessage(_)) if !first_bytes.is_empty() => format!(
            "the server did not answer in TLS (it sent \"{}\")",
            printable(first_bytes)
        ),
        Some(other) => other.to_string(),
        None if e.kind() == io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the handshake".to_string()
        }
        None => e.to_string(),
    };
    if stls {
        return after_stls(what);
    }
    let advice = (e.kind() == io::ErrorKind::UnexpectedEof || first_bytes.is_empty()).then(|| {
        "Is this port really TLS? pop3:// uses STLS on port 110, pop3s:// TLS on port 995."
            .to_string()
    });
    (what, advice)
}

/// Whether the first bytes a server sent are a POP3 status line.
fn looks_like_pop3(first: &[u8]) -> bool {
    first.starts_with(b"+OK") || first.starts_with(b"-ERR")
}

/// The first bytes a server sent, safe to show: up to the end of the first
/// line, through the one sanitiser.
fn printable(first: &[u8]) -> String {
    let line = first
        .split(|b| *b == b'\r' || *b == b'\n')
        .next()
        .unwrap_or_default();
    crate::pop3::text::printable(line)
}

/// The TCP stream, remembering the first bytes it read: a handshake that
/// fails on them can say what the server spoke instead of TLS.
pub struct Sniff {
    io: TcpStream,
    first: Vec<u8>,
}

/// How many first bytes [`Sniff`] keeps.
const SNIFF: usize = 64;

impl AsyncRead for Sniff {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let res = Pin::new(&mut this.io).poll_read(cx, buf);
        if this.first.len() < SNIFF {
            let new = &buf.filled()[before..];
            let take = new.len().min(SNIFF - this.first.len());
            this.first.extend_from_slice(&new[..take]);
        }
        res
    }
}

impl AsyncWrite for Sniff {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_parse_in_common_forms() {
        let hexs = "5f1b4c0e9a3d2c7b8e6f1a0d4c3b2a19f8e7d6c5b4a39281706f5e4d3c2b1a09";
        let want = parse_fingerprint(hexs).unwrap();
        assert_eq!(hex(&want), hexs);
        let colons: String = hexs
            .as_bytes()
            .chunks(2)
            .map(|c| std::str::from_utf8(c).unwrap().to_uppercase())
            .collect::<Vec<_>>()
            .join(":");
        assert_eq!(parse_fingerprint(&colons), Some(want));
        assert_eq!(parse_fingerprint(&format!("sha256:{hexs}")), Some(want));
        assert_eq!(parse_fingerprint(&hexs[..62]), None);
        assert_eq!(parse_fingerprint(&format!("{}zz", &hexs[..62])), None);
    }
}
