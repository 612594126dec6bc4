//! Why the server's certificate was refused, as a sentence, and what to do
//! about it given the check already in force: never "use --ca-file" to
//! someone who gave one, never a debug print. Pure: reads only the
//! certificate it is given.

use tokio_rustls::rustls::{self, CertificateError};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::transport::CertCheck;
use super::verify::certificate_names;

fn self_signed(der: &[u8]) -> bool {
    X509Certificate::from_der(der).is_ok_and(|(_, c)| c.subject().as_raw() == c.issuer().as_raw())
}

/// Why a certificate was refused, and what to do about it given the check
/// already in force (never "use --ca-file" to someone who did).
pub(crate) fn refusal(
    c: &CertificateError,
    leaf: Option<&[u8]>,
    check: &CertCheck,
    host: &str,
) -> (String, Option<String>) {
    use CertificateError as C;
    let admin = "check that value with the server's administrator";
    let untrusted = |what: String| -> (String, Option<String>) {
        match check {
            CertCheck::ExtraCa(path) => (
                format!(
                    "{what}, and the CA file {} contains neither the server's certificate nor the authority that issued it",
                    path.display()
                ),
                Some(format!(
                    "Check that {} holds the server's certificate (or its issuer's) in PEM form, or pin the certificate with --fingerprint after you {admin}.",
                    path.display()
                )),
            ),
            _ => (
                what,
                Some(format!(
                    "If the server uses its own certificate, pass that certificate (or the CA that issued it) with --ca-file, or pin it with --fingerprint after you {admin}."
                )),
            ),
        }
    };
    let is_self_signed = leaf.is_some_and(self_signed);
    match c {
        C::Expired | C::ExpiredContext { .. } => (
            "the server's certificate has expired".into(),
            Some("The server's administrator must renew it; until then, popdoc will not trust it.".into()),
        ),
        C::NotValidYet | C::NotValidYetContext { .. } => (
            "the server's certificate is not valid yet".into(),
            Some("Check this computer's date and time, or ask the server's administrator.".into()),
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            let names = leaf.map(certificate_names).unwrap_or_default();
            let reason = if names.is_empty() {
                format!("the server's certificate is not valid for the name {host}")
            } else {
                format!(
                    "the server's certificate is for {}, not for {host}",
                    names.join(", ")
                )
            };
            let advice = if names.is_empty() {
                "Connect with the host name the certificate was made for.".to_string()
            } else {
                format!(
                    "Connect with a name the certificate covers ({}), or ask the server's administrator for a certificate that names {host}.",
                    names.join(", ")
                )
            };
            (reason, Some(advice))
        }
        C::UnknownIssuer if is_self_signed => {
            untrusted("the server's certificate is self-signed (issued by itself), so no trusted authority vouches for it".into())
        }
        C::UnknownIssuer => {
            untrusted("the server's certificate is not issued by a trusted authority".into())
        }
        C::Other(o) if is_ca_used_as_end_entity(o) => untrusted(
            "the server presents a CA certificate (CA:TRUE, as `openssl req -x509` makes) as its own certificate".into(),
        ),
        C::Revoked => ("the server's certificate has been revoked".into(), None),
        C::ApplicationVerificationFailure => (
            "the server's certificate does not match the pinned fingerprint".into(),
            Some(format!(
                "If the server's certificate was replaced, {admin} and pass the new one to --fingerprint."
            )),
        ),
        C::BadEncoding => ("the server's certificate could not be read".into(), None),
        C::BadSignature => ("the server's certificate has an invalid signature".into(), None),
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => (
            "the server's certificate is not meant for a server (its key usage forbids it)".into(),
            None,
        ),
        C::UnsupportedSignatureAlgorithmContext { .. }
        | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => (
            "the server's certificate is signed with an algorithm popdoc does not support".into(),
            None,
        ),
        other => (format!("the server's certificate was refused ({other})"), None),
    }
}

fn is_ca_used_as_end_entity(o: &rustls::OtherError) -> bool {
    matches!(
        o.0.downcast_ref::<webpki::Error>(),
        Some(webpki::Error::CaUsedAsEndEntity)
    )
}
