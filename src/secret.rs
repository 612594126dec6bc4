//! Getting the password or token: from an environment variable, from a
//! command's first output line (like mpop's passwordeval), from the OS
//! keyring, from the config file, or from a prompt on the terminal.
//!
//! The secret is returned in a [`SecretString`]; errors and warnings never
//! quote it. [`lookup`] never prompts: it says when a prompt is needed (and
//! why, when a keyring could not be used), so the full-screen interface can
//! ask in its own way; [`obtain`] asks on the terminal.

pub mod keystore;

use std::process::Stdio;

use secrecy::SecretString;

use crate::account::{Account, SecretSource};

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the {what} command `{command}` could not be run: {reason}.")]
    Spawn {
        what: &'static str,
        command: String,
        reason: String,
    },
    #[error("the {what} command `{command}` failed ({status}){stderr}.")]
    Failed {
        what: &'static str,
        command: String,
        status: String,
        stderr: String,
    },
    #[error("the {what} command `{command}` printed nothing.")]
    Empty { what: &'static str, command: String },
    #[error("the environment variable {0} is not set.")]
    NoEnv(String),
    #[error(
        "no password given and no terminal to ask on: set POPDOC_PASSWORD, use --password-command, or give the account a password source in the config file."
    )]
    NoTerminal,
    #[error("reading the password failed: {0}.")]
    Prompt(String),
}

/// What [`lookup`] found.
pub enum Lookup {
    /// The secret, and whether it is an OAuth2 bearer token.
    Found { secret: SecretString, token: bool },
    /// Nothing to read it from: ask the user for the password. `warning`
    /// says why, when a configured source (the keyring) could not be used.
    Ask { warning: Option<String> },
}

/// The secret for `account` from its source, without prompting.
pub fn lookup(account: &Account) -> Result<Lookup, SecretError> {
    let found = |secret: SecretString| Lookup::Found {
        secret,
        token: false,
    };
    match &account.secret {
        SecretSource::Env(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok(found(v.into())),
            _ => Err(SecretError::NoEnv(var.clone())),
        },
        SecretSource::Command(cmd) => Ok(found(run_command(cmd, "password")?)),
        SecretSource::TokenCommand(cmd) => Ok(Lookup::Found {
            secret: run_command(cmd, "OAuth2 token")?,
            token: true,
        }),
        SecretSource::Keyring { service, user } => match keystore::get(service, user) {
            Ok(secret) => Ok(found(secret)),
            Err(e) => Ok(Lookup::Ask {
                warning: Some(format!("{e}; asking for the password instead")),
            }),
        },
        SecretSource::ConfigPassword(p) | SecretSource::Fixed(p) => Ok(found(p.clone())),
        SecretSource::Prompt => Ok(Lookup::Ask { warning: None }),
    }
}

/// The secret for `account`, and whether it is an OAuth2 token; asks on
/// the terminal when needed (after printing any warning to stderr).
pub fn obtain(account: &Account) -> Result<(SecretString, bool), SecretError> {
    match lookup(account)? {
        Lookup::Found { secret, token } => Ok((secret, token)),
        Lookup::Ask { warning } => {
            if let Some(w) = warning {
                eprintln!("popdoc: warning: {w}.");
            }
            prompt(&format!("Password for {}: ", account.server_label())).map(|p| (p, false))
        }
    }
}

/// Asks on the terminal without echo.
pub fn prompt(text: &str) -> Result<SecretString, SecretError> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdin())
        && std::fs::File::open("/dev/tty").is_err()
    {
        return Err(SecretError::NoTerminal);
    }
    rpassword::prompt_password(text)
        .map(SecretString::from)
        .map_err(|e| SecretError::Prompt(e.to_string()))
}

/// Runs `sh -c cmd`; the first line of its output is the secret.
pub fn run_command(cmd: &str, what: &'static str) -> Result<SecretString, SecretError> {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| SecretError::Spawn {
            what,
            command: cmd.into(),
            reason: e.to_string(),
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let first = stderr.lines().next().unwrap_or("").trim();
        // A command that fails after printing the secret must not get it
        // into the message through its error output.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let printed = stdout.lines().next().unwrap_or("").trim();
        let shown = if first.is_empty() || (!printed.is_empty() && first.contains(printed)) {
            String::new()
        } else {
            format!(": {}", crate::pop3::text::stripped(first))
        };
        return Err(SecretError::Failed {
            what,
            command: cmd.into(),
            status: out.status.to_string(),
            stderr: shown,
        });
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout.lines().next().unwrap_or("").trim_end_matches('\r');
    if line.is_empty() {
        return Err(SecretError::Empty {
            what,
            command: cmd.into(),
        });
    }
    Ok(line.to_string().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn command_first_line_is_the_secret() {
        let s = run_command("printf 'pa ss\\r\\nsecond\\n'", "password").unwrap();
        assert_eq!(s.expose_secret(), "pa ss");
        let e = run_command("echo nope >&2; exit 3", "password").unwrap_err();
        assert!(
            e.to_string().contains("failed (exit status: 3): nope"),
            "{e}"
        );
        let e = run_command("true", "password").unwrap_err();
        assert!(matches!(e, SecretError::Empty { .. }));
    }

    #[test]
    fn a_failing_command_does_not_echo_its_output() {
        let e = run_command("echo Pw-77; echo 'bad: Pw-77' >&2; exit 1", "password").unwrap_err();
        let msg = e.to_string();
        assert!(msg.ends_with("failed (exit status: 1)."), "{msg}");
    }

    #[test]
    fn debug_never_shows_a_password() {
        let s = SecretSource::ConfigPassword("Hunter-Pw-1".into());
        assert_eq!(format!("{s:?}"), "ConfigPassword(***)");
        let f = SecretSource::Fixed("Hunter-Pw-1".into());
        assert!(!format!("{f:?}").contains("Hunter"));
    }
}
