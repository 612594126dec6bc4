//! The config file's keys and how each is read: a walk over the parsed
//! TOML (every key and value keeps its span), so an error can name the
//! line, the key and what is allowed. Unknown keys are errors. Values that
//! may be secrets are never quoted in a message.
//!
//! This module only reads text; it opens no file and reads no environment.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrecy::SecretString;
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::names::{check_name, nearest, show_name};
use super::value::{boolean, choice, command, number, path, string};
use crate::account::{self, Account, SecretSource};
use crate::client::conn::LoginMethod;
use crate::client::transport::{CertCheck, Security, parse_fingerprint};

/// Keys at the top level of the file.
pub const TOP_KEYS: &[&str] = &["default", "accounts"];

/// Keys of an `[accounts.NAME]` table, in the order the docs list them.
pub const ACCOUNT_KEYS: &[&str] = &[
    "host",
    "port",
    "user",
    "tls",
    "ca-file",
    "fingerprint",
    "insecure-no-verify",
    "login",
    "password-command",
    "password-env",
    "keyring",
    "password",
    "oauth-token-command",
    "timeout",
    "connect-timeout",
    "save-dir",
    "preview-lines",
    "keepalive",
    "cache",
];

pub const TLS_VALUES: &[&str] = &["implicit", "starttls", "plaintext"];
pub const LOGIN_VALUES: &[&str] = &[
    "auto",
    "plain",
    "login",
    "user",
    "apop",
    "xoauth2",
    "oauthbearer",
];

/// The secret sources an account may name; at most one.
const SECRET_KEYS: &[&str] = &[
    "password-command",
    "password-env",
    "keyring",
    "password",
    "oauth-token-command",
];

/// A problem at a place in the file: byte range and sentence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    pub span: Range<usize>,
    pub message: String,
}

pub(super) fn problem(span: Range<usize>, message: impl Into<String>) -> ConfigProblem {
    ConfigProblem {
        span,
        message: message.into(),
    }
}

/// One account read from the file.
pub struct AccountEntry {
    pub name: String,
    /// Where `[accounts.NAME]` (or the first of its keys) is.
    pub span: Range<usize>,
    pub account: Account,
    /// Where `password = "…"` is, when the password is in the file.
    pub password_at: Option<Range<usize>>,
}

/// The whole file, read.
pub struct Document {
    pub default: Option<(String, Range<usize>)>,
    /// In the order they appear in the file.
    pub accounts: Vec<AccountEntry>,
}

/// What an account without a password source falls back to.
pub type Fallback<'a> = &'a dyn Fn() -> SecretSource;

/// Reads the parsed document. `base` is the folder relative paths in the
/// file are taken from; `home` replaces a leading `~`.
pub fn read(
    root: &DeTable<'_>,
    text: &str,
    base: &Path,
    home: Option<&Path>,
    fallback: Fallback<'_>,
) -> Result<Document, ConfigProblem> {
    let mut default = None;
    let mut accounts = Vec::new();
    for (key, value) in in_file_order(root) {
        match key.get_ref().as_ref() {
            "default" => {
                let name = string(&key_name(key), value)?;
                default = Some((name.to_string(), value.span()));
            }
            "accounts" => {
                let DeValue::Table(table) = value.get_ref() else {
                    return Err(problem(
                        value.span(),
                        "\"accounts\" must be a table: write each account as [accounts.NAME] followed by its keys",
                    ));
                };
                for (name, body) in in_file_order(table) {
                    accounts.push(read_account(name, body, text, base, home, fallback)?);
                }
            }
            other => {
                let mut message = format!(
                    "unknown key \"{}\" at the top level; allowed: {}",
                    crate::pop3::text::stripped(other),
                    TOP_KEYS.join(", ")
                );
                if ACCOUNT_KEYS.contains(&other) {
                    message.push_str(
                        "; account settings go in a table: [accounts.NAME] followed by its keys",
                    );
                }
                return Err(problem(key.span(), message));
            }
        }
    }
    if let Some((name, span)) = &default
        && !accounts.iter().any(|a| &a.name == name)
    {
        return Err(problem(
            span.clone(),
            format!(
                "\"default\" names \"{name}\", which is not an account here; the config has: {}",
                names(&accounts)
            ),
        ));
    }
    Ok(Document { default, accounts })
}

