//! The TLS section of a report, from what the transport negotiated
//! ([`TlsInfo`]) or from a failed handshake, with the warnings a support
//! person should see (expiring certificate, no verification). Shared by the
//! POP3 and SMTP checks; no I/O.

use super::cert;
use super::model::{Problem, Report, Severity, Step, TlsReport};
use crate::client::Error;
use crate::client::transport::{CertCheck, TlsInfo};

/// Fills `report.tls` from a finished handshake and adds its warnings.
pub fn describe(info: &TlsInfo, check: &CertCheck, report: &mut Report) {
    let verified = *check != CertCheck::NoVerify;
    let mut tls = TlsReport {
        version: Some(info.version.clone()),
        cipher: Some(info.cipher.clone()),
        verified,
        verified_by: verified.then(|| info.verified.clone()),
        error: None,
        sha256: info.fingerprint(),
        certificate: None,
        chain_length: info.chain.len(),
        details_from_unverified_handshake: false,
    };
    if !verified {
        report.problem(Problem::new(
            Severity::Warning,
            Some(Step::Tls),
            "the server's certificate was not checked (--insecure-no-verify): the connection is encrypted, but nobody vouches that it goes to the real server",
        ));
    }
    add_certificate(info, &mut tls, report);
    report.tls = Some(tls);
}

/// Fills `report.tls` after a failed handshake: the reason, the
/// fingerprint, and the certificate details when a second, unverified
/// handshake (`details`) could read them.
pub fn describe_failure(error: &Error, details: Option<&TlsInfo>, report: &mut Report) {
    let (reason, fingerprint) = match error {
        Error::Tls {
            reason,
            fingerprint,
            ..
        } => (reason.clone(), fingerprint.clone()),
        other => (other.to_string(), None),
    };
    let mut tls = TlsReport {
        version: details.map(|d| d.version.clone()),
        cipher: details.map(|d| d.cipher.clone()),
        verified: false,
        verified_by: None,
        error: Some(reason),
        sha256: fingerprint.or_else(|| details.and_then(TlsInfo::fingerprint)),
        certificate: None,
        chain_length: details.map_or(0, |d| d.chain.len()),
        details_from_unverified_handshake: details.is_some(),
    };
    if let Some(d) = details {
        add_certificate(d, &mut tls, report);
    }
    report.tls = Some(tls);
}

fn add_certificate(info: &TlsInfo, tls: &mut TlsReport, report: &mut Report) {
    let Some(leaf) = info.chain.first() else {
        return;
    };
    let now = cert::now();
    match cert::summarize(leaf, now) {
        Ok(c) => {
            if let Some(w) = cert::expiry_warning(&c, cert::not_yet_valid(leaf, now)) {
                report.problem(Problem::new(Severity::Warning, Some(Step::Tls), w));
            }
            tls.certificate = Some(c);
        }
        Err(e) => report.problem(Problem::new(Severity::Note, Some(Step::Tls), e)),
    }
}
