//! Certificate checks for the transport: the rustls configuration of each
//! [`CertCheck`] and the verifiers behind them (`refusal.rs` says in words
//! why a certificate was refused).
//!
//! A CA file is a trust file as OpenSSL and GnuTLS clients read it: a
//! server whose certificate is itself one of the file's certificates is
//! accepted (host name and validity still checked), which is what a
//! self-signed `openssl req -x509` certificate (`CA:TRUE`) needs. Anything
//! else goes through the platform verifier with the file's certificates
//! as extra roots. No I/O besides reading the CA file.
//!
//! Every connection of the process with the same check shares its verifier
//! and its TLS session cache, so a reconnect resumes the TLS session (one
//! round trip, no certificate exchange); a session is never resumed under
//! a check other than the one it was verified with.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use sha2::{Digest, Sha256};
use tokio_rustls::rustls::client::Resumption;
use tokio_rustls::rustls::client::danger::{
    HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier,
};
use tokio_rustls::rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use tokio_rustls::rustls::{
    self, CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme,
};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::error::Error;
use super::transport::{CertCheck, hex};

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The TLS client configuration of a check mode, one per process: every
/// connection with the same check shares it, and with it the verifier (the
/// system's roots are loaded once) and the TLS session cache, so that a
/// reconnect resumes the session instead of a full handshake. rustls
/// resumes a session only under the verifier it was checked with.
#[derive(Clone)]
pub(super) struct Checked {
    pub(super) config: Arc<ClientConfig>,
    /// How the certificate is accepted, in words.
    pub(super) verified: String,
    recording: Arc<Recording>,
}

impl Checked {
    /// Forgets the leaf last shown for `name` (before a handshake).
    pub(super) fn forget_leaf(&self, name: &str) {
        self.recording.seen().remove(name);
    }

    /// The leaf certificate the server `name` presented (DER), if any.
    pub(super) fn leaf(&self, name: &str) -> Option<Vec<u8>> {
        self.recording.seen().get(name).cloned()
    }
}

/// Sessions remembered per check (rustls keys them by server name).
const SESSIONS: usize = 64;

/// The configuration for a check mode (built once per process); the
/// verifier records the leaf it was shown so that an error can quote its
/// fingerprint.
pub(super) fn client_config(check: &CertCheck) -> Result<Checked, Error> {
    static CACHE: OnceLock<Mutex<HashMap<CertCheck, Checked>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(hit) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(check) {
        return Ok(hit.clone());
    }
    // Built outside the lock (it may read a CA file); a failure is not kept.
    let provider = provider();
    let (inner, verified) = verifier(check, &provider)?;
    let recording = Arc::new(Recording {
        inner,
        seen: Mutex::new(HashMap::new()),
    });
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_err(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(recording.clone())
        .with_no_client_auth();
    config.resumption = Resumption::in_memory_sessions(SESSIONS);
    let checked = Checked {
        config: Arc::new(config),
        verified,
        recording,
    };
    let mut map = cache.lock().unwrap_or_else(|e| e.into_inner());
    Ok(map.entry(check.clone()).or_insert(checked).clone())
}

fn tls_err(reason: String) -> Error {
    Error::Tls {
        host: String::new(),
        reason,
        fingerprint: None,
        advice: None,
    }
}

/// The verifier of a check mode, and how it names what it accepts.
fn verifier(
    check: &CertCheck,
    provider: &Arc<CryptoProvider>,
) -> Result<(Arc<dyn ServerCertVerifier>, String), Error> {
    Ok(match check {
        CertCheck::System => (
            Arc::new(
                rustls_platform_verifier::Verifier::new(provider.clone())
                    .map_err(|e| tls_err(format!("the system certificate store: {e}")))?,
            ),
            "system roots".into(),
        ),
        CertCheck::ExtraCa(path) => {
            let certs = read_ca_file(path)?;
            let platform = rustls_platform_verifier::Verifier::new_with_extra_roots(
                certs.clone(),
                provider.clone(),
            )
            .map_err(|e| tls_err(e.to_string()))?;
            (
                Arc::new(TrustFile {
                    certs,
                    inner: Arc::new(platform),
                }),
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
    })
}

fn read_ca_file(path: &Path) -> Result<Vec<CertificateDer<'static>>, Error> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| Error::CaFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    if certs.is_empty() {
        return Err(Error::CaFile {
            path: path.to_path_buf(),
            reason: "it contains no PEM certificate".into(),
        });
    }
    Ok(certs)
}

/// The names a certificate covers: its subjectAltName DNS names and IP
/// addresses, else its common names.
pub fn certificate_names(der: &[u8]) -> Vec<String> {
    let Ok((_, cert)) = X509Certificate::from_der(der) else {
        return Vec::new();
    };
    let mut names = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for n in &san.value.general_names {
            match n {
                GeneralName::DNSName(d) => names.push(d.to_string()),
                GeneralName::IPAddress(b) => names.push(ip_text(b)),
                _ => {}
            }
        }
    }
    if names.is_empty() {
        names.extend(
            cert.subject()
                .iter_common_name()
                .filter_map(|cn| cn.as_str().ok())
                .map(str::to_string),
        );
    }
    names
}