pub fn names(accounts: &[AccountEntry]) -> String {
    if accounts.is_empty() {
        return "no accounts".into();
    }
    accounts
        .iter()
        .map(|a| a.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

type Entry<'a, 'i> = (
    &'a Spanned<toml::de::DeString<'i>>,
    &'a Spanned<DeValue<'i>>,
);

/// A table's entries sorted by where their keys are in the file.
fn in_file_order<'a, 'i>(table: &'a DeTable<'i>) -> Vec<Entry<'a, 'i>> {
    let mut v: Vec<_> = table.iter().collect();
    v.sort_by_key(|(k, _)| k.span().start);
    v
}

fn key_name(key: &Spanned<toml::de::DeString<'_>>) -> String {
    key.get_ref().to_string()
}

/// Everything one account table says, before checking how keys combine.
#[derive(Default)]
struct Raw {
    host: Option<String>,
    port: Option<u16>,
    user: Option<String>,
    tls: Option<Security>,
    ca_file: Option<PathBuf>,
    fingerprint: Option<[u8; 32]>,
    insecure_no_verify: bool,
    login: Option<(LoginMethod, Range<usize>)>,
    password_command: Option<String>,
    password_env: Option<String>,
    keyring: bool,
    password: Option<SecretString>,
    oauth_token_command: Option<String>,
    timeout: Option<u64>,
    connect_timeout: Option<u64>,
    save_dir: Option<PathBuf>,
    preview_lines: Option<u32>,
    keepalive: Option<u64>,
    cache: Option<bool>,
    /// Where each key given is, by name.
    seen: Vec<(&'static str, Range<usize>)>,
}

impl Raw {
    /// Which of `keys` are given (a `false` flag is not), in file order.
    fn given(&self, keys: &[&'static str]) -> Vec<&'static str> {
        self.seen
            .iter()
            .map(|(k, _)| *k)
            .filter(|k| keys.contains(k))
            .filter(|k| match *k {
                "keyring" => self.keyring,
                "insecure-no-verify" => self.insecure_no_verify,
                _ => true,
            })
            .collect()
    }

    fn at(&self, key: &str) -> Option<Range<usize>> {
        self.seen
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, s)| s.clone())
    }
}

fn read_account(
    name: &Spanned<toml::de::DeString<'_>>,
    body: &Spanned<DeValue<'_>>,
    text: &str,
    base: &Path,
    home: Option<&Path>,
    fallback: Fallback<'_>,
) -> Result<AccountEntry, ConfigProblem> {
    let account_name = name.get_ref().to_string();
    let section = format!("[accounts.{}]", show_name(&account_name));
    check_name(&account_name).map_err(|m| problem(name.span(), m))?;
    let DeValue::Table(table) = body.get_ref() else {
        return Err(problem(
            body.span(),
            format!(
                "\"accounts.{account_name}\" must be a table: write {section} followed by its keys"
            ),
        ));
    };
    let mut raw = Raw::default();
    for (key, value) in in_file_order(table) {
        let k = key.get_ref().as_ref();
        let Some(&known) = ACCOUNT_KEYS.iter().find(|a| **a == k) else {
            let hint = nearest(k)
                .map(|near| format!(" (did you mean \"{near}\"?)"))
                .unwrap_or_default();
            return Err(problem(
                key.span(),
                format!(
                    "unknown key \"{}\" in {section}{hint}; allowed: {}",
                    crate::pop3::text::stripped(k),
                    ACCOUNT_KEYS.join(", ")
                ),
            ));
        };
        raw.seen.push((known, key.span()));
        read_key(&mut raw, known, value, base, home)?;
    }
    let missing = |key: &str| {
        problem(
            name.span(),
            format!("{section} has no \"{key}\"; it is required"),
        )
    };
    let host = raw.host.clone().ok_or_else(|| missing("host"))?;
    let user = raw.user.clone().ok_or_else(|| missing("user"))?;
    let security = raw.tls.unwrap_or(Security::Implicit);

    // Certificate checks: at most one, and none without TLS.
    let cert_keys = raw.given(&["ca-file", "fingerprint", "insecure-no-verify"]);
    if security == Security::Plaintext
        && let Some(k) = cert_keys.first()
    {
        return Err(problem(
            raw.at(k).unwrap_or(name.span()),
            format!(
                "\"{k}\" has no effect with tls = \"plaintext\" (no TLS, so no certificate); remove it, or use tls = \"starttls\" or \"implicit\""
            ),
        ));
    }
    if let [first, second, ..] = cert_keys.as_slice() {
        return Err(conflict(
            &raw,
            text,
            second,
            first,
            "check the certificate one way",
        ));
    }
    let cert = if let Some(p) = raw.ca_file.clone() {
        CertCheck::ExtraCa(p)
    } else if let Some(fp) = raw.fingerprint {
        CertCheck::Pin(fp)
    } else if raw.insecure_no_verify {
        CertCheck::NoVerify
    } else {
        CertCheck::System
    };

    // One secret source at most.
    let sources = raw.given(SECRET_KEYS);
    if let [first, second, ..] = sources.as_slice() {
        return Err(conflict(
            &raw,
            text,
            second,
            first,
            "give an account one source for its password or token",
        ));
    }
    let login = raw.login.clone();
    let wants_token = matches!(&login, Some((LoginMethod::Sasl(m), _)) if m.uses_token());
    if let (true, None) = (wants_token, &raw.oauth_token_command) {
        let (m, span) = login.clone().unwrap_or_default();
        return Err(problem(
            span,
            format!(
                "login = \"{}\" needs an OAuth2 token: add oauth-token-command",
                m.config_name()
            ),
        ));
    }
    if raw.oauth_token_command.is_some()
        && let Some((m, span)) = &login
        && !wants_token
        && *m != LoginMethod::Auto
    {
        return Err(problem(
            span.clone(),
            format!(
                "login = \"{}\" sends a password, but this account has oauth-token-command; use login = \"xoauth2\", \"oauthbearer\" or \"auto\"",
                m.config_name()
            ),
        ));
    }
    let secret = if let Some(c) = raw.password_command.clone() {
        SecretSource::Command(c)
    } else if let Some(v) = raw.password_env.clone() {
        SecretSource::Env(v)
    } else if raw.keyring {
        SecretSource::keyring_for(&account_name)
    } else if let Some(p) = raw.password.clone() {
        SecretSource::ConfigPassword(p)
    } else if let Some(c) = raw.oauth_token_command.clone() {
        SecretSource::TokenCommand(c)
    } else {
        fallback()
    };
    let account = Account {
        label: account_name.clone(),
        host,
        port: raw.port.unwrap_or(security.default_port()),
        user,
        security,
        cert,
        login: login.map(|(m, _)| m).unwrap_or_default(),
        secret,
        timeout: raw
            .timeout
            .map(Duration::from_secs)
            .unwrap_or(account::DEFAULT_TIMEOUT),
        connect_timeout: raw
            .connect_timeout
            .map(Duration::from_secs)
            .unwrap_or(account::DEFAULT_CONNECT_TIMEOUT),
        save_dir: raw.save_dir.clone(),
        preview_lines: raw.preview_lines.unwrap_or(account::DEFAULT_PREVIEW_LINES),
        keepalive: match raw.keepalive {
            Some(0) => None,
            Some(s) => Some(Duration::from_secs(s)),
            None => Some(account::DEFAULT_KEEPALIVE),
        },
        plaintext_by: (security == Security::Plaintext)
            .then_some("tls = \"plaintext\" in the config file"),
        cache: match raw.cache {
            Some(false) => account::CacheSetting::Off,
            _ => account::CacheSetting::Default,
        },
    };
    Ok(AccountEntry {
        name: account_name,
        span: name.span(),
        account,
        password_at: raw.at("password"),
    })
}

fn conflict(raw: &Raw, text: &str, second: &str, first: &str, why: &str) -> ConfigProblem {
    let first_line = line_of(text, raw.at(first).unwrap_or_default().start);
    problem(
        raw.at(second).unwrap_or_default(),
        format!("\"{second}\" conflicts with \"{first}\" (line {first_line}): {why}"),
    )
}

/// The 1-based line of a byte offset.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

fn read_key(
    raw: &mut Raw,
    key: &'static str,
    value: &Spanned<DeValue<'_>>,
    base: &Path,
    home: Option<&Path>,
) -> Result<(), ConfigProblem> {
    match key {
        "host" => {
            let h = string(key, value)?;
            if h.is_empty() || h.contains(char::is_whitespace) || h.contains('/') {
                return Err(problem(
                    value.span(),
                    "\"host\" must be a host name or address, like \"pop.example.com\" (no scheme, no port: the port goes in \"port\")",
                ));
            }
            raw.host = Some(h.trim_start_matches('[').trim_end_matches(']').to_string());
        }
        "port" => raw.port = Some(number(key, value, 1, 65535, "")? as u16),
        "user" => {
            let u = string(key, value)?;
            if u.is_empty() {
                return Err(problem(value.span(), "\"user\" must not be empty"));
            }
            raw.user = Some(u.to_string());
        }
        "tls" => {
            raw.tls = Some(match choice(key, value, TLS_VALUES)? {
                "implicit" => Security::Implicit,
                "starttls" => Security::StartTls,
                _ => Security::Plaintext,
            })
        }
        "ca-file" => raw.ca_file = Some(path(key, value, base, home)?),
        "fingerprint" => {
            let s = string(key, value)?;
            raw.fingerprint = Some(parse_fingerprint(s).ok_or_else(|| {
                problem(
                    value.span(),
                    format!("\"fingerprint\" must be a SHA-256 fingerprint: 64 hex digits, colons allowed (got {} characters)", s.len()),
                )
            })?);
        }
        "insecure-no-verify" => raw.insecure_no_verify = boolean(key, value)?,
        "login" => {
            let m = choice(key, value, LOGIN_VALUES)?;
            let method = LoginMethod::parse(m).unwrap_or_default();
            raw.login = Some((method, value.span()));
        }
        "password-command" => raw.password_command = Some(command(key, value)?),
        "oauth-token-command" => raw.oauth_token_command = Some(command(key, value)?),
        "password-env" => {
            let v = string(key, value)?;
            if v.is_empty() || v.contains(['=', '\0']) || v.contains(char::is_whitespace) {
                return Err(problem(
                    value.span(),
                    "\"password-env\" must be the name of an environment variable, like \"WORK_POP_PASSWORD\"",
                ));
            }
            raw.password_env = Some(v.to_string());
        }
        "keyring" => raw.keyring = boolean(key, value)?,
        "password" => {
            // Never quote this value, whatever is wrong with it.
            let DeValue::String(p) = value.get_ref() else {
                return Err(problem(
                    value.span(),
                    "\"password\" must be a string (in quotes)",
                ));
            };
            if p.is_empty() {
                return Err(problem(value.span(), "\"password\" must not be empty"));
            }
            raw.password = Some(SecretString::from(p.to_string()));
        }
        "timeout" => raw.timeout = Some(number(key, value, 1, 3600, " seconds")?),
        "connect-timeout" => raw.connect_timeout = Some(number(key, value, 1, 3600, " seconds")?),
        "save-dir" => raw.save_dir = Some(path(key, value, base, home)?),
        "preview-lines" => {
            raw.preview_lines = Some(number(key, value, 0, 100_000, " lines")? as u32)
        }
        "keepalive" => {
            raw.keepalive = Some(number(key, value, 0, 3600, " seconds (0 turns it off)")?)
        }
        "cache" => raw.cache = Some(boolean(key, value)?),
        _ => unreachable!("every key in ACCOUNT_KEYS is read"),
    }
    Ok(())
}
