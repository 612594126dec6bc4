//! The config file (TOML, several accounts by name) and how a command-line
//! target becomes an account: a URL, a name from the file, the default or
//! only account, or a choice for the user.
//!
//! Where the file is: `--config PATH`, else `$POPDOC_CONFIG`, else
//! `popdoc.toml` in the user's config folder (`directories`). Errors name
//! the file and the line. This module reads the file and the environment;
//! it never prompts, connects, or reads a secret (see `secret`).

mod names;
pub mod schema;
mod value;

use std::path::{Path, PathBuf};

use crate::account::{self, Account, SecretSource};
use crate::cli::ConnArgs;

/// The environment variable that names the config file.
pub const ENV_VAR: &str = "POPDOC_CONFIG";
pub const FILE_NAME: &str = "popdoc.toml";

/// Where the config file path came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--config PATH`
    Flag,
    /// `$POPDOC_CONFIG`
    Env,
    /// The user's config folder.
    Default,
}

/// The config file path and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub origin: Origin,
}

impl Location {
    /// The path, with how it was chosen when that was not the default.
    pub fn describe(&self) -> String {
        match self.origin {
            Origin::Flag => format!("{} (from --config)", self.path.display()),
            Origin::Env => format!("{} (from {ENV_VAR})", self.path.display()),
            Origin::Default => self.path.display().to_string(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// Something wrong at a line of the file.
    #[error("{} line {line}: {message}", path.display())]
    At {
        path: PathBuf,
        line: usize,
        message: String,
    },
    /// Something wrong with the file as a whole.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// Anything else (a bad URL, no config folder).
    #[error("{0}")]
    Other(String),
}

/// A config file, read and checked.
#[derive(Debug)]
pub struct Config {
    pub location: Location,
    /// The account `popdoc` opens when several exist.
    pub default: Option<String>,
    /// In the order of the file; each account's `label` is its name.
    pub accounts: Vec<Account>,
    /// Accounts whose password is written in the file, with its line.
    pub inline_passwords: Vec<(String, usize)>,
}

impl Config {
    pub fn account(&self, name: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.label == name)
    }

    /// What to tell the user before using account `name` (a password
    /// written in the file).
    pub fn warnings_for(&self, name: &str) -> Vec<String> {
        self.inline_passwords
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(n, line)| self.inline_warning(n, *line))
            .collect()
    }

    /// Every warning the file deserves, whichever account is used.
    pub fn warnings(&self) -> Vec<String> {
        self.inline_passwords
            .iter()
            .map(|(n, line)| self.inline_warning(n, *line))
            .collect()
    }

    fn inline_warning(&self, name: &str, line: usize) -> String {
        format!(
            "{} line {line}: account \"{name}\" has its password written in the config file; password-command, password-env or keyring = true keep it out of the file",
            self.location.path.display()
        )
    }

    /// `a, b, c` (or `no accounts`).
    pub fn names(&self) -> String {
        if self.accounts.is_empty() {
            return "no accounts".into();
        }
        self.accounts
            .iter()
            .map(|a| a.label.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The error for a name that is not in the file.
    pub fn not_found(&self, name: &str) -> ConfigError {
        ConfigError::File {
            path: self.location.path.clone(),
            message: format!(
                "no account \"{}\"; the config has: {}",
                crate::pop3::text::stripped(name),
                self.names()
            ),
        }
    }
}

/// What a command-line target resolves to.
// Made once per run: boxing the account would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub enum Resolved {
    /// Open this account.
    One(Account),
    /// Several accounts and no default: let the user choose.
    Pick(Vec<Account>),
    /// No target and no config file (or one with no accounts).
    None,
}

/// A resolved target and any warnings to show the user before going on.
#[derive(Debug)]
pub struct Resolution {
    pub resolved: Resolved,
    pub warnings: Vec<String>,
}

/// Where the config file is: `flag` (from `--config`), else
/// `$POPDOC_CONFIG`, else the user's config folder.
pub fn locate(flag: Option<&Path>) -> Result<Location, ConfigError> {
    if let Some(p) = flag {
        return Ok(Location {
            path: p.to_path_buf(),
            origin: Origin::Flag,
        });
    }
    if let Some(p) = std::env::var_os(ENV_VAR).filter(|p| !p.is_empty()) {
        return Ok(Location {
            path: PathBuf::from(p),
            origin: Origin::Env,
        });
    }
    let dirs = directories::ProjectDirs::from("", "", "popdoc").ok_or_else(|| {
        ConfigError::Other(
            "cannot tell where the config folder is (no home folder); pass --config PATH".into(),
        )
    })?;
    Ok(Location {
        path: dirs.config_dir().join(FILE_NAME),
        origin: Origin::Default,
    })
}

/// Reads and checks the config file at `location`.
pub fn load(location: &Location) -> Result<Config, ConfigError> {
    let path = &location.path;
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError::File {
        path: path.clone(),
        message: match e.kind() {
            std::io::ErrorKind::NotFound => "no such file".into(),
            std::io::ErrorKind::InvalidData => "the file is not UTF-8 text".into(),
            _ => format!("cannot read it: {e}"),
        },
    })?;
    parse(location, &text, file_mode(path))
}

/// The file's permission bits, where there are such.
fn file_mode(path: &Path) -> Option<u32> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::metadata(path).ok().map(|m| m.permissions().mode())
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        None
    }
}

