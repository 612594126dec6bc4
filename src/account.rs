//! What popdoc connects to and how it logs in: an [`Account`], built from
//! a URL and command-line options, or from the config file (`config`).
//! Holds no secret in the clear: a password from the config file is a
//! [`SecretString`], and nothing here prints one.
//!
//! URL forms: `pop3s://USER@HOST[:PORT]` (TLS from the start, port 995)
//! and `pop3://USER@HOST[:PORT]` (STLS required, port 110). A password in
//! the URL is refused: it would end up in shell history and process lists.

use std::path::PathBuf;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::client::conn::{Credentials, LoginMethod};
use crate::client::transport::{CertCheck, Endpoint, Security};

/// Where the secret (password or OAuth2 token) comes from.
///
/// `Debug` is written by hand: a password held here prints as `***`.
#[derive(Clone)]
pub enum SecretSource {
    /// An environment variable holding the password.
    Env(String),
    /// A shell command whose first output line is the password.
    Command(String),
    /// A shell command whose first output line is an OAuth2 bearer token.
    TokenCommand(String),
    /// The OS keyring (Secret Service, macOS Keychain, Windows Credential
    /// Manager): the entry `service` / `user` (popdoc uses the service
    /// `popdoc` and the account name).
    Keyring { service: String, user: String },
    /// A password written in the config file (accepted with a warning).
    ConfigPassword(SecretString),
    /// A password held by the application itself (the demo server).
    Fixed(SecretString),
    /// Ask on the terminal.
    Prompt,
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretSource::Env(v) => f.debug_tuple("Env").field(v).finish(),
            SecretSource::Command(c) => f.debug_tuple("Command").field(c).finish(),
            SecretSource::TokenCommand(c) => f.debug_tuple("TokenCommand").field(c).finish(),
            SecretSource::Keyring { service, user } => f
                .debug_struct("Keyring")
                .field("service", service)
                .field("user", user)
                .finish(),
            SecretSource::ConfigPassword(_) => f.write_str("ConfigPassword(***)"),
            SecretSource::Fixed(_) => f.write_str("Fixed(***)"),
            SecretSource::Prompt => f.write_str("Prompt"),
        }
    }
}

impl PartialEq for SecretSource {
    fn eq(&self, other: &Self) -> bool {
        use SecretSource::*;
        match (self, other) {
            (Env(a), Env(b)) | (Command(a), Command(b)) | (TokenCommand(a), TokenCommand(b)) => {
                a == b
            }
            (
                Keyring {
                    service: s1,
                    user: u1,
                },
                Keyring {
                    service: s2,
                    user: u2,
                },
            ) => s1 == s2 && u1 == u2,
            (ConfigPassword(a), ConfigPassword(b)) | (Fixed(a), Fixed(b)) => {
                a.expose_secret() == b.expose_secret()
            }
            (Prompt, Prompt) => true,
            _ => false,
        }
    }
}

impl Eq for SecretSource {}

impl SecretSource {
    /// The keyring entry for the account named `name`.
    pub fn keyring_for(name: &str) -> SecretSource {
        SecretSource::Keyring {
            service: KEYRING_SERVICE.into(),
            user: name.into(),
        }
    }
}

/// The keyring service name under which popdoc stores passwords.
pub const KEYRING_SERVICE: &str = "popdoc";

#[derive(Debug, Clone)]
pub struct Account {
    /// How the user named it: an account name or the URL.
    pub label: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub security: Security,
    pub cert: CertCheck,
    pub login: LoginMethod,
    pub secret: SecretSource,
    pub timeout: Duration,
    pub connect_timeout: Duration,
    pub save_dir: Option<PathBuf>,
    pub preview_lines: u32,
    /// NOOP interval while idle in the TUI.
    pub keepalive: Option<Duration>,
    /// What chose `Security::Plaintext`, in words for reports: the
    /// `--plaintext` flag, the config file, or the built-in demo server.
    pub plaintext_by: Option<&'static str>,
    /// Where the header cache is kept (`cache`); off for an account made
    /// with [`Account::new`], on for one from a URL or the config file.
    pub cache: CacheSetting,
}

/// Where an account's header cache is kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum CacheSetting {
    /// No cache: nothing is read or written (`--no-cache`, `cache = false`).
    #[default]
    Off,
    /// popdoc's folder in the user's cache folder.
    Default,
    /// This folder.
    In(PathBuf),
}

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
pub const DEFAULT_PREVIEW_LINES: u32 = 200;
/// A NOOP every 3 minutes while idle: well before the autologout servers
/// apply (RFC 1939 §3: at least 10 minutes), without chatter.
pub const DEFAULT_KEEPALIVE: Duration = Duration::from_secs(180);

