//! Soak: many short sessions against the built-in server in its seeded
//! chaos mode (`Faults::chaos`), each doing what a user does through the
//! paths the commands use (`popdoc list`'s collect, `popdoc save` into a
//! fresh folder, a commit of random marks through the TUI's worker, or the
//! real binary), and checking after each: no panic, no hang past the
//! session's bound, no message deleted unless it was marked and committed,
//! a saved file byte-equal to the message or no file at all, and the
//! password in no output, error, event or transcript.
//!
//! `cargo test --test it soak` runs a short version (150 sessions). The long
//! one: `POPDOC_SOAK_SESSIONS=1000 cargo test --release --test it soak --
//! --nocapture`. Each run prints its seed; `POPDOC_SOAK_SEED=N` replays it
//! (a failure names the seed of the failing session: replay it alone with
//! `POPDOC_SOAK_SESSIONS=1`).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use popdoc::account::Account;
use popdoc::client::Security;
use popdoc::cmd::Progress;
use popdoc::cmd::save::SaveJob;
use popdoc::demo::{Chaos, Faults, Mailbox, ServerConfig};
use popdoc::worker::{Event, Mark, Request, spawn};
use tokio::sync::mpsc;

use crate::support::cli::{Run, popdoc};
use crate::support::mailgen::{self, Rng};
use crate::support::{actor, demo};

const PASSWORD: &str = "soak-Secret-5e11c0de";
/// No session may take longer than this, whatever the faults.
const SESSION_BOUND: Duration = Duration::from_secs(30);
/// The client's reply timeout in the soak.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Sessions in a plain `cargo test`.
const SHORT_RUN: u64 = 150;
/// Draw the trickle and the endless flood too: they end in time because
/// the client has total reply deadlines and caps on what it reads.
const SLOW_FAULTS: bool = true;

#[derive(Default, Debug)]
struct Tally {
    sessions: u64,
    list: u64,
    save: u64,
    commit: u64,
    binary: u64,
    succeeded: u64,
    failed_cleanly: u64,
    deleted: u64,
    injected: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_sessions_under_chaos_keep_every_invariant() {
    let sessions = env_u64("POPDOC_SOAK_SESSIONS").unwrap_or(SHORT_RUN);
    let seed = env_u64("POPDOC_SOAK_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1)
    });
    let slow = SLOW_FAULTS;
    eprintln!("soak: {sessions} sessions, seed {seed}, slow faults {slow}");
    let started = Instant::now();
    let mut tally = Tally::default();
    for i in 0..sessions {
        let s = seed.wrapping_add(i);
        let outcome = tokio::time::timeout(SESSION_BOUND, session(s, slow, &mut tally)).await;
        match outcome {
            Err(_) => panic!(
                "session {i} (seed {s}) did not end within {SESSION_BOUND:?}; replay: POPDOC_SOAK_SEED={s} POPDOC_SOAK_SESSIONS=1"
            ),
            Ok(Err(broken)) => panic!(
                "session {i} (seed {s}) broke an invariant: {broken}; replay: POPDOC_SOAK_SEED={s} POPDOC_SOAK_SESSIONS=1"
            ),
            Ok(Ok(())) => {}
        }
    }
    eprintln!(
        "soak: {} sessions in {:.1} s (list {}, save {}, commit {}, binary {}): {} succeeded, {} failed with an error as they should, {} faults injected, {} messages deleted by commits",
        tally.sessions,
        started.elapsed().as_secs_f64(),
        tally.list,
        tally.save,
        tally.commit,
        tally.binary,
        tally.succeeded,
        tally.failed_cleanly,
        tally.injected,
        tally.deleted,
    );
    assert_eq!(tally.sessions, sessions);
    assert!(tally.injected > 0, "the chaos mode injected nothing");
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

/// What a session did, for the invariants.
enum Did {
    /// Nothing may have been deleted.
    Nothing,
    /// These UIDLs were marked and a commit was asked for.
    Committed(BTreeSet<String>),
}

/// One session: a fresh mailbox and server, one user action, the checks.
async fn session(seed: u64, slow: bool, tally: &mut Tally) -> Result<(), String> {
    let mut rng = Rng::new(seed);
    let messages: Vec<Vec<u8>> = mailgen::mailbox(rng.range(1, 7) as usize, seed)
        .into_iter()
        .map(|m| m.bytes)
        .collect();
    let mailbox = Mailbox::from_messages(messages.clone());
    let before = mailbox.uidls();
    let chaos = Chaos::new(seed, slow);
    let mechanisms = if rng.range(0, 2) == 0 {
        vec!["PLAIN".to_string()]
    } else {
        Vec::new()
    };
    let server = demo::start_with(
        ServerConfig {
            user: "soak".into(),
            password: PASSWORD.into(),
            mechanisms,
            idle_timeout: Duration::from_secs(5),
            faults: Faults {
                chaos: Some(chaos.clone()),
                ..Default::default()
            },
            ..Default::default()
        },
        mailbox.clone(),
    )
    .await;
    let account = actor::account(
        "soak",
        server.port(),
        "soak",
        PASSWORD,
        Security::Plaintext,
        TIMEOUT,
    );
    let folder = tempfile::tempdir().map_err(|e| e.to_string())?;
    let mut texts: Vec<String> = Vec::new();
    let action = rng.range(0, 20);
    let (did, ok) = match action {
        0..=6 => {
            tally.list += 1;
            list(&account, &before, &mut texts).await?
        }
        7..=12 => {
            tally.save += 1;
            let n = rng.range(1, messages.len() as u64 + 1) as u32;
            save(&account, n, &messages, folder.path(), &mut texts).await?
        }
        13..=18 => {
            tally.commit += 1;
            commit(account, &before, &mut rng, &mut texts).await?
        }
        _ => {
            tally.binary += 1;
            binary(&server, &mut rng, folder.path(), &messages, &mut texts).await?
        }
    };
    texts.extend(server.received());
    server.shutdown().await;
    tally.sessions += 1;
    tally.injected += chaos.injected();
    if ok {
        tally.succeeded += 1;
    } else {
        tally.failed_cleanly += 1;
    }

    // The password appears nowhere.
    if let Some(t) = texts.iter().find(|t| t.contains(PASSWORD)) {
        return Err(format!("the password appears in {t:?}"));
    }
    // Nothing deleted unless marked and committed.
    let after: BTreeSet<String> = mailbox.uidls().into_iter().collect();
    let gone: BTreeSet<String> = before
        .iter()
        .filter(|u| !after.contains(*u))
        .cloned()
        .collect();
    match did {
        Did::Nothing if !gone.is_empty() => {
            return Err(format!("deleted without a commit: {gone:?}"));
        }
        Did::Committed(marked) if !gone.is_subset(&marked) => {
            return Err(format!(
                "deleted messages that were not marked: {:?}",
                gone.difference(&marked).collect::<Vec<_>>()
            ));
        }
        _ => {}
    }
    tally.deleted += gone.len() as u64;
    if mailbox.is_locked() {
        return Err("the maildrop is still locked after the server stopped".into());
    }
    Ok(())
}

/// Runs `fut` as its own task, so that a panic in it is caught and named.
async fn no_panic<T: Send + 'static>(
    fut: impl std::future::Future<Output = T> + Send + 'static,
) -> Result<T, String> {
    tokio::spawn(fut).await.map_err(|e| {
        if e.is_panic() {
            format!("panicked: {e}")
        } else {
            format!("task failed: {e}")
        }
    })
}

