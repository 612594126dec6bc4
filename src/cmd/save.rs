//! `popdoc save`: one message, by number or UIDL, streamed with RETR into a
//! temporary file, verified and renamed into place; prints size and
//! SHA-256, and says so when the server's LIST size differs from the bytes
//! received (the bytes are kept: they are what the server sent).

use std::path::PathBuf;
use std::time::Instant;

use super::{CmdError, Progress};
use crate::account::Account;
use crate::client::ops::HEADER_LIMIT;
use crate::mail::summarize;
use crate::store::{self, Collision, Saved};
use crate::util::{human_duration, human_size};

/// What `popdoc save` was asked to do (from the command line).
pub struct SaveJob {
    pub number: Option<u32>,
    pub uidl: Option<String>,
    pub output: Option<PathBuf>,
    /// `--dir`: must exist already.
    pub dir: Option<PathBuf>,
    /// The account's save folder from the config file, used without
    /// `--dir` (created when missing, as the interface does).
    pub account_dir: Option<PathBuf>,
}

/// A finished save: the verified file and what the server said of it.
pub struct SaveOutcome {
    pub saved: Saved,
    pub number: u32,
    pub list_size: u64,
    pub elapsed: std::time::Duration,
}

pub async fn save(
    account: &Account,
    req: &SaveJob,
    progress: &mut Progress,
) -> Result<SaveOutcome, CmdError> {
    // What the user named is checked before connecting: a mistyped folder
    // or a taken name should not cost a login (or a login delay).
    if let Some(path) = &req.output {
        store::check_new_file(path)?;
    }
    if let Some(dir) = &req.dir {
        store::check_folder(dir)?;
    }
    let (secret, token) = crate::secret::obtain(account)?;
    let creds = account.credentials(secret, token);
    let mut conn = super::connect_as(account, &creds, false, progress).await?;
    let listing = conn.listing().await?;
    let entry = match (&req.uidl, req.number) {
        (Some(uidl), _) => {
            if listing.iter().all(|l| l.uidl.is_none()) {
                return Err(CmdError::Other(
                    "this server has no UIDL, so messages can only be chosen by number".into(),
                ));
            }
            listing
                .iter()
                .find(|l| l.uidl.as_deref() == Some(uidl.as_str()))
                .ok_or_else(|| {
                    CmdError::Other(format!("no message with UIDL {uidl} on the server"))
                })?
        }
        (None, Some(n)) => listing.iter().find(|l| l.number == n).ok_or_else(|| {
            CmdError::Other(format!(
                "there is no message {n} on the server (it has {} messages)",
                listing.len()
            ))
        })?,
        (None, None) => {
            return Err(CmdError::Other(
                "say which message: a number or --uidl".into(),
            ));
        }
    }
    .clone();
    let (dest, collision) = match &req.output {
        Some(path) => (path.clone(), Collision::Fail),
        None => {
            // Name the file after the message: its headers come from TOP.
            let mut summary = None;
            let r = conn
                .top_many(&[entry.number], 0, HEADER_LIMIT, &mut |_, r| {
                    summary = r.ok().map(|b| summarize(&b));
                })
                .await;
            match r {
                Ok(()) => {}
                // Headers too large or too slow: the file is named without
                // them, on a new connection (this one is out of step).
                Err(e) if e.gave_up_reply() => {
                    // Closed and dropped first: the server releases the
                    // mailbox only once the old connection is gone.
                    conn.shutdown().await;
                    drop(conn);
                    conn = super::connect_as(account, &creds, true, progress).await?;
                }
                Err(e) => return Err(e.into()),
            }
            let name = store::file_name(summary.as_ref(), entry.uidl.as_deref(), entry.number);
            let dir = req
                .dir
                .clone()
                .or_else(|| req.account_dir.clone())
                .unwrap_or_else(|| PathBuf::from("."));
            (dir.join(name), Collision::Number)
        }
    };
    let started = Instant::now();
    let total = entry.size;
    let (saved, elapsed) = store::retr_to_file(
        &mut conn,
        entry.number,
        &dest,
        collision,
        &mut |bytes| {
            let secs = started.elapsed().as_secs_f64().max(0.001);
            let rate = bytes as f64 / secs;
            let left = if rate > 0.0 && total > bytes {
                format!(
                    ", {} left",
                    human_duration(std::time::Duration::from_secs_f64(
                        (total - bytes) as f64 / rate
                    ))
                )
            } else {
                String::new()
            };
            progress.show(
                &format!(
                    "message {}: {} of {} ({}/s{left})",
                    entry.number,
                    human_size(bytes),
                    human_size(total),
                    human_size(rate as u64)
                ),
                false,
            );
        },
        None,
    )
    .await
    .map_err(|e| match e {
        store::RetrFailed::File(e) => CmdError::Save(e),
        store::RetrFailed::Retr(e) => CmdError::Pop(e),
    })?;
    progress.clear();
    let _ = conn.quit().await;
    Ok(SaveOutcome {
        saved,
        number: entry.number,
        list_size: entry.size,
        elapsed,
    })
}

pub async fn run(account: &Account, req: SaveJob) -> Result<(), CmdError> {
    let mut progress = Progress::new();
    let o = save(account, &req, &mut progress).await?;
    println!(
        "saved message {} to {}\n  {} bytes {}\n  SHA-256 {}",
        o.number,
        o.saved.path.display(),
        o.saved.size,
        crate::util::transfer_time(o.saved.size, o.elapsed),
        o.saved.sha256
    );
    if o.saved.size != o.list_size {
        println!(
            "  note: the server's LIST said {} bytes; it sent {}. The file holds exactly what was sent.",
            o.list_size, o.saved.size
        );
    }
    Ok(())
}
