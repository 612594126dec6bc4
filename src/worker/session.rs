//! Facts about the session the worker opened, as typed fields for the
//! status bar and the report: who, where, how it is protected, and which
//! provider it is (when the provider's habits matter to the user).
//! Nothing here parses a `server` string back into its parts.

/// A provider whose POP3 habits the user should hear about.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Provider {
    #[default]
    Other,
    /// Gmail: a RETR followed by QUIT can mark messages as downloaded, and
    /// a session shows a limited number of messages.
    Gmail,
}

impl Provider {
    /// Known by its host name, or by its greeting (`Gpop`).
    pub fn recognise(host: &str, greeting: &str) -> Provider {
        let host = host.to_ascii_lowercase();
        if host.ends_with("gmail.com")
            || host.ends_with("googlemail.com")
            || greeting.contains("Gpop")
        {
            Provider::Gmail
        } else {
            Provider::Other
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct SessionInfo {
    pub user: String,
    pub host: String,
    pub port: u16,
    /// The TLS version in force ("TLS 1.3"); `None` on a plain connection.
    pub tls: Option<String>,
    pub provider: Provider,
    pub greeting: String,
    pub method: String,
    pub pipelining: bool,
    pub top: bool,
    pub uidl: bool,
    pub started_utc: String,
    pub implementation: Option<String>,
}

impl SessionInfo {
    /// `alice@pop.example.com:995`
    pub fn server_label(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }

    /// "TLS 1.3" or "plain".
    pub fn security_label(&self) -> &str {
        self.tls.as_deref().unwrap_or("plain")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gmail_is_known_by_host_or_greeting() {
        assert_eq!(Provider::recognise("pop.gmail.com", ""), Provider::Gmail);
        assert_eq!(
            Provider::recognise("POP.GoogleMail.com", "+OK"),
            Provider::Gmail
        );
        assert_eq!(
            Provider::recognise("mail.example.com", "+OK Gpop ready"),
            Provider::Gmail
        );
        assert_eq!(
            Provider::recognise("mail.example.com", "+OK Dovecot ready."),
            Provider::Other
        );
    }

    #[test]
    fn labels_come_from_the_fields() {
        let info = SessionInfo {
            user: "me@gmail.com".into(),
            host: "pop.gmail.com".into(),
            port: 995,
            tls: Some("TLS 1.3".into()),
            ..Default::default()
        };
        assert_eq!(info.server_label(), "me@gmail.com@pop.gmail.com:995");
        assert_eq!(info.security_label(), "TLS 1.3");
        assert_eq!(SessionInfo::default().security_label(), "plain");
    }
}
