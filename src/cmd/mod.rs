//! The commands other than the interface (`list`, `save`, `demo`, `config`,
//! `password`, `cache`, `completions`, `man`) and what they share:
//! connecting and logging in with progress on stderr when it is a terminal.

pub mod cache;
pub mod config;
pub mod demo;
pub mod docs;
pub mod list;
pub mod password;
pub mod save;

use std::io::{IsTerminal, Write};
use std::time::Instant;

use crate::account::Account;
use crate::client::{Connection, Error};

/// A failure of a command, as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum CmdError {
    #[error(transparent)]
    Pop(#[from] Error),
    #[error(transparent)]
    Secret(#[from] crate::secret::SecretError),
    #[error(transparent)]
    Save(#[from] crate::store::SaveError),
    #[error("{0}")]
    Other(String),
}

/// Progress on stderr, overwritten in place, only when stderr is a terminal.
pub struct Progress {
    on: bool,
    last: Option<Instant>,
}

impl Progress {
    pub fn new() -> Self {
        Progress {
            on: std::io::stderr().is_terminal(),
            last: None,
        }
    }

    /// Shows `text` (at most ten times a second unless `force`).
    pub fn show(&mut self, text: &str, force: bool) {
        if !self.on {
            return;
        }
        if !force && self.last.is_some_and(|t| t.elapsed().as_millis() < 100) {
            return;
        }
        self.last = Some(Instant::now());
        let mut e = std::io::stderr();
        let _ = write!(e, "\r\x1b[K{text}");
        let _ = e.flush();
    }

    pub fn clear(&mut self) {
        if self.on {
            let _ = write!(std::io::stderr(), "\r\x1b[K");
        }
    }
}

impl Default for Progress {
    fn default() -> Self {
        Self::new()
    }
}

/// Gets the secret, connects and logs in. The CAPA after login is left to
/// the caller's `listing()`, which sends it in the same flight.
pub async fn connect(account: &Account, progress: &mut Progress) -> Result<Connection, CmdError> {
    let (secret, token) = crate::secret::obtain(account)?;
    let creds = account.credentials(secret, token);
    connect_as(account, &creds, false, progress).await
}

/// Connects and logs in with credentials already obtained (to reopen a
/// connection without asking for the password again). A reopened
/// connection may find the mailbox still locked by the one just dropped
/// (the server notices the close a moment later): with `wait_for_lock`, a
/// login refused with `[IN-USE]` is tried again for a few seconds.
pub async fn connect_as(
    account: &Account,
    creds: &crate::client::Credentials,
    wait_for_lock: bool,
    progress: &mut Progress,
) -> Result<Connection, CmdError> {
    let mut on_stage = |stage: crate::client::Stage, _: &[_]| {
        progress.show(&format!("{} {}…", account.host, stage.label()), true);
    };
    let mut delay = std::time::Duration::from_millis(200);
    let mut tries = 0;
    loop {
        let mut conn = Connection::open(account.endpoint(), account.timeout, &mut on_stage).await?;
        match conn.authenticate(creds, account.login, &mut on_stage).await {
            Ok(()) => return Ok(conn),
            Err(e) if wait_for_lock && tries < 6 && e.is_in_use() => {
                conn.shutdown().await;
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(2));
                tries += 1;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