/// An error as the user reads it: a sentence, not a Debug print.
fn sentence(e: &impl std::fmt::Display, texts: &mut Vec<String>) -> Result<(), String> {
    let s = e.to_string();
    texts.push(s.clone());
    if s.trim().is_empty() || s.contains("Error {") || s.contains("Kind(") {
        return Err(format!("not a sentence: {s:?}"));
    }
    Ok(())
}

/// `popdoc list --json` (the library path the command takes, into a
/// buffer): complete and true when it succeeds.
async fn list(
    account: &Account,
    before: &[String],
    texts: &mut Vec<String>,
) -> Result<(Did, bool), String> {
    let account = account.clone();
    let result = no_panic(async move {
        let mut out = Vec::new();
        popdoc::cmd::list::write_to(&account, true, &mut out, None, false, &mut Progress::new())
            .await
            .map(|()| out)
    })
    .await?;
    match result {
        Ok(out) => {
            let text = String::from_utf8_lossy(&out).into_owned();
            texts.push(text.clone());
            let report: serde_json::Value = serde_json::from_str(&text)
                .map_err(|e| format!("not a JSON document ({e}): {text}"))?;
            let messages = report["messages"].as_array().cloned().unwrap_or_default();
            if report["count"].as_u64() != Some(before.len() as u64)
                || messages.len() != before.len()
            {
                return Err(format!(
                    "listed {} messages of {}",
                    messages.len(),
                    before.len()
                ));
            }
            for (m, uidl) in messages.iter().zip(before) {
                if m["uidl"].as_str().is_some_and(|u| u != uidl) {
                    return Err(format!(
                        "message {} listed with UIDL {}",
                        m["number"], m["uidl"]
                    ));
                }
            }
            Ok((Did::Nothing, true))
        }
        Err(e) => {
            texts.push(format!("{e:?}"));
            sentence(&e, texts)?;
            Ok((Did::Nothing, false))
        }
    }
}

