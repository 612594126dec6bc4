//! The app ⇄ worker contract: read this first.
//!
//! The TUI's actor ([`spawn`]) is one task that owns the connection (a
//! `client::Connection`). The app sends it [`Request`]s (never awaiting:
//! `try_send`); the worker does the POP3 work and answers with [`Event`]s
//! that carry owned data. A conversation: `Connect` → `Connecting` →
//! `Stage`… → `Connected` → `Listing` → `Headers`…; a key `s` → `Save` →
//! `SaveProgress`… → `Saved`; `Commit` → (`CommitRefused`, then
//! `CommitAccepted` or `Reset`) QUIT, `Connecting`…, `Committed` (what
//! the new listing shows was deleted), then `Listing`; a lost session →
//! `Disconnected` → `Reconnecting(wait)` → `Connecting`…: the worker tells
//! what it does, the app does not guess it.
//!
//! What went wrong crosses as a typed [`Failure`] (a kind the app matches,
//! and a sentence it shows), never as text to be searched. A message is
//! one [`MsgKey`] from the mark to the `DELE`. The worker never touches UI
//! state; the app never touches the socket. Nothing here renders text for
//! a screen. The actor itself: `run.rs` (loop, connect, headers),
//! `reconnect.rs` (keepalive, a lost session noticed and reopened),
//! `message.rs` (preview, save), `commit.rs` (DELE, QUIT, RSET).

mod cached;
mod commit;
mod failure;
mod key;
mod message;
mod reconnect;
mod run;
mod session;

use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use tokio_util::sync::CancellationToken;

use crate::client::Stage;
use crate::client::log::Line;
use crate::client::ops::Listing;
use crate::mail::{Preview, Summary};
use crate::store::{Collision, Saved};

pub use failure::{Failure, FailureKind};
pub use key::{Mark, MsgKey};
pub use run::spawn;
pub use session::{Provider, SessionInfo};

#[derive(Debug)]
pub enum Request {
    /// Connect (or reconnect), log in, list, and load headers.
    Connect,
    /// Use this password from now on, and connect.
    Login(SecretString),
    /// Load the headers of these messages before the others.
    Prioritize(Vec<u32>),
    Preview {
        id: u64,
        key: MsgKey,
        /// The number in the listing the app has (echoed in the event).
        number: u32,
        lines: u32,
        size: u64,
        /// Stops waiting for the reply; the worker then reconnects (the
        /// reply is still coming), as after a cancelled save.
        cancel: CancellationToken,
    },
    Save {
        id: u64,
        key: MsgKey,
        dest: PathBuf,
        collision: Collision,
        cancel: CancellationToken,
    },
    /// DELE each (UIDL checked), then QUIT if all were accepted.
    Commit(Vec<Mark>),
    /// After some DELE were refused: QUIT anyway (deletes those accepted).
    CommitAccepted,
    /// Undo server-side deletion marks (RSET).
    Reset,
    /// Leave: RSET if needed, QUIT, and end the task. Nothing is deleted.
    Shutdown,
    /// The connection report (what `popdoc check` shows), from what this
    /// session has recorded; sends nothing to the server.
    Report,
}

/// How a commit ended, sent once the worker has listed the mailbox again
/// after QUIT (that `Listing` follows): the listing, not QUIT's reply,
/// says what was deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitReport {
    /// Messages the server accepted DELE for and no longer lists (when it
    /// could not be listed again: those a `+OK` to QUIT committed).
    pub deleted: Vec<Mark>,
    /// Marks whose UIDL was no longer on the server before the DELE.
    pub gone: Vec<Mark>,
    /// The server's reply to QUIT, or what happened instead (no reply).
    pub quit: String,
    /// Messages the server accepted DELE for and still lists after QUIT
    /// (it kept them, or QUIT failed); when it could not be listed again
    /// and QUIT was not confirmed, those whose fate is unknown.
    pub kept: Vec<Mark>,
    /// QUIT was answered `+OK`.
    pub confirmed: bool,
    /// The mailbox was listed again after QUIT to check.
    pub rechecked: bool,
}

#[derive(Debug)]
pub enum Event {
    /// The worker is opening a new session: asked to (`Connect`, `Login`),
    /// or by itself after a cancelled save or a commit. `Stage` events
    /// follow, then `Connected` or `Failed`.
    Connecting,
    Stage {
        stage: Stage,
        done: Vec<(Stage, Duration)>,
    },
    Connected(SessionInfo),
    /// Connecting or logging in failed.
    Failed(Failure),
    Listing(Vec<Listing>),
    Headers(Vec<(u32, Result<Summary, Failure>)>),
    Preview {
        id: u64,
        number: u32,
        result: Result<Preview, Failure>,
    },
    SaveProgress {
        id: u64,
        bytes: u64,
        elapsed: Duration,
    },
    Saved {
        id: u64,
        result: Result<Saved, Failure>,
        /// The LIST size, to compare.
        list_size: u64,
        /// The user cancelled. POP3 cannot stop a RETR midway, so the
        /// worker then reconnects (and says so with `Connecting`).
        cancelled: bool,
    },
    Committed(CommitReport),
    /// Some DELE were refused; nothing is committed until the user says.
    CommitRefused {
        accepted: Vec<Mark>,
        refused: Vec<(Mark, Failure)>,
        gone: Vec<Mark>,
    },
    /// RSET done: no message is marked on the server.
    Reset,
    Transcript(Vec<Line>),
    /// Latency of the last command (first reply byte after sending).
    Latency(Duration),
    /// Something failed but the session goes on.
    Notice(Failure),
    /// The connection is gone (noticed when it happens, even while idle);
    /// `r` reconnects at once. `Reconnecting` follows when the worker will
    /// reconnect by itself.
    Disconnected(Failure),
    /// The worker reconnects by itself after this wait (the backoff: 1 s,
    /// 2 s, 4 s … 60 s, or what `[LOGIN-DELAY]` asks), then `Connecting`.
    Reconnecting(Duration),
    /// The worker has ended (after Shutdown).
    Ended,
    /// The connection report as data (the UI renders it to its width), or
    /// why there is none.
    Report(Result<Box<crate::report::Report>, Failure>),
}
