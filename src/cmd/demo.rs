//! `popdoc demo`: the built-in POP3 server on a free loopback port, serving
//! a temporary copy of the demo mailbox, and the TUI on it; `demo --serve`:
//! the server alone, for the command-line twins, until Ctrl-C. Deletions
//! committed in the demo change only that copy. Saves go to a folder of
//! the user's own (never a fixed name in the shared temporary folder).

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use crate::account::{Account, SecretSource};
use crate::client::transport::Security;
use crate::demo::{Faults, Mailbox, Server, ServerConfig, assets};

pub struct DemoOptions {
    pub slow: bool,
    /// Only serve the mailbox (no interface), printing URL and password.
    pub serve: bool,
    pub save_dir: Option<PathBuf>,
    /// Keep the demo mailbox in this (new or empty) folder instead of a
    /// temporary one, and leave it there afterwards.
    pub mailbox_dir: Option<PathBuf>,
}

/// Where the demo mailbox lives while the demo runs. A temporary copy is
/// removed when this is dropped, and by `runtime::stop` when a signal or
/// a closed terminal ends popdoc at once.
pub enum MailboxDir {
    Temporary(tempfile::TempDir, crate::cleanup::Registered),
    Kept(PathBuf),
}

impl MailboxDir {
    pub fn path(&self) -> &std::path::Path {
        match self {
            MailboxDir::Temporary(t, _) => t.path(),
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
    start_with(slow, keep_in, "demo").await
}

async fn start_with(
    slow: bool,
    keep_in: Option<PathBuf>,
    password: &str,
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
        None => {
            let temp = tempfile::Builder::new()
                .prefix("popdoc-demo-")
                .tempdir()
                .map_err(|e| format!("cannot create a folder for the demo mailbox: {e}"))?;
            let listed = crate::cleanup::folder(temp.path());
            MailboxDir::Temporary(temp, listed)
        }
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
        password: password.into(),
        implementation: "popdoc demo server".into(),
        faults,
        ..Default::default()
    };
    let server = Server::start(config, mailbox)
        .await
        .map_err(|e| format!("cannot start the demo server: {e}"))?;
    let account = Account {
        secret: SecretSource::Fixed(password.into()),
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
    if opts.serve {
        return serve(opts).await;
    }
    let save_dir = match opts.save_dir {
        Some(d) => d,
        None => {
            let d = default_save_dir();
            private_folder(&d)?;
            d
        }
    };
    let (server, mut account, dir) = start(opts.slow, opts.mailbox_dir).await?;
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
    let ended = match &dir {
        MailboxDir::Temporary(..) => "its mailbox copy was removed".to_string(),
        MailboxDir::Kept(p) => format!("its mailbox is in {}", p.display()),
    };
    // Removed before anything is printed: a closed terminal must not keep it.
    drop(dir);
    if result.is_ok() {
        // write!, not println!: a terminal closed meanwhile must not panic.
        let _ = writeln!(
            std::io::stdout(),
            "popdoc demo ended; {ended}.\nMessages you saved are in {} (kept; only you can read that folder).",
            save_dir.display()
        );
    }
    result
}

/// `demo --serve`: the server alone until Ctrl-C (or SIGTERM), with a
/// password made for this run (any local user can reach a loopback port).
async fn serve(opts: DemoOptions) -> Result<(), String> {
    let password = fresh_password()?;
    let (server, account, dir) = start_with(opts.slow, opts.mailbox_dir, &password).await?;
    let url = format!("pop3://demo@127.0.0.1:{}", account.port);
    // Printed with write!, not println!: a closed pipe must not stop the server.
    let mut out = std::io::stdout();
    let _ = write!(
        out,
        "popdoc demo server: the demo mailbox at\n\
         {url}\n\
         password: {password}\n\
         mailbox copy: {}\n\n\
         In another terminal (the server has no TLS, hence --plaintext):\n  \
         export POPDOC_PASSWORD={password}\n  \
         popdoc list --plaintext {url}\n  \
         popdoc save --plaintext {url} 1\n  \
         popdoc check --plaintext {url}\n  \
         popdoc --plaintext {url}\n\
         Press Ctrl-C to stop.\n",
        dir.path().display()
    );
    let _ = out.flush();
    stopped().await;
    server.shutdown().await;
    let kept = match &dir {
        MailboxDir::Temporary(..) => "its mailbox copy was removed".to_string(),
        MailboxDir::Kept(p) => format!("its mailbox is in {}", p.display()),
    };
    drop(dir);
    let _ = writeln!(out, "popdoc demo server stopped; {kept}.");
    Ok(())
}

/// Waits for Ctrl-C (SIGINT) or, on Unix, SIGTERM or SIGHUP (its
/// terminal closed).
async fn stopped() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let (Ok(mut term), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::hangup()),
        ) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
                _ = hup.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// 16 random bytes as hex.
fn fresh_password() -> Result<String, String> {
    let mut bytes = [0u8; 16];
    tokio_rustls::rustls::crypto::ring::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| "the system gave no random bytes for the demo password".to_string())?;
    Ok(crate::store::hex(&bytes))
}