/// Every file in `dir`, hidden ones included.
fn files_in(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// `popdoc save N --dir FOLDER`: the file is the message, or there is none.
async fn save(
    account: &Account,
    n: u32,
    messages: &[Vec<u8>],
    dir: &Path,
    texts: &mut Vec<String>,
) -> Result<(Did, bool), String> {
    let account = account.clone();
    let job = SaveJob {
        number: Some(n),
        uidl: None,
        output: None,
        dir: Some(dir.to_path_buf()),
        account_dir: None,
    };
    let result =
        no_panic(
            async move { popdoc::cmd::save::save(&account, &job, &mut Progress::new()).await },
        )
        .await?;
    let files = files_in(dir);
    match result {
        Ok(o) => {
            if files != [o.saved.path.clone()] {
                return Err(format!(
                    "saved {:?}, the folder holds {files:?}",
                    o.saved.path
                ));
            }
            let bytes = std::fs::read(&o.saved.path).map_err(|e| e.to_string())?;
            if bytes != messages[n as usize - 1] {
                return Err(format!(
                    "the saved file ({} bytes) is not message {n} ({} bytes)",
                    bytes.len(),
                    messages[n as usize - 1].len()
                ));
            }
            Ok((Did::Nothing, true))
        }
        Err(e) => {
            texts.push(format!("{e:?}"));
            sentence(&e, texts)?;
            if !files.is_empty() {
                return Err(format!("the save failed ({e}) but left {files:?}"));
            }
            Ok((Did::Nothing, false))
        }
    }
}

/// Waits for an event `pick` accepts, keeping the Debug form of all.
async fn next<T>(
    rx: &mut mpsc::Receiver<Event>,
    texts: &mut Vec<String>,
    mut pick: impl FnMut(&Event) -> Option<T>,
) -> Result<Option<T>, String> {
    loop {
        match rx.recv().await {
            None => return Ok(None),
            Some(e) => {
                texts.push(format!("{e:?}"));
                if let Some(t) = pick(&e) {
                    return Ok(Some(t));
                }
            }
        }
    }
}

/// The TUI's worker: list, mark some, commit, leave.
async fn commit(
    account: Account,
    before: &[String],
    rng: &mut Rng,
    texts: &mut Vec<String>,
) -> Result<(Did, bool), String> {
    let (tx, mut rx, task) = spawn(account, PASSWORD.into(), false);
    let listing = next(&mut rx, texts, |e| match e {
        Event::Listing(l) => Some(Some(l.clone())),
        Event::Failed(_) | Event::Disconnected(_) => Some(None),
        _ => None,
    })
    .await?
    .flatten();
    let mut marked = BTreeSet::new();
    let mut ok = false;
    if let Some(listing) = listing {
        let marks: Vec<Mark> = listing
            .iter()
            .filter(|_| rng.range(0, 2) == 0)
            .map(|l| Mark {
                number: l.number,
                uidl: l.uidl.clone(),
            })
            .collect();
        // A mark without a UIDL (the server refused UIDL) is deleted by its
        // number: the message that had that number when it was marked.
        marked = marks
            .iter()
            .filter_map(|m| before.get(m.number as usize - 1).cloned())
            .collect();
        let _ = tx.send(Request::Commit(marks)).await;
        let outcome = next(&mut rx, texts, |e| match e {
            Event::Committed(r) => Some(Some(r.clone())),
            Event::CommitRefused { .. } | Event::Failed(_) | Event::Disconnected(_) => Some(None),
            _ => None,
        })
        .await?
        .flatten();
        ok = outcome.is_some();
    }
    let _ = tx.send(Request::Shutdown).await;
    next(&mut rx, texts, |e| matches!(e, Event::Ended).then_some(())).await?;
    task.await
        .map_err(|e| format!("the worker task failed: {e}"))?;
    Ok((Did::Committed(marked), ok))
}

/// The real binary, `popdoc list --json` or `popdoc save`: no panic, a
/// sentence on failure, the file complete or absent.
async fn binary(
    server: &popdoc::demo::Server,
    rng: &mut Rng,
    dir: &Path,
    messages: &[Vec<u8>],
    texts: &mut Vec<String>,
) -> Result<(Did, bool), String> {
    let url = format!("pop3://soak@127.0.0.1:{}", server.port());
    let n = rng.range(1, messages.len() as u64 + 1);
    let file = dir.join("m.eml");
    let f = file.to_string_lossy().into_owned();
    let n_arg = n.to_string();
    let args: Vec<&str> = if rng.range(0, 2) == 0 {
        vec!["list", "--json", "--plaintext", "--timeout", "2", &url]
    } else {
        vec![
            "save",
            "--plaintext",
            "--timeout",
            "2",
            &url,
            &n_arg,
            "-o",
            &f,
        ]
    };
    let out = popdoc(Run::new(&args).password(PASSWORD)).await;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    texts.push(stdout.clone());
    texts.push(stderr.clone());
    if out.status.code() == Some(101) || stderr.contains("panicked") {
        return Err(format!("popdoc {} panicked: {stderr}", args.join(" ")));
    }
    if out.status.code().is_none() {
        return Err(format!(
            "popdoc {} was killed: {:?}",
            args.join(" "),
            out.status
        ));
    }
    let files = files_in(dir);
    if out.status.success() {
        if args[0] == "save"
            && std::fs::read(&file).ok().as_ref() != Some(&messages[n as usize - 1])
        {
            return Err(format!(
                "popdoc save succeeded but {file:?} is not message {n}"
            ));
        }
    } else {
        if stderr.trim().is_empty() {
            return Err(format!("popdoc {} failed without a word", args.join(" ")));
        }
        if !files.is_empty() {
            return Err(format!(
                "popdoc {} failed but left {files:?}",
                args.join(" ")
            ));
        }
    }
    Ok((Did::Nothing, out.status.success()))
}