/// The secret source when none is named: `$POPDOC_PASSWORD` when it is
/// set and not empty, else a prompt.
pub fn default_secret() -> SecretSource {
    if std::env::var_os("POPDOC_PASSWORD").is_some_and(|v| !v.is_empty()) {
        SecretSource::Env("POPDOC_PASSWORD".into())
    } else {
        SecretSource::Prompt
    }
}

impl Account {
    /// An account with every setting at its default: system certificate
    /// check, automatic login, the default secret source, default timeouts,
    /// preview size and keepalive.
    pub fn new(label: &str, host: &str, port: u16, user: &str, security: Security) -> Account {
        Account {
            label: label.to_string(),
            host: host.to_string(),
            port,
            user: user.to_string(),
            security,
            cert: CertCheck::System,
            login: LoginMethod::Auto,
            secret: default_secret(),
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            save_dir: None,
            preview_lines: DEFAULT_PREVIEW_LINES,
            keepalive: Some(DEFAULT_KEEPALIVE),
            plaintext_by: None,
            cache: CacheSetting::Off,
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint {
            host: self.host.clone(),
            port: self.port,
            security: self.security,
            cert: self.cert.clone(),
            connect_timeout: self.connect_timeout,
        }
    }

    /// The one place credentials are built: this account's user with the
    /// secret found for it (`token`: an OAuth2 bearer token).
    pub fn credentials(&self, secret: SecretString, token: bool) -> Credentials {
        Credentials {
            user: self.user.clone(),
            secret,
            token,
        }
    }

    /// `alice@pop.example.com:995`
    pub fn server_label(&self) -> String {
        format!("{}@{}:{}", self.user, self.host, self.port)
    }
}

/// The parts of a POP3 URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UrlParts {
    pub security: Security,
    pub user: String,
    pub host: String,
    pub port: u16,
}

pub fn looks_like_url(s: &str) -> bool {
    s.contains("://")
}

/// One kind of server URL (POP3, SMTP): its schemes and the words its
/// errors use.
pub struct UrlKind {
    /// Each scheme (lower case) with the security it stands for.
    pub schemes: &'static [(&'static str, Security)],
    /// Added to "is not a URL" (empty, or starting with `; `).
    pub not_url_hint: &'static str,
    /// Which schemes to use instead of an unknown one.
    pub schemes_hint: &'static str,
    /// `a POP3 URL`
    pub name: &'static str,
    /// The whole form, e.g. `pop3s://USER@HOST[:PORT]`.
    pub form: &'static str,
    /// Whether the user part is required.
    pub user_required: bool,
}

/// A server URL as written: the port only when one was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl {
    pub security: Security,
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
}

/// POP3 URLs: `pop3s://` (TLS, 995) and `pop3://` (STLS, 110).
const POP3_URL: UrlKind = UrlKind {
    schemes: &[("pop3s", Security::Implicit), ("pop3", Security::StartTls)],
    not_url_hint: "; use pop3s://USER@HOST or pop3://USER@HOST",
    schemes_hint: "pop3s:// (TLS, port 995) or pop3:// (STLS, port 110)",
    name: "a POP3 URL",
    form: "pop3s://USER@HOST[:PORT]",
    user_required: true,
};

/// Parses `pop3s://USER@HOST[:PORT]` or `pop3://USER@HOST[:PORT]`.
pub fn parse_url(s: &str) -> Result<UrlParts, String> {
    let u = parse_server_url(s, &POP3_URL)?;
    Ok(UrlParts {
        security: u.security,
        user: u.user.unwrap_or_default(),
        host: u.host,
        port: u.port.unwrap_or(u.security.default_port()),
    })
}