/// Where the demo saves by default: `demo-saved` in popdoc's data folder
/// (below the user's home), else a folder named after the user's id in the
/// temporary folder. Either is checked by [`private_folder`].
pub fn default_save_dir() -> PathBuf {
    directories::ProjectDirs::from("", "", "popdoc")
        .map(|p| p.data_dir().join("demo-saved"))
        .unwrap_or_else(|| std::env::temp_dir().join(format!("popdoc-demo-saved-{}", user_id())))
}

#[cfg(unix)]
fn user_id() -> u32 {
    rustix::process::geteuid().as_raw()
}

#[cfg(not(unix))]
fn user_id() -> u32 {
    0
}

/// Makes `dir` a folder only its owner can use: created with mode 0700 if
/// missing; if it exists, it must be a real folder (not a symbolic link)
/// owned by this user, and its mode is narrowed to 0700.
#[cfg(unix)]
pub fn private_folder(dir: &std::path::Path) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)
            .map_err(|e| format!("cannot create the folder {}: {e}", parent.display()))?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(format!("cannot create the folder {}: {e}", dir.display())),
    }
    let meta = std::fs::symlink_metadata(dir)
        .map_err(|e| format!("cannot look at the folder {}: {e}", dir.display()))?;
    let refuse = |what: String| {
        Err(format!(
            "{} {what}; the demo keeps your saves only in a folder of your own. Remove it, or choose a folder with --save-dir.",
            dir.display()
        ))
    };
    if meta.file_type().is_symlink() {
        return refuse("is a symbolic link".into());
    }
    if !meta.is_dir() {
        return refuse("is not a folder".into());
    }
    if meta.uid() != user_id() {
        return refuse(format!("belongs to another user (user id {})", meta.uid()));
    }
    if meta.mode() & 0o777 != 0o700 {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
            .map_err(|e| format!("cannot make {} private: {e}", dir.display()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
pub fn private_folder(dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir)
        .map_err(|e| format!("cannot create the folder {}: {e}", dir.display()))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn mode(p: &std::path::Path) -> u32 {
        std::fs::symlink_metadata(p).unwrap().mode() & 0o777
    }

    #[test]
    fn the_save_folder_is_private() {
        let base = tempfile::tempdir().unwrap();
        // New: created 0700 and ours, parents too.
        let new = base.path().join("a/b/demo-saved");
        private_folder(&new).unwrap();
        assert_eq!(mode(&new), 0o700);
        assert_eq!(std::fs::metadata(&new).unwrap().uid(), user_id());
        // Ours but open to others: narrowed.
        let open = base.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        private_folder(&open).unwrap();
        assert_eq!(mode(&open), 0o700);
        // A planted link, even to a folder of ours: refused.
        let link = base.path().join("link");
        std::os::unix::fs::symlink(&new, &link).unwrap();
        let e = private_folder(&link).unwrap_err();
        assert!(e.contains("is a symbolic link"), "{e}");
        // A file: refused.
        let file = base.path().join("file");
        std::fs::write(&file, b"x").unwrap();
        assert!(
            private_folder(&file)
                .unwrap_err()
                .contains("is not a folder")
        );
        // Someone else's folder: refused and left alone.
        let theirs = if user_id() == 0 {
            let d = base.path().join("theirs");
            std::fs::create_dir(&d).unwrap();
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o777)).unwrap();
            std::os::unix::fs::chown(&d, Some(65534), Some(65534)).unwrap();
            d
        } else {
            // Not root: the root folder belongs to someone else.
            std::path::PathBuf::from("/")
        };
        let before = mode(&theirs);
        let e = private_folder(&theirs).unwrap_err();
        assert!(e.contains("belongs to another user"), "{e}");
        assert_eq!(mode(&theirs), before);
    }

    #[test]
    fn the_default_save_folder_is_not_shared() {
        let d = default_save_dir();
        assert!(d.ends_with("demo-saved") || d.to_string_lossy().contains(&user_id().to_string()));
        assert_ne!(d, std::env::temp_dir().join("popdoc-demo-saved"));
    }
}
