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
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{self, ClientConfig, DigitallySignedStruct, SignatureScheme};

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
#[derive(Debug, Clone, PartialEq, Eq)]
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
}

impl TlsInfo {
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
    Tls(Box<TlsStream<TcpStream>>),
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
            Stream::Tls(s) => Pin::new(s.as_mut()).poll_read(cx, buf),
            Stream::Gone => Poll::Ready(Err(gone())),
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
            Ok(Err(e)) => last = Some(e.to_string()),
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
    let seen = Arc::new(Mutex::new(None));
    let (config, verified) = client_config(&endpoint.cert, seen.clone())?;
    let name = ServerName::try_from(endpoint.host.clone()).map_err(|_| Error::Tls {
        host: endpoint.host.clone(),
        reason: "the host name is not valid for TLS".into(),
        fingerprint: None,
    })?;
    let start = Instant::now();
    let tls = tokio::time::timeout(
        endpoint.connect_timeout,
        TlsConnector::from(Arc::new(config)).connect(name, tcp),
    )
    .await
    .map_err(|_| Error::ConnectTimeout {
        addr: format!("{}:{} (TLS handshake)", endpoint.host, endpoint.port),
        secs: endpoint.connect_timeout.as_secs(),
    })?
    .map_err(|e| Error::Tls {
        host: endpoint.host.clone(),
        reason: tls_reason(&e),
        fingerprint: seen
            .lock()
            .ok()
            .and_then(|s| s.as_ref().map(|c: &Vec<u8>| hex(&Sha256::digest(c)))),
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
        verified,
    };
    Ok((Stream::Tls(Box::new(tls)), info))
}

fn tls_reason(e: &io::Error) -> String {
    let text = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<rustls::Error>())
        .map(|e| match e {
            rustls::Error::InvalidCertificate(c) => certificate_reason(c),
            rustls::Error::AlertReceived(a) => format!("the server ended the handshake ({a:?})"),
            other => other.to_string(),
        });
    text.unwrap_or_else(|| match e.kind() {
        io::ErrorKind::UnexpectedEof => {
            "the server closed the connection during the handshake (is this port really TLS? pop3:// uses STLS on port 110, pop3s:// TLS on 995)".into()
        }
        _ => e.to_string(),
    })
}

fn certificate_reason(c: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match c {
        C::UnknownIssuer => "the certificate is not issued by a trusted authority".into(),
        C::Expired | C::ExpiredContext { .. } => "the certificate has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "the certificate is not valid yet".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            "the certificate is for another host name".into()
        }
        C::Revoked => "the certificate has been revoked".into(),
        C::ApplicationVerificationFailure => {
            "the certificate does not match the pinned fingerprint".into()
        }
        other => format!("the certificate was rejected ({other:?})"),
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Builds the rustls configuration for a check mode; the verifier records
/// the leaf it was shown so that an error can quote its fingerprint.
fn client_config(
    check: &CertCheck,
    seen: Arc<Mutex<Option<Vec<u8>>>>,
) -> Result<(ClientConfig, String), Error> {
    let provider = provider();
    let tls_err = |reason: String| Error::Tls {
        host: String::new(),
        reason,
        fingerprint: None,
    };
    let (inner, verified): (Arc<dyn ServerCertVerifier>, String) = match check {
        CertCheck::System => (
            Arc::new(
                rustls_platform_verifier::Verifier::new(provider.clone())
                    .map_err(|e| tls_err(format!("the system certificate store: {e}")))?,
            ),
            "system roots".into(),
        ),
        CertCheck::ExtraCa(path) => {
            let roots: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
                .and_then(|it| it.collect::<Result<Vec<_>, _>>())
                .map_err(|e| Error::CaFile {
                    path: path.clone(),
                    reason: e.to_string(),
                })?;
            if roots.is_empty() {
                return Err(Error::CaFile {
                    path: path.clone(),
                    reason: "it contains no PEM certificate".into(),
                });
            }
            (
                Arc::new(
                    rustls_platform_verifier::Verifier::new_with_extra_roots(
                        roots,
                        provider.clone(),
                    )
                    .map_err(|e| tls_err(e.to_string()))?,
                ),
                format!("CA file {}", path.display()),
            )
        }
        CertCheck::Pin(pin) => (
            Arc::new(Pinned {
                pin: Some(*pin),
                algs: provider.signature_verification_algorithms,
            }),
            "pinned fingerprint".into(),
        ),
        CertCheck::NoVerify => (
            Arc::new(Pinned {
                pin: None,
                algs: provider.signature_verification_algorithms,
            }),
            "NOT VERIFIED (--insecure-no-verify)".into(),
        ),
    };
    let verifier = Arc::new(Recording { inner, seen });
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok((config, verified))
}

/// Remembers the leaf certificate, then lets the real verifier decide.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Arc<Mutex<Option<Vec<u8>>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(end_entity.to_vec());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp, now)
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Accepts exactly one certificate, by its SHA-256 (`pin`), or any
/// certificate at all (`pin: None`, the named opt-out). The handshake
/// signatures are still checked, so the server must hold the key.
#[derive(Debug)]
struct Pinned {
    pin: Option<[u8; 32]>,
    algs: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.pin {
            Some(pin) if Sha256::digest(end_entity.as_ref()).as_slice() != pin => {
                Err(rustls::Error::InvalidCertificate(
                    rustls::CertificateError::ApplicationVerificationFailure,
                ))
            }
            _ => Ok(ServerCertVerified::assertion()),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
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