fn ip_text(b: &[u8]) -> String {
    match b.len() {
        4 => Ipv4Addr::new(b[0], b[1], b[2], b[3]).to_string(),
        16 => {
            let mut a = [0u8; 16];
            a.copy_from_slice(b);
            Ipv6Addr::from(a).to_string()
        }
        _ => hex(b),
    }
}

/// The certificate's validity period against `now`.
fn check_validity(der: &[u8], now: UnixTime) -> Result<(), rustls::Error> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let now = now.as_secs() as i64;
    if now < cert.validity().not_before.timestamp() {
        return Err(CertificateError::NotValidYet.into());
    }
    if now > cert.validity().not_after.timestamp() {
        return Err(CertificateError::Expired.into());
    }
    Ok(())
}

/// A CA file as OpenSSL reads it: a presented certificate that is exactly
/// one of the file's certificates is trusted as it is (its name and dates
/// still checked); anything else must chain to the system's roots or to
/// the file's certificates.
#[derive(Debug)]
struct TrustFile {
    certs: Vec<CertificateDer<'static>>,
    inner: Arc<dyn ServerCertVerifier>,
}

impl ServerCertVerifier for TrustFile {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if !self.certs.iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            return self.inner.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp,
                now,
            );
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        check_validity(end_entity, now)?;
        Ok(ServerCertVerified::assertion())
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

/// Remembers the leaf certificate each server presented (by server name),
/// then lets the real verifier decide.
#[derive(Debug)]
struct Recording {
    inner: Arc<dyn ServerCertVerifier>,
    seen: Mutex<HashMap<String, Vec<u8>>>,
}

