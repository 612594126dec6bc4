//! Where an SMTP check connects and with what: `smtp://[USER@]HOST[:PORT]`
//! (STARTTLS, port 587) or `smtps://…` (TLS, port 465) with the shared
//! connection options, the password or token, and the envelope addresses
//! of `--send-test`. Parsing and validation only; no network.

use std::time::Duration;

use secrecy::SecretString;

use crate::account::{self, Account, ServerUrl, UrlKind};
use crate::cli::ConnArgs;
use crate::client::conn::LoginMethod;
use crate::client::transport::{CertCheck, Endpoint, Security};

/// Where and how to connect, from a URL and the shared options.
#[derive(Debug, Clone)]
pub struct Target {
    pub label: String,
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    pub security: Security,
    pub cert: CertCheck,
    pub login: LoginMethod,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// The same as an account, for getting the password or token.
    account: Account,
}

impl Target {
    /// Where to connect: the account's endpoint (the same host, port,
    /// security, certificate check and connect timeout as the fields).
    pub fn endpoint(&self) -> Endpoint {
        self.account.endpoint()
    }
}

/// The test message to send.
#[derive(Debug, Clone)]
pub struct SendOptions {
    pub from: String,
    pub to: String,
}

/// Whether `s` names an SMTP server (`smtp://` or `smtps://`).
pub fn is_smtp_url(s: &str) -> bool {
    let lower = s.to_ascii_lowercase();
    lower.starts_with("smtp://") || lower.starts_with("smtps://")
}

/// SMTP URLs: `smtp://` (STARTTLS, 587) and `smtps://` (TLS, 465).
const SMTP_URL: UrlKind = UrlKind {
    schemes: &[("smtp", Security::StartTls), ("smtps", Security::Implicit)],
    not_url_hint: "",
    schemes_hint: "smtp:// or smtps://",
    name: "an SMTP URL",
    form: "smtp://[USER@]HOST[:PORT]",
    user_required: false,
};

/// Parses `smtp[s]://[USER@]HOST[:PORT]` with the shared options.
pub fn target(url: &str, args: &ConnArgs) -> Result<Target, String> {
    let ServerUrl {
        security,
        user,
        host,
        port,
    } = account::parse_server_url(url, &SMTP_URL)?;
    if args.plaintext && security == Security::Implicit {
        return Err("--plaintext goes with smtp:// URLs; smtps:// is always encrypted".into());
    }
    let port = port.unwrap_or(if security == Security::Implicit {
        465
    } else {
        587
    });
    let mut a = Account {
        keepalive: None,
        ..Account::new(
            url,
            &host,
            port,
            user.as_deref().unwrap_or_default(),
            security,
        )
    };
    args.apply(&mut a)?;
    if !matches!(a.login, LoginMethod::Auto | LoginMethod::Sasl(_)) {
        return Err(format!(
            "login method \"{}\" is not for SMTP; use auto, plain, login, xoauth2 or oauthbearer",
            args.login.as_deref().unwrap_or_default()
        ));
    }
    Ok(Target {
        label: url.to_string(),
        host,
        port,
        user,
        security: a.security,
        cert: a.cert.clone(),
        login: a.login,
        timeout: a.timeout,
        connect_timeout: a.connect_timeout,
        account: a,
    })
}

/// Checks an envelope address for `--send-test` / `--from`.
pub fn valid_address(a: &str) -> Result<(), String> {
    if a.is_empty()
        || a.chars()
            .any(|c| c.is_control() || c.is_whitespace() || c == '<' || c == '>')
        || !a.contains('@')
    {
        return Err(format!(
            "\"{a}\" is not an e-mail address popdoc can send to (user@domain, no spaces or angle brackets)"
        ));
    }
    Ok(())
}

/// The password or token, when a user was given (the environment,
/// `--password-command`, `--oauth-token-command`, or a prompt).
pub(super) fn obtain_secret(t: &Target) -> Result<(SecretString, bool), String> {
    crate::secret::obtain(&t.account).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> ConnArgs {
        ConnArgs {
            timeout: Some(5),
            connect_timeout: Some(5),
            ..Default::default()
        }
    }

    #[test]
    fn urls_and_defaults() {
        let t = target("smtp://alice@mail.example.test", &args()).unwrap();
        assert_eq!((t.security, t.port), (Security::StartTls, 587));
        assert_eq!(t.user.as_deref(), Some("alice"));
        let t = target("SMTPS://mail.example.test:2465", &args()).unwrap();
        assert_eq!(
            (t.security, t.port, t.user),
            (Security::Implicit, 2465, None)
        );
        let t = target("smtps://a%40b.test@[::1]", &args()).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 465));
        assert_eq!(t.user.as_deref(), Some("a@b.test"));
        assert!(
            target("smtp://a:pw@h", &args())
                .unwrap_err()
                .contains("password")
        );
        assert!(target("smtp://h:0", &args()).is_err());
        let mut a = args();
        a.login = Some("apop".into());
        assert!(target("smtp://h", &a).unwrap_err().contains("not for SMTP"));
        a.login = Some("auto".into());
        a.plaintext = true;
        assert_eq!(
            target("smtp://h", &a).unwrap().security,
            Security::Plaintext
        );
        assert!(target("smtps://h", &a).is_err());
    }
}
