//! What a support person needs to know about a server certificate: subject,
//! issuer, the names it covers, validity, and whether it is about to expire.
//! Parses DER with x509-parser; pure (the current time is a parameter).

use x509_parser::prelude::{FromDer, X509Certificate};

use super::model::CertSummary;

/// A certificate expiring within this many days gets a warning.
pub const EXPIRY_WARNING_DAYS: i64 = 30;

const DAY: i64 = 86_400;

/// Summarises a DER certificate as seen at `now` (Unix seconds).
pub fn summarize(der: &[u8], now: i64) -> Result<CertSummary, String> {
    let (_, cert) = X509Certificate::from_der(der)
        .map_err(|e| format!("the server's certificate could not be read: {e}"))?;
    let not_before = cert.validity().not_before.timestamp();
    let not_after = cert.validity().not_after.timestamp();
    let names = crate::client::verify::certificate_names(der);
    Ok(CertSummary {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        names,
        not_before: time_text(not_before),
        not_after: time_text(not_after),
        days_left: (not_after - now).div_euclid(DAY),
        self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
    })
}

/// A sentence when the certificate has expired, is not valid yet, or
/// expires within [`EXPIRY_WARNING_DAYS`].
pub fn expiry_warning(c: &CertSummary, not_yet_valid: bool) -> Option<String> {
    if not_yet_valid {
        return Some(format!(
            "the server's certificate is not valid before {}",
            c.not_before
        ));
    }
    match c.days_left {
        d if d < 0 => Some(format!(
            "the server's certificate expired on {} ({} days ago)",
            c.not_after, -d
        )),
        d if d < EXPIRY_WARNING_DAYS => Some(format!(
            "the server's certificate expires on {} (in {d} day{}); tell the server's administrator",
            c.not_after,
            if d == 1 { "" } else { "s" }
        )),
        _ => None,
    }
}

/// Whether `now` is before the certificate's start.
pub fn not_yet_valid(der: &[u8], now: i64) -> bool {
    X509Certificate::from_der(der)
        .map(|(_, c)| c.validity().not_before.timestamp() > now)
        .unwrap_or(false)
}

fn time_text(unix: i64) -> String {
    crate::util::rfc3339(unix).unwrap_or_else(|| unix.to_string())
}

/// Now, in Unix seconds.
pub fn now() -> i64 {
    jiff::Timestamp::now().as_second()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate that ends on 2030-06-15 and the "now" that leaves
    /// `days_left` whole days (and an hour) before that.
    fn cert(days_left: i64, self_signed: bool) -> (Vec<u8>, i64) {
        let end = jiff::civil::date(2030, 6, 15)
            .to_zoned(jiff::tz::TimeZone::UTC)
            .unwrap()
            .timestamp()
            .as_second();
        let now = end - days_left * DAY - 3600;
        let mut p = rcgen::CertificateParams::new(vec![
            "mail.example.test".to_string(),
            "127.0.0.1".to_string(),
        ])
        .unwrap();
        p.distinguished_name
            .push(rcgen::DnType::CommonName, "mail.example.test");
        p.distinguished_name
            .push(rcgen::DnType::OrganizationName, "Example Mail");
        p.not_before = rcgen::date_time_ymd(2020, 1, 1);
        p.not_after = rcgen::date_time_ymd(2030, 6, 15);
        let key = rcgen::KeyPair::generate().unwrap();
        let der = if self_signed {
            p.self_signed(&key).unwrap().der().to_vec()
        } else {
            let ca_key = rcgen::KeyPair::generate().unwrap();
            let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
            ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
            ca.distinguished_name
                .push(rcgen::DnType::CommonName, "Example CA");
            let issuer = rcgen::Issuer::new(ca, ca_key);
            p.signed_by(&key, &issuer).unwrap().der().to_vec()
        };
        (der, now)
    }

    #[test]
    fn summary_of_an_rcgen_certificate() {
        let (der, now) = cert(400, false);
        let s = summarize(&der, now).unwrap();
        assert_eq!(s.subject, "CN=mail.example.test, O=Example Mail");
        assert_eq!(s.issuer, "CN=Example CA");
        assert_eq!(s.names, vec!["mail.example.test", "127.0.0.1"]);
        assert_eq!(s.not_before, "2020-01-01T00:00:00Z");
        assert_eq!(s.not_after, "2030-06-15T00:00:00Z");
        assert_eq!(s.days_left, 400);
        assert!(!s.self_signed);
        assert_eq!(expiry_warning(&s, false), None);
        assert!(!not_yet_valid(&der, now));
        assert!(not_yet_valid(&der, 0));

        let (der, now) = cert(10, true);
        let s = summarize(&der, now).unwrap();
        assert!(s.self_signed);
        let w = expiry_warning(&s, false).unwrap();
        assert!(w.contains("expires on") && w.contains("in 10 days"), "{w}");
    }

    #[test]
    fn expired_and_garbage() {
        let (der, now) = cert(-3, true);
        let s = summarize(&der, now).unwrap();
        assert_eq!(s.days_left, -3);
        assert!(expiry_warning(&s, false).unwrap().contains("3 days ago"));
        assert!(summarize(b"not a certificate", now).is_err());
        let boundary = CertSummary {
            days_left: EXPIRY_WARNING_DAYS,
            ..s.clone()
        };
        assert_eq!(expiry_warning(&boundary, false), None);
        let inside = CertSummary {
            days_left: EXPIRY_WARNING_DAYS - 1,
            ..s
        };
        assert!(expiry_warning(&inside, false).is_some());
    }
}
