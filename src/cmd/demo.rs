//! `popdoc demo`: the built-in POP3 server on a free loopback port, serving
//! a temporary copy of the demo mailbox, and the TUI on it. Deletions
//! committed in the demo change only that copy.

use std::path::PathBuf;
use std::time::Duration;

use crate::account::{Account, SecretSource};
use crate::demo::{Faults, Mailbox, Server, ServerConfig, assets};
use crate::worker::transport::Security;

pub struct DemoOptions {
    pub slow: bool,
    pub save_dir: Option<PathBuf>,
    /// Keep the demo mailbox in this (new or empty) folder instead of a
    /// temporary one, and leave it there afterwards.
    pub mailbox_dir: Option<PathBuf>,
}

/// Where the demo mailbox lives while the demo runs.
pub enum MailboxDir {
    Temporary(tempfile::TempDir),
    Kept(PathBuf),
}

impl MailboxDir {
    pub fn path(&self) -> &std::path::Path {
        match self {
            MailboxDir::Temporary(t) => t.path(),
            MailboxDir::Kept(p) => p,
        }
    }
}

/// The demo server and the account that reaches it; the mailbox copy
/// lives as long as the returned directory.
pub async fn start(
    slow: bool,
    keep_in: Option<PathBuf>,
) -> Result<(Server, Account, MailboxDir), String> {
    let dir = match keep_in {
        Some(p) => {
            std::fs::create_dir_all(&p)
                .map_err(|e| format!("cannot create {}: {e}", p.display()))?;
            if std::fs::read_dir(&p)
                .map(|mut d| d.next().is_some())
                .unwrap_or(true)
            {
                return Err(format!(
                    "{} is not empty; the demo mailbox needs an empty folder",
                    p.display()
                ));
            }
            MailboxDir::Kept(p)
        }
        None => MailboxDir::Temporary(
            tempfile::Builder::new()
                .prefix("popdoc-demo-")
                .tempdir()
                .map_err(|e| format!("cannot create a folder for the demo mailbox: {e}"))?,
        ),
    };
    assets::write_to(dir.path()).map_err(|e| format!("cannot write the demo mailbox: {e}"))?;
    let mailbox =
        Mailbox::from_dir(dir.path()).map_err(|e| format!("cannot read the demo mailbox: {e}"))?;
    let faults = if slow {
        Faults {
            retr_bytes_per_sec: Some(2_000_000),
            reply_delay: Some(Duration::from_millis(150)),
            ..Default::default()
        }
    } else {
        Faults::default()
    };
    let config = ServerConfig {
        user: "demo".into(),
        password: "demo".into(),
        implementation: "popdoc demo server".into(),
        faults,
        ..Default::default()
    };
    let server = Server::start(config, mailbox)
        .await
        .map_err(|e| format!("cannot start the demo server: {e}"))?;
    let account = Account {
        secret: SecretSource::Fixed("demo".into()),
        plaintext_by: Some("the built-in demo server (loopback, inside popdoc)"),
        // Loopback inside this process: the demo needs no TLS.
        ..Account::new(
            "demo",
            "127.0.0.1",
            server.port(),
            "demo",
            Security::Plaintext,
        )
    };
    Ok((server, account, dir))
}

pub async fn run(opts: DemoOptions) -> Result<(), String> {
    let (server, mut account, dir) = start(opts.slow, opts.mailbox_dir).await?;
    let save_dir = opts
        .save_dir
        .unwrap_or_else(|| std::env::temp_dir().join("popdoc-demo-saved"));
    account.save_dir = Some(save_dir.clone());
    let result = crate::runtime::run(
        account,
        crate::runtime::Options {
            save_dir: save_dir.clone(),
            color: crate::runtime::color_wanted(),
        },
    )
    .await;
    server.shutdown().await;
    if result.is_ok() {
        match &dir {
            MailboxDir::Temporary(_) => {
                println!("popdoc demo ended; its mailbox copy was removed.")
            }
            MailboxDir::Kept(p) => println!("popdoc demo ended; its mailbox is in {}", p.display()),
        }
        println!("Messages you saved are in {}", save_dir.display());
    }
    drop(dir);
    result
}
