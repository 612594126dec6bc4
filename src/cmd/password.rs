//! `popdoc password set|delete ACCOUNT`: the account's password in the OS
//! keyring (service `popdoc`, entry named by the account). The password is
//! read with a masked prompt, or as one line from standard input when that
//! is not a terminal; it is never printed.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use crate::account::KEYRING_SERVICE;
use crate::config::{self, ConfigError};
use crate::secret::keystore::{self, KeyringError};

/// Stores the password for `name`, an account in the config file.
pub fn set(config_flag: Option<&Path>, name: &str) -> Result<(), String> {
    let (config, account) = find(config_flag, name)?;
    keystore::reachable().map_err(|e| cannot("store", &e))?;
    let password = read_password(&format!(
        "Password for account \"{name}\" ({}): ",
        account.server_label()
    ))?;
    keystore::set(KEYRING_SERVICE, name, &password).map_err(|e| cannot("store", &e))?;
    println!("Stored the password for \"{name}\" in the system keyring.");
    if !config::uses_keyring(&account) {
        println!(
            "The account does not read it yet: add `keyring = true` to [accounts.{name}] in {} (and remove its other password source).",
            config.location.path.display()
        );
    }
    Ok(())
}

/// Removes the password for `name` from the keyring.
pub fn delete(config_flag: Option<&Path>, name: &str) -> Result<(), String> {
    find(config_flag, name)?;
    match keystore::delete(KEYRING_SERVICE, name) {
        Ok(()) => {
            println!("Removed the password for \"{name}\" from the system keyring.");
            Ok(())
        }
        Err(KeyringError::NoEntry { .. }) => Err(format!(
            "the keyring has no password for \"{name}\"; nothing removed"
        )),
        Err(e) => Err(cannot("remove", &e)),
    }
}

fn cannot(what: &str, e: &KeyringError) -> String {
    let mut s = format!("cannot {what} the password: {e}");
    if matches!(e, KeyringError::Unavailable { .. }) {
        s.push_str(
            "; use password-command (e.g. \"pass show mail/work\") or password-env in the account instead",
        );
    }
    s
}

fn find(
    config_flag: Option<&Path>,
    name: &str,
) -> Result<(config::Config, crate::account::Account), String> {
    let location = config::locate(config_flag).map_err(|e| e.to_string())?;
    if !location.path.exists() {
        return Err(format!(
            "there is no config file at {}; add the account \"{name}\" there first (see config/popdoc.example.toml)",
            location.describe()
        ));
    }
    let config = config::load(&location).map_err(|e: ConfigError| e.to_string())?;
    for w in config.warnings_for(name) {
        eprintln!("popdoc: warning: {w}");
    }
    let account = config
        .account(name)
        .cloned()
        .ok_or_else(|| config.not_found(name).to_string())?;
    Ok((config, account))
}

/// A masked prompt (asked twice) on a terminal; else one line of stdin.
fn read_password(prompt: &str) -> Result<SecretString, String> {
    let password = if std::io::stdin().is_terminal() {
        let first = crate::secret::prompt(prompt).map_err(|e| e.to_string())?;
        let again = crate::secret::prompt("Again, to be sure: ").map_err(|e| e.to_string())?;
        if first.expose_secret() != again.expose_secret() {
            return Err("the two passwords differ; nothing stored".into());
        }
        first
    } else {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| format!("reading the password from standard input failed: {e}"))?;
        let trimmed = line.trim_end_matches(['\n', '\r']).to_string();
        SecretString::from(trimmed)
    };
    if password.expose_secret().is_empty() {
        return Err("the password is empty; nothing stored".into());
    }
    Ok(password)
}
