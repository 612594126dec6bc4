//! The TUI's state and its pure update function. The UI task alone owns
//! [`App`]; [`update`] takes a [`Msg`] (a key, a resize, a worker event)
//! and returns [`Effect`]s for the runtime to carry out. No I/O, no clocks,
//! no terminal here: every behaviour is testable with plain values. The
//! app never imports `ui`: the ui reads the state (and `layout.rs`).
//!
//! Its parts: `update.rs` dispatches a message; `input.rs` (the list and
//! the preview) and `dialogs.rs` (dialogs, overlays, the filter prompt)
//! take keys; `events.rs` takes the worker's events; `view.rs` filters and
//! sorts the list; `screen.rs` and `layout.rs` say where things are on
//! screen; `keyset.rs` keeps marks and saves by `MsgKey`.

mod dialogs;
mod events;
mod input;
pub mod keys;
pub mod keyset;
pub mod layout;
pub mod pager;
pub mod picker;
mod screen;
mod update;
mod view;
mod waiting;

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::client::Stage;
use crate::client::log::Line;
use crate::mail::{Preview, Summary};
use crate::worker::{Failure, Mark, MsgKey, Request, SessionInfo};

pub use keyset::KeySet;
pub use view::{FILTER_SEARCHES, SortKey};
pub use waiting::{Waiting, waiting_text};

pub use update::update;

/// Input to [`update`].
#[derive(Debug)]
pub enum Msg {
    Key(crossterm::event::KeyEvent),
    /// Mouse wheel: positive is down.
    Scroll(i32),
    Resize(u16, u16),
    Worker(crate::worker::Event),
    /// A file the runtime wrote for an [`Effect::WriteFile`].
    Written(Result<PathBuf, String>),
}

/// What the runtime must do.
#[derive(Debug)]
pub enum Effect {
    /// Send to the worker.
    Pop(Request),
    /// Stop a running save.
    Cancel(CancellationToken),
    /// Write a file (the transcript).
    WriteFile { path: PathBuf, contents: String },
    /// Leave the program (after the worker has shut down).
    Quit,
    /// Log in with this password (start the worker, or tell it).
    Login(secrecy::SecretString),
}

/// One message on the server. Compact, as there may be 100,000: the
/// summary is shared (never copied) with the headers kept for a
/// reconnect, and the strings hold no spare capacity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub number: u32,
    pub uidl: Option<Box<str>>,
    pub size: u64,
    pub summary: Option<Arc<Summary>>,
    pub header_error: Option<Box<str>>,
}

impl Row {
    /// Marks and saves are keyed by UIDL (by number when there is none).
    pub fn key(&self) -> MsgKey {
        MsgKey::new(self.number, self.uidl.as_deref())
    }

    pub fn mark(&self) -> Mark {
        Mark {
            number: self.number,
            uidl: self.uidl.as_deref().map(str::to_owned),
        }
    }
}