/// The one URL parser: `SCHEME://[USER@]HOST[:PORT]`, the user
/// %-decoded (it may itself contain `@`), never a password.
pub fn parse_server_url(s: &str, kind: &UrlKind) -> Result<ServerUrl, String> {
    let (scheme, rest) = s
        .split_once("://")
        .ok_or_else(|| format!("\"{s}\" is not a URL{}", kind.not_url_hint))?;
    let lower = scheme.to_ascii_lowercase();
    let Some(&(_, security)) = kind.schemes.iter().find(|(name, _)| *name == lower) else {
        return Err(format!(
            "unknown scheme \"{lower}\"; use {}",
            kind.schemes_hint
        ));
    };
    let rest = rest.trim_end_matches('/');
    if rest.contains(['/', '?', '#']) {
        return Err(format!(
            "\"{s}\": {} has no path or query; use {}",
            kind.name, kind.form
        ));
    }
    // The user may itself contain '@' (an e-mail address): split at the last.
    let (user, hostport) = match rest.rsplit_once('@') {
        Some((userinfo, hostport)) => {
            if userinfo.contains(':') {
                return Err("do not put the password in the URL (it would be visible in shell history and process lists); popdoc asks for it, or reads POPDOC_PASSWORD or --password-command".into());
            }
            let user = percent_decode(userinfo)?;
            if user.is_empty() {
                return Err(format!("\"{s}\" has an empty user name"));
            }
            (Some(user), hostport)
        }
        None if kind.user_required => {
            return Err(format!(
                "\"{s}\" has no user name; use {scheme}://USER@HOST"
            ));
        }
        None => (None, rest),
    };
    let (host, port) = split_host_port(hostport)?;
    if host.is_empty() {
        return Err(format!("\"{s}\" has no host name"));
    }
    Ok(ServerUrl {
        security,
        user,
        host,
        port,
    })
}

/// `HOST`, `HOST:PORT`, `[IPv6]` or `[IPv6]:PORT`.
fn split_host_port(s: &str) -> Result<(String, Option<u16>), String> {
    let bad_port = |p: &str| format!("\"{p}\" is not a port number (1-65535)");
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest
            .split_once(']')
            .ok_or_else(|| format!("\"{s}\": missing ']' after an IPv6 address"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad_port(p))?,
            ),
            None if after.is_empty() => None,
            None => return Err(format!("\"{s}\" is not HOST:PORT")),
        };
        return Ok((host.to_string(), port));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => Ok((
            h.to_string(),
            Some(
                p.parse::<u16>()
                    .ok()
                    .filter(|p| *p > 0)
                    .ok_or_else(|| bad_port(p))?,
            ),
        )),
        None => Ok((s.to_string(), None)),
    }
}

/// `%40` and friends in a URL's user part.
fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad %-escape in \"{s}\""))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("\"{s}\" is not UTF-8 after %-decoding"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            parse_url("pop3s://alice@pop.example.com").unwrap(),
            UrlParts {
                security: Security::Implicit,
                user: "alice".into(),
                host: "pop.example.com".into(),
                port: 995
            }
        );
        let u = parse_url("pop3://alice@example.com@mail.example.com:1110").unwrap();
        assert_eq!(
            (u.security, u.user.as_str(), u.host.as_str(), u.port),
            (
                Security::StartTls,
                "alice@example.com",
                "mail.example.com",
                1110
            )
        );
        let u = parse_url("POP3S://bob%40example.net@[::1]:9995/").unwrap();
        assert_eq!(
            (u.user.as_str(), u.host.as_str(), u.port),
            ("bob@example.net", "::1", 9995)
        );
        assert_eq!(parse_url("pop3://u@[::1]").unwrap().port, 110);
    }

    #[test]
    fn bad_urls_say_what_to_do() {
        let e = parse_url("pop3s://alice:hunter2@host").unwrap_err();
        assert!(e.contains("do not put the password in the URL"), "{e}");
        assert!(!e.contains("hunter2"));
        assert!(
            parse_url("imap://a@b")
                .unwrap_err()
                .contains("unknown scheme")
        );
        assert!(
            parse_url("pop3s://host")
                .unwrap_err()
                .contains("no user name")
        );
        assert!(
            parse_url("pop3s://a@host:0")
                .unwrap_err()
                .contains("not a port")
        );
        assert!(
            parse_url("pop3s://a@host:99999")
                .unwrap_err()
                .contains("not a port")
        );
        assert!(
            parse_url("pop3s://a@host/INBOX")
                .unwrap_err()
                .contains("no path")
        );
        assert!(
            parse_url("pop3s://@host")
                .unwrap_err()
                .contains("empty user")
        );
        assert!(
            parse_url("pop3s://a%zz@host")
                .unwrap_err()
                .contains("%-escape")
        );
        assert!(parse_url("alice@host").unwrap_err().contains("not a URL"));
    }
}