/// Checks config text. `mode` is the file's permission bits (Unix), used
/// to refuse a password in a file others can read.
pub fn parse(location: &Location, text: &str, mode: Option<u32>) -> Result<Config, ConfigError> {
    let path = &location.path;
    let at = |span: std::ops::Range<usize>, message: String| ConfigError::At {
        path: path.clone(),
        line: schema::line_of(text, span.start),
        message,
    };
    let root = toml::de::DeTable::parse(text).map_err(|e| {
        let span = e.span().unwrap_or_default();
        let mut message = format!("this is not valid TOML: {}", one_line(e.message()));
        // Name the key given twice. Other spans may point into a value (a
        // password), so only this one is quoted.
        if e.message().starts_with("duplicate key")
            && let Some(key) = text.get(span.clone()).filter(|k| k.len() < 60)
        {
            message.push_str(&format!(" {}", crate::pop3::text::stripped(key)));
        }
        at(span, message)
    })?;
    let base = path
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let home = directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf());
    let doc = schema::read(
        root.get_ref(),
        text,
        &base,
        home.as_deref(),
        &account::default_secret,
    )
    .map_err(|p| at(p.span, p.message))?;
    let mut inline_passwords = Vec::new();
    for a in &doc.accounts {
        let Some(span) = a.password_at.clone() else {
            continue;
        };
        if let Some(mode) = mode.filter(|m| m & 0o077 != 0) {
            return Err(at(
                span,
                format!(
                    "account \"{}\" has its password written in this file, which others can read (mode {:03o}); run `chmod 600 {}`, or better, use password-command, password-env or keyring = true",
                    a.name,
                    mode & 0o777,
                    path.display()
                ),
            ));
        }
        inline_passwords.push((a.name.clone(), schema::line_of(text, span.start)));
    }
    Ok(Config {
        location: location.clone(),
        default: doc.default.map(|(n, _)| n),
        accounts: doc.accounts.into_iter().map(|a| a.account).collect(),
        inline_passwords,
    })
}

fn one_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Turns the command-line target into accounts: a URL (with `conn`'s
/// options), an account name from the config file, or, with no target, the
/// default or only account, or all of them to choose from. Options given
/// on the command line override the account's settings.
pub fn resolve(
    target: Option<&str>,
    conn: &ConnArgs,
    config_flag: Option<&Path>,
) -> Result<Resolution, ConfigError> {
    if let Some(url) = target.filter(|t| account::looks_like_url(t)) {
        return Ok(Resolution {
            resolved: Resolved::One(conn.account(url).map_err(ConfigError::Other)?),
            warnings: Vec::new(),
        });
    }
    let location = locate(config_flag)?;
    if !location.path.exists() {
        return match (target, location.origin) {
            (Some(name), _) => Err(ConfigError::Other(format!(
                "\"{}\" is not a URL, and there is no config file at {} to look up an account of that name; pass a URL (pop3s://USER@HOST), or create the file: see `popdoc config path` and config/popdoc.example.toml",
                crate::pop3::text::stripped(name),
                location.describe()
            ))),
            (None, Origin::Default) => Ok(Resolution {
                resolved: Resolved::None,
                warnings: Vec::new(),
            }),
            (None, _) => Err(ConfigError::File {
                path: location.path.clone(),
                message: format!(
                    "no such file (named by {})",
                    if location.origin == Origin::Flag {
                        "--config"
                    } else {
                        ENV_VAR
                    }
                ),
            }),
        };
    }
    let config = load(&location)?;
    let overridden = |a: &Account| -> Result<Account, ConfigError> {
        let mut a = a.clone();
        conn.apply(&mut a)
            .map_err(|e| ConfigError::Other(e.to_string()))?;
        Ok(a)
    };
    let mut warnings = Vec::new();
    let mut chosen = |a: &Account| -> Result<Account, ConfigError> {
        warnings.extend(config.warnings_for(&a.label));
        overridden(a)
    };
    let resolved = match target {
        Some(name) => Resolved::One(chosen(
            config.account(name).ok_or_else(|| config.not_found(name))?,
        )?),
        None => match (&config.default, config.accounts.as_slice()) {
            (_, []) => Resolved::None,
            (Some(d), _) => Resolved::One(chosen(
                config.account(d).ok_or_else(|| config.not_found(d))?,
            )?),
            (None, [only]) => Resolved::One(chosen(only)?),
            (None, all) => Resolved::Pick(all.iter().map(&mut chosen).collect::<Result<_, _>>()?),
        },
    };
    Ok(Resolution { resolved, warnings })
}

/// Whether an account reads its password from the keyring.
pub fn uses_keyring(a: &Account) -> bool {
    matches!(a.secret, SecretSource::Keyring { .. })
}

#[cfg(test)]
mod tests;