/// The connection as the worker reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Link {
    Connecting {
        stage: Stage,
        done: Vec<(Stage, Duration)>,
    },
    /// Logged in; listing or ready.
    Ready,
    Failed(String),
    Disconnected(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PreviewContent {
    Loading,
    Ready(Box<Preview>),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviewState {
    pub id: u64,
    pub key: MsgKey,
    pub number: u32,
    pub content: PreviewContent,
    pub raw: bool,
    pub scroll: u16,
}

#[derive(Debug, Clone)]
pub struct SaveState {
    pub id: u64,
    pub key: MsgKey,
    pub number: u32,
    pub subject: String,
    pub bytes: u64,
    pub total: u64,
    pub elapsed: Duration,
    pub then_mark: bool,
    pub cancel: CancellationToken,
    pub cancelling: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dialog {
    /// Confirm a commit of these marks.
    Commit,
    /// The commit is under way.
    Committing,
    /// Some DELE were refused.
    CommitRefused {
        /// How many DELE were accepted (the worker keeps which, until
        /// `CommitAccepted` or `Reset`).
        accepted: usize,
        refused: Vec<(Mark, Failure)>,
    },
    /// Quit with marks pending.
    Quit,
    /// Ask for the password, masked (the account has no other source).
    Password {
        input: PasswordInput,
        /// Why it is asked again (the server refused the last one).
        message: Option<String>,
    },
}

/// Typed password characters: never shown, never in `Debug`, wiped on drop.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PasswordInput(String);

impl PasswordInput {
    pub fn push(&mut self, c: char) {
        self.0.push(c);
    }

    pub fn pop(&mut self) {
        self.0.pop();
    }

    /// Characters typed (for the mask).
    pub fn len(&self) -> usize {
        self.0.chars().count()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Hands the password over as a secret and clears the input.
    pub fn take(&mut self) -> secrecy::SecretString {
        secrecy::SecretString::from(std::mem::take(&mut self.0))
    }
}

impl std::fmt::Debug for PasswordInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordInput(***)")
    }
}

impl Drop for PasswordInput {
    fn drop(&mut self) {
        secrecy::zeroize::Zeroize::zeroize(&mut self.0);
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Overlay {
    /// `scroll`: the first line shown.
    Help { scroll: usize },
    /// `scroll`: the first line shown (`usize::MAX`: follow the end).
    Transcript { scroll: usize },
    /// The connection report; `scroll`: the first line shown.
    Report { scroll: usize },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusKind {
    Info,
    Success,
    Error,
}

/// What the app was started with; fixed for the run.
#[derive(Debug, Clone)]
pub struct Setup {
    /// The account's label, shown until the session says more.
    pub account: String,
    pub save_dir: PathBuf,
    pub preview_lines: u32,
    /// For showing dates (tests use UTC).
    pub tz: jiff::tz::TimeZone,
}

/// What the worker has told about the session (kept across reconnects).
#[derive(Debug, Default)]
pub struct Session {
    pub info: Option<SessionInfo>,
    /// Latency of the last command.
    pub latency: Option<Duration>,
    pub transcript: VecDeque<Line>,
    /// The rows that had headers, by key, kept across reconnects (the
    /// same allocation as the row's).
    known: HashMap<MsgKey, Arc<Summary>>,
}

/// The list of messages: what the server listed and how it is shown.
#[derive(Debug)]
pub struct ListState {
    /// The listing of this session has arrived.
    pub listed: bool,
    pub rows: Vec<Row>,
    /// Indices into `rows`, filtered and sorted: what the list shows.
    pub view: Vec<usize>,
    /// Position in `view`.
    pub selected: usize,
    /// First visible position in `view`.
    pub offset: usize,
    pub sort: SortKey,
    pub reverse: bool,
    pub filter: String,
    pub filter_editing: bool,
    /// How many rows have had their headers fetched (or failed).
    pub headers_done: usize,
}

/// The user's marks, by message key: for deletion, and saved this run.
#[derive(Debug, Default)]
pub struct Marks {
    /// Marked for deletion (sent as `DELE` on a commit).
    pub delete: KeySet,
    /// Saved to a file in this run.
    pub saved: KeySet,
}

/// What is on screen besides the list: the preview, a save under way,
/// dialogs and overlays, the status line, the report, the terminal's size.
#[derive(Debug)]
pub struct Screen {
    pub preview: Option<PreviewState>,
    pub save: Option<SaveState>,
    pub dialog: Option<Dialog>,
    pub overlay: Option<Overlay>,
    pub status: Option<(StatusKind, String)>,
    /// The preview the worker has not answered yet (`waiting.rs`).
    pub waiting: Option<Waiting>,
    /// The last connection report (`i`), as text lines wrapped to the
    /// screen (rendered again on a resize).
    pub report: Option<Vec<String>>,
    /// The report those lines come from, or why there is none.
    pub report_source: Option<Result<Box<crate::report::Report>, Failure>>,
    pub width: u16,
    pub height: u16,
    pub color: bool,
}

/// Where the run is going: how the password is given, and quitting.
#[derive(Debug, Default)]
pub struct Lifecycle {
    /// Quit once the commit in progress is done.
    pub quit_after_commit: bool,
    /// The user asked to commit while the connection was down: once the
    /// new listing has re-matched the marks, the commit dialog opens with
    /// the current numbers (nothing is deleted before it is confirmed).
    pub commit_after_connect: bool,
    /// The user asked to quit; waiting for the worker to end.
    pub quitting: bool,
    /// The password is typed into the app (no other source); a refused
    /// login asks again.
    pub asks_password: bool,
}

/// The TUI's whole state, in parts.
pub struct App {
    pub setup: Setup,
    pub session: Session,
    /// The state of the connection, as the worker tells it.
    pub link: Link,
    pub list: ListState,
    pub marks: Marks,
    pub screen: Screen,
    pub lifecycle: Lifecycle,
    next_id: u64,
}

/// Lines of transcript kept in the app.
const TRANSCRIPT_KEEP: usize = 5000;

impl App {
    pub fn new(
        account: String,
        save_dir: PathBuf,
        preview_lines: u32,
        tz: jiff::tz::TimeZone,
    ) -> App {
        App {
            setup: Setup {
                account,
                save_dir,
                preview_lines,
                tz,
            },
            session: Session::default(),
            link: Link::Connecting {
                stage: Stage::Connect,
                done: Vec::new(),
            },
            list: ListState {
                listed: false,
                rows: Vec::new(),
                view: Vec::new(),
                selected: 0,
                offset: 0,
                sort: SortKey::Number,
                reverse: false,
                filter: String::new(),
                filter_editing: false,
                headers_done: 0,
            },
            marks: Marks::default(),
            screen: Screen {
                preview: None,
                save: None,
                dialog: None,
                overlay: None,
                status: None,
                waiting: None,
                report: None,
                report_source: None,
                width: 80,
                height: 24,
                color: true,
            },
            lifecycle: Lifecycle::default(),
            next_id: 1,
        }
    }

    /// How the session ended, for the exit status: an error when popdoc
    /// could not connect or log in, or had lost the connection, when the
    /// user left.
    pub fn outcome(&self) -> Result<(), String> {
        match &self.link {
            Link::Failed(m) => Err(format!("the session failed: {m}")),
            Link::Disconnected(m) => Err(format!("the connection was lost: {m}")),
            Link::Connecting { .. } | Link::Ready => Ok(()),
        }
    }

    /// Starts with the password dialog; nothing connects until it is given.
    pub fn ask_password(&mut self) {
        self.lifecycle.asks_password = true;
        self.screen.dialog = Some(Dialog::Password {
            input: PasswordInput::default(),
            message: None,
        });
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn selected_row(&self) -> Option<&Row> {
        self.list
            .view
            .get(self.list.selected)
            .map(|&i| &self.list.rows[i])
    }

    pub fn total_size(&self) -> u64 {
        self.list.rows.iter().map(|r| r.size).sum()
    }

    pub fn marked_rows(&self) -> impl Iterator<Item = &Row> {
        self.list
            .rows
            .iter()
            .filter(|r| self.marks.delete.contains(&r.key()))
    }

    pub fn marked_size(&self) -> u64 {
        self.marked_rows().map(|r| r.size).sum()
    }

    pub fn status(&mut self, kind: StatusKind, text: impl Into<String>) {
        self.screen.status = Some((kind, text.into()));
        // The status may take more or fewer lines: keep the selection shown.
        self.scroll_into_view();
    }

    fn push_transcript(&mut self, lines: Vec<Line>) {
        for l in lines {
            if self.session.transcript.len() == TRANSCRIPT_KEEP {
                self.session.transcript.pop_front();
            }
            self.session.transcript.push_back(l);
        }
    }
}

#[cfg(test)]
mod tests;
