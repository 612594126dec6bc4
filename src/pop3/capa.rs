//! The CAPA reply (RFC 2449 §5, §6) parsed into [`Capabilities`].
//!
//! Unknown capabilities are kept as sent, so that `check` can show them.

use super::text::printable;

/// An `EXPIRE` or `LOGIN-DELAY` value (RFC 2449 §6.5, §6.8).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expire {
    Never,
    Days(u32),
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// The lines as sent, printable.
    pub raw: Vec<String>,
    pub top: bool,
    pub uidl: bool,
    pub user: bool,
    pub stls: bool,
    pub pipelining: bool,
    pub resp_codes: bool,
    pub auth_resp_code: bool,
    pub utf8: bool,
    /// SASL mechanisms, upper-cased, in the server's order.
    pub sasl: Vec<String>,
    /// `LOGIN-DELAY n [USER]`: seconds, and whether it may vary per user.
    pub login_delay: Option<(u32, bool)>,
    /// `EXPIRE n|NEVER [USER]`.
    pub expire: Option<(Expire, bool)>,
    pub implementation: Option<String>,
    pub lang: bool,
}

impl Capabilities {
    /// Parses the body of a `+OK` reply to CAPA (lines separated by CRLF).
    pub fn parse(body: &[u8]) -> Capabilities {
        let mut caps = Capabilities::default();
        for line in body.split(|b| *b == b'\n') {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let text = printable(line);
            let text = text.trim();
            if text.is_empty() {
                continue;
            }
            caps.raw.push(text.to_string());
            let mut words = text.split_whitespace();
            let Some(name) = words.next() else { continue };
            let args: Vec<&str> = words.collect();
            let per_user = args.get(1).is_some_and(|w| w.eq_ignore_ascii_case("USER"));
            match name.to_ascii_uppercase().as_str() {
                "TOP" => caps.top = true,
                "UIDL" => caps.uidl = true,
                "USER" => caps.user = true,
                "STLS" => caps.stls = true,
                "PIPELINING" => caps.pipelining = true,
                "RESP-CODES" => caps.resp_codes = true,
                "AUTH-RESP-CODE" => caps.auth_resp_code = true,
                "UTF8" => caps.utf8 = true,
                "LANG" => caps.lang = true,
                "SASL" => caps
                    .sasl
                    .extend(args.iter().map(|m| m.to_ascii_uppercase())),
                "LOGIN-DELAY" => {
                    caps.login_delay = args
                        .first()
                        .and_then(|n| n.parse().ok())
                        .map(|n| (n, per_user));
                }
                "EXPIRE" => {
                    caps.expire = args.first().and_then(|v| {
                        let e = if v.eq_ignore_ascii_case("NEVER") {
                            Expire::Never
                        } else {
                            Expire::Days(v.parse().ok()?)
                        };
                        Some((e, per_user))
                    });
                }
                "IMPLEMENTATION" => caps.implementation = Some(args.join(" ")),
                _ => {}
            }
        }
        caps
    }

    pub fn has_sasl(&self, mechanism: &str) -> bool {
        self.sasl.iter().any(|m| m.eq_ignore_ascii_case(mechanism))
    }

    /// LOGIN-DELAY in words, for reports.
    pub fn login_delay_words(&self) -> Option<String> {
        let (secs, per_user) = self.login_delay?;
        let mut s = if secs == 0 {
            "no minimum delay between logins".to_string()
        } else {
            format!("at least {} between logins", duration_words(secs))
        };
        if per_user {
            s.push_str(" (may differ per user)");
        }
        Some(s)
    }

    /// EXPIRE in words, for reports.
    pub fn expire_words(&self) -> Option<String> {
        let (expire, per_user) = self.expire.as_ref()?;
        let mut s = match expire {
            Expire::Never => "the server never deletes messages by itself".to_string(),
            Expire::Days(0) => "messages are deleted once retrieved, even without DELE".to_string(),
            Expire::Days(1) => "retrieved messages are deleted by the server after 1 day".into(),
            Expire::Days(d) => {
                format!("retrieved messages are deleted by the server after {d} days")
            }
        };
        if *per_user {
            s.push_str(" (may differ per user)");
        }
        Some(s)
    }
}

fn duration_words(secs: u32) -> String {
    match secs {
        s if s % 3600 == 0 && s > 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dovecot_capa() {
        let body = b"CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n";
        let c = Capabilities::parse(body);
        assert!(c.top && c.uidl && c.resp_codes && c.pipelining && c.auth_resp_code);
        assert!(c.stls && c.user);
        assert_eq!(c.sasl, vec!["PLAIN", "LOGIN"]);
        assert!(c.has_sasl("plain"));
        assert!(!c.has_sasl("XOAUTH2"));
        assert_eq!(c.raw.len(), 9);
    }

    #[test]
    fn rfc2449_examples() {
        let body = b"TOP\r\nUSER\r\nSASL CRAM-MD5 KERBEROS_V4\r\nRESP-CODES\r\nLOGIN-DELAY 900\r\nPIPELINING\r\nEXPIRE 60\r\nUIDL\r\nIMPLEMENTATION Shlemazle-Plotz-v302\r\n";
        let c = Capabilities::parse(body);
        assert_eq!(c.login_delay, Some((900, false)));
        assert_eq!(c.expire, Some((Expire::Days(60), false)));
        assert_eq!(c.implementation.as_deref(), Some("Shlemazle-Plotz-v302"));
        assert_eq!(
            c.login_delay_words().unwrap(),
            "at least 15 min between logins"
        );
        assert!(c.expire_words().unwrap().contains("60 days"));
        let c = Capabilities::parse(b"EXPIRE NEVER USER\r\nLOGIN-DELAY 30 USER\r\n");
        assert_eq!(c.expire, Some((Expire::Never, true)));
        assert_eq!(c.login_delay, Some((30, true)));
        assert!(c.expire_words().unwrap().contains("never"));
        assert!(c.login_delay_words().unwrap().contains("30 s"));
        assert_eq!(
            Capabilities::parse(b"LOGIN-DELAY 0\r\n")
                .login_delay_words()
                .unwrap(),
            "no minimum delay between logins"
        );
        assert!(
            Capabilities::parse(b"EXPIRE 0\r\n")
                .expire_words()
                .unwrap()
                .contains("once retrieved")
        );
    }

    #[test]
    fn odd_input_is_harmless() {
        let c = Capabilities::parse(
            b"\r\n  \r\nLOGIN-DELAY soon\r\nEXPIRE x\r\nX-\x1bWEIRD\r\nUTF8 USER\r\nLANG\r\n",
        );
        assert_eq!(c.login_delay, None);
        assert_eq!(c.expire, None);
        assert!(c.utf8 && c.lang);
        assert!(c.raw.iter().all(|l| !l.chars().any(char::is_control)));
        assert_eq!(Capabilities::parse(b""), Capabilities::default());
    }
}
