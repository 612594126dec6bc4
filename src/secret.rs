//! Getting the password or token: from an environment variable, from a
//! command's first output line (like mpop's passwordeval), or from a prompt
//! on the terminal. The secret is returned in a [`SecretString`]; errors
//! never quote it.

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
        "no password given and no terminal to ask on: set POPDOC_PASSWORD or use --password-command."
    )]
    NoTerminal,
    #[error("reading the password failed: {0}.")]
    Prompt(String),
}

/// The secret for `account`, and whether it is an OAuth2 token.
pub fn obtain(account: &Account) -> Result<(SecretString, bool), SecretError> {
    match &account.secret {
        SecretSource::Env(var) => match std::env::var(var) {
            Ok(v) if !v.is_empty() => Ok((v.into(), false)),
            _ => Err(SecretError::NoEnv(var.clone())),
        },
        SecretSource::Command(cmd) => Ok((run_command(cmd, "password")?, false)),
        SecretSource::TokenCommand(cmd) => Ok((run_command(cmd, "OAuth2 token")?, true)),
        SecretSource::Fixed(p) => Ok((p.clone().into(), false)),
        SecretSource::Prompt => {
            if !std::io::IsTerminal::is_terminal(&std::io::stdin())
                && std::fs::File::open("/dev/tty").is_err()
            {
                return Err(SecretError::NoTerminal);
            }
            let prompt = format!("Password for {}: ", account.server_label());
            rpassword::prompt_password(prompt)
                .map(|p| (p.into(), false))
                .map_err(|e| SecretError::Prompt(e.to_string()))
        }
    }
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
        return Err(SecretError::Failed {
            what,
            command: cmd.into(),
            status: out.status.to_string(),
            stderr: if first.is_empty() {
                String::new()
            } else {
                format!(": {}", crate::mail::clean(first))
            },
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
}
