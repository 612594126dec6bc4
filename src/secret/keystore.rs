//! The OS keyring (the `keyring` crate): read, store and delete one
//! password. On Linux that is the Secret Service (GNOME Keyring, KWallet,
//! KeePassXC) over D-Bus, spoken by pure-Rust zbus.
//!
//! Every call runs on a thread of its own, with a time limit: the D-Bus
//! client must not run on a tokio worker, and a keyring that waits for an
//! unlock dialog nobody sees must not hang popdoc. A keyring that cannot be
//! reached is an error to report, never a panic. Nothing here prints.

use std::sync::mpsc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

/// Why the keyring could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    #[error("the system keyring is not available: {detail}")]
    Unavailable { detail: String },
    #[error(
        "the keyring has no password for \"{user}\" (store one with `popdoc password set {user}`)"
    )]
    NoEntry { user: String },
    #[error("the keyring did not answer within {0} seconds (is it waiting to be unlocked?)")]
    TimedOut(u64),
    #[error("the keyring failed: {0}")]
    Failed(String),
}

const READ_LIMIT: Duration = Duration::from_secs(30);
/// Storing may wait for the user to unlock the keyring on the desktop.
const WRITE_LIMIT: Duration = Duration::from_secs(120);

/// The password stored for `service` / `user`.
pub fn get(service: &str, user: &str) -> Result<SecretString, KeyringError> {
    let who = user.to_string();
    on_thread(service, user, READ_LIMIT, move |entry| {
        entry
            .get_password()
            .map(SecretString::from)
            .map_err(|e| classify(e, &who))
    })
}

/// Stores (or replaces) the password for `service` / `user`.
pub fn set(service: &str, user: &str, password: &SecretString) -> Result<(), KeyringError> {
    let password = password.clone();
    let who = user.to_string();
    on_thread(service, user, WRITE_LIMIT, move |entry| {
        entry
            .set_password(password.expose_secret())
            .map_err(|e| classify(e, &who))
    })
}

/// Deletes the password for `service` / `user`.
pub fn delete(service: &str, user: &str) -> Result<(), KeyringError> {
    let who = user.to_string();
    on_thread(service, user, WRITE_LIMIT, move |entry| {
        entry.delete_credential().map_err(|e| classify(e, &who))
    })
}

/// Whether a keyring can be tried at all (on Linux: a D-Bus session bus).
/// Cheap: it reads the environment and talks to no one.
pub fn reachable() -> Result<(), KeyringError> {
    match no_bus() {
        Some(detail) => Err(KeyringError::Unavailable { detail }),
        None => Ok(()),
    }
}

fn on_thread<T: Send + 'static>(
    service: &str,
    user: &str,
    limit: Duration,
    f: impl FnOnce(keyring::Entry) -> Result<T, KeyringError> + Send + 'static,
) -> Result<T, KeyringError> {
    reachable()?;
    let (service, user) = (service.to_string(), user.to_string());
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("keyring".into())
        .spawn(move || {
            let r = keyring::Entry::new(&service, &user)
                .map_err(|e| classify(e, &user))
                .and_then(f);
            let _ = tx.send(r);
        });
    if let Err(e) = spawned {
        return Err(KeyringError::Failed(format!("cannot start a thread: {e}")));
    }
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(mpsc::RecvTimeoutError::Timeout) => Err(KeyringError::TimedOut(limit.as_secs())),
        Err(mpsc::RecvTimeoutError::Disconnected) => Err(KeyringError::Failed(
            "the keyring library stopped unexpectedly".into(),
        )),
    }
}

fn classify(e: keyring::Error, user: &str) -> KeyringError {
    match e {
        keyring::Error::NoEntry => KeyringError::NoEntry { user: user.into() },
        keyring::Error::PlatformFailure(e) | keyring::Error::NoStorageAccess(e) => {
            KeyringError::Unavailable {
                detail: one_line(&e.to_string()),
            }
        }
        keyring::Error::Ambiguous(v) => KeyringError::Failed(format!(
            "{} entries match \"{user}\"; remove the extra ones with your keyring's own tool",
            v.len()
        )),
        // BadEncoding carries the stored bytes: never show them.
        keyring::Error::BadEncoding(_) => {
            KeyringError::Failed(format!("the entry for \"{user}\" is not UTF-8 text"))
        }
        other => KeyringError::Failed(one_line(&other.to_string())),
    }
}

fn one_line(s: &str) -> String {
    crate::pop3::text::stripped(s.lines().next().unwrap_or("").trim())
}

/// On Linux and the BSDs the keyring is reached over the D-Bus session
/// bus; say so plainly when there is none instead of trying.
fn no_bus() -> Option<String> {
    if !cfg!(all(unix, not(target_os = "macos"), not(target_os = "ios"))) {
        return None;
    }
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    // zbus falls back to $XDG_RUNTIME_DIR/bus (systemd's user bus).
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR")
        && std::path::Path::new(&dir).join("bus").exists()
    {
        return None;
    }
    Some("there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set), as is usual over SSH, in containers and in CI".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_fix_and_never_the_stored_bytes() {
        let e = classify(keyring::Error::NoEntry, "work");
        assert_eq!(
            e.to_string(),
            "the keyring has no password for \"work\" (store one with `popdoc password set work`)"
        );
        let e = classify(keyring::Error::BadEncoding(b"Secret-\xff".to_vec()), "work");
        assert!(!e.to_string().contains("Secret"), "{e}");
        let e = classify(
            keyring::Error::PlatformFailure("D-Bus error\nsecond line".into()),
            "work",
        );
        assert_eq!(
            e.to_string(),
            "the system keyring is not available: D-Bus error"
        );
    }
}