impl Recording {
    fn seen(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        self.seen.lock().unwrap_or_else(|e| e.into_inner())
    }
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
        self.seen()
            .insert(server_name.to_str().into_owned(), end_entity.to_vec());
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
            Some(pin) if Sha256::digest(end_entity.as_ref()).as_slice() != pin => Err(
                rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure),
            ),
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
    use super::super::refusal::refusal;
    use super::*;

    fn rcgen_cert(ca: bool, names: &[&str], expired: bool) -> Vec<u8> {
        let mut p =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        if ca {
            p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        }
        if expired {
            p.not_before = rcgen::date_time_ymd(2001, 1, 1);
            p.not_after = rcgen::date_time_ymd(2002, 1, 1);
        }
        let key = rcgen::KeyPair::generate().unwrap();
        p.self_signed(&key).unwrap().der().to_vec()
    }

    fn verify(
        check: &CertCheck,
        der: &[u8],
        host: &str,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let (v, _) = verifier(check, &provider()).unwrap();
        let name = ServerName::try_from(host.to_string()).unwrap();
        v.verify_server_cert(
            &CertificateDer::from(der.to_vec()),
            &[],
            &name,
            &[],
            UnixTime::now(),
        )
    }

    fn pem_file(ders: &[&[u8]]) -> tempfile::NamedTempFile {
        use base64::Engine as _;
        let mut text = String::new();
        for der in ders {
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            text.push_str("-----BEGIN CERTIFICATE-----\n");
            for chunk in b64.as_bytes().chunks(64) {
                text.push_str(std::str::from_utf8(chunk).unwrap());
                text.push('\n');
            }
            text.push_str("-----END CERTIFICATE-----\n");
        }
        let f = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(f.path(), text).unwrap();
        f
    }

    fn certificate_error(e: rustls::Error) -> CertificateError {
        match e {
            rustls::Error::InvalidCertificate(c) => c,
            other => panic!("not a certificate error: {other:?}"),
        }
    }

    #[test]
    fn a_ca_file_trusts_a_server_certificate_it_contains() {
        let own = rcgen_cert(true, &["localhost", "127.0.0.1"], false);
        let other = rcgen_cert(true, &["localhost"], false);
        let file = pem_file(&[&other, &own]);
        let check = CertCheck::ExtraCa(file.path().to_path_buf());
        assert!(verify(&check, &own, "localhost").is_ok());
        assert!(verify(&check, &own, "127.0.0.1").is_ok());

        // The host name is still checked, and said in the sentence.
        let c = certificate_error(verify(&check, &own, "mail.example.test").unwrap_err());
        let (reason, advice) = refusal(&c, Some(&own), &check, "mail.example.test");
        assert_eq!(
            reason,
            "the server's certificate is for localhost, 127.0.0.1, not for mail.example.test"
        );
        assert!(!advice.unwrap().contains("--ca-file"));

        // A certificate that is not in the file is still refused, in words.
        let file = pem_file(&[&other]);
        let check = CertCheck::ExtraCa(file.path().to_path_buf());
        let c = certificate_error(verify(&check, &own, "localhost").unwrap_err());
        let (reason, advice) = refusal(&c, Some(&own), &check, "localhost");
        assert!(reason.contains("CA certificate (CA:TRUE"), "{reason}");
        assert!(
            reason.contains("contains neither the server's certificate nor the authority"),
            "{reason}"
        );
        assert!(!reason.contains("Other("), "{reason}");
        let advice = advice.unwrap();
        assert!(!advice.contains("--ca-file"), "{advice}");
        assert!(
            advice.contains(&file.path().display().to_string()),
            "{advice}"
        );
    }

    #[test]
    fn an_expired_certificate_in_the_ca_file_is_refused() {
        let old = rcgen_cert(true, &["localhost"], true);
        let file = pem_file(&[&old]);
        let check = CertCheck::ExtraCa(file.path().to_path_buf());
        let c = certificate_error(verify(&check, &old, "localhost").unwrap_err());
        let (reason, advice) = refusal(&c, Some(&old), &check, "localhost");
        assert_eq!(reason, "the server's certificate has expired");
        assert!(advice.unwrap().contains("renew"));
    }

    #[test]
    fn sentences_for_the_system_check() {
        let leaf = rcgen_cert(false, &["localhost"], false);
        let (reason, advice) = refusal(
            &CertificateError::UnknownIssuer,
            Some(&leaf),
            &CertCheck::System,
            "localhost",
        );
        assert!(reason.contains("self-signed"), "{reason}");
        assert!(advice.unwrap().contains("--ca-file"));
        let (reason, _) = refusal(
            &CertificateError::UnknownIssuer,
            None,
            &CertCheck::System,
            "localhost",
        );
        assert_eq!(
            reason,
            "the server's certificate is not issued by a trusted authority"
        );
        let (reason, advice) = refusal(
            &CertificateError::ApplicationVerificationFailure,
            Some(&leaf),
            &CertCheck::Pin([0; 32]),
            "localhost",
        );
        assert!(reason.contains("pinned fingerprint"));
        assert!(!advice.unwrap().contains("--ca-file"));
    }
}
