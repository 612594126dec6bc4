//! The worker task that owns the connection for the TUI: it takes
//! [`Request`]s, does the POP3 work, and reports [`Event`]s with owned data.
//!
//! Headers (`TOP n 0`, once per message and session) load in the
//! background in pipelined batches, the rows the user sees first, and
//! reach the app reply by reply; between batches the worker serves previews,
//! saves and commits, so a user request never waits for the whole list.
//! It sends NOOP when idle, reconnects after a cancelled RETR (POP3 cannot
//! stop one midway), and never sends DELE except for a commit.

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use secrecy::SecretString;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::account::Account;
use crate::client::conn::{Connection, Credentials, Stage};
use crate::client::error::Error;
use crate::client::log::{Clock, Line};
use crate::client::ops::{HEADER_LIMIT, Listing};
use crate::mail::{Preview, Summary, preview, summarize};
use crate::store::{Collision, PendingFile, Saved};

/// How many `TOP n 0` go out per batch before requests are looked at.
const HEADER_BATCH: usize = 200;

/// A message to delete, as the app knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub number: u32,
    /// Checked against this session's UIDL listing before DELE.
    pub uidl: Option<String>,
}

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
        number: u32,
        uidl: Option<String>,
        lines: u32,
        size: u64,
    },
    Save {
        id: u64,
        number: u32,
        uidl: Option<String>,
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

/// Facts about the session for the status bar and the report.
#[derive(Debug, Clone, Default)]
pub struct SessionInfo {
    pub server: String,
    /// "TLS 1.3" or "plain".
    pub security: String,
    pub greeting: String,
    pub method: String,
    pub pipelining: bool,
    pub top: bool,
    pub uidl: bool,
    pub started_utc: String,
    pub implementation: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommitReport {
    /// Messages the server accepted DELE for (and then QUIT committed).
    pub deleted: Vec<Mark>,
    /// Marks whose UIDL is no longer on the server.
    pub gone: Vec<Mark>,
    /// The server's reply to QUIT.
    pub quit: String,
}

#[derive(Debug)]
pub enum Event {
    Stage {
        stage: Stage,
        done: Vec<(Stage, Duration)>,
    },
    Connected(SessionInfo),
    /// Connecting or logging in failed.
    Failed(String),
    Listing(Vec<Listing>),
    Headers(Vec<(u32, Result<Summary, String>)>),
    Preview {
        id: u64,
        number: u32,
        result: Result<Preview, String>,
    },
    SaveProgress {
        id: u64,
        bytes: u64,
        elapsed: Duration,
    },
    Saved {
        id: u64,
        result: Result<Saved, String>,
        /// The LIST size, to compare.
        list_size: u64,
        cancelled: bool,
    },
    Committed(CommitReport),
    /// Some DELE were refused; nothing is committed until the user says.
    CommitRefused {
        accepted: Vec<Mark>,
        refused: Vec<(Mark, String)>,
        gone: Vec<Mark>,
    },
    /// RSET done: no message is marked on the server.
    Reset,
    Transcript(Vec<Line>),
    /// Latency of the last command (first reply byte after sending).
    Latency(Duration),
    /// Something failed but the session goes on.
    Notice(String),
    /// The connection is gone; `r` reconnects.
    Disconnected(String),
    /// The worker has ended (after Shutdown).
    Ended,
    /// The connection report as data (the UI renders it to its width), or
    /// a sentence saying why there is none.
    Report(Result<Box<crate::report::Report>, String>),
}

pub struct Worker {
    account: Account,
    secret: SecretString,
    token: bool,
    events: mpsc::Sender<Event>,
    requests: mpsc::Receiver<Request>,
    /// Requests taken from the channel early (to look ahead), in order.
    backlog: VecDeque<Request>,
    conn: Option<Connection>,
    listing: Vec<Listing>,
    pending_headers: VecDeque<u32>,
    /// DELE sent and not yet committed or reset.
    dele_sent: bool,
    commit_accepted: Vec<Mark>,
    commit_gone: Vec<Mark>,
    transcript_mark: u64,
    /// The first session's clock: the app's transcript counts every
    /// session's times from it, so they do not restart after a reconnect.
    clock: Option<Clock>,
    last_activity: Instant,
}

/// Starts the worker; returns the request sender and the event receiver.
pub fn spawn(
    account: Account,
    secret: SecretString,
    token: bool,
) -> (
    mpsc::Sender<Request>,
    mpsc::Receiver<Event>,
    tokio::task::JoinHandle<()>,
) {
    let (req_tx, req_rx) = mpsc::channel(64);
    let (ev_tx, ev_rx) = mpsc::channel(256);
    let worker = Worker {
        account,
        secret,
        token,
        events: ev_tx,
        requests: req_rx,
        backlog: VecDeque::new(),
        conn: None,
        listing: Vec::new(),
        pending_headers: VecDeque::new(),
        dele_sent: false,
        commit_accepted: Vec::new(),
        commit_gone: Vec::new(),
        transcript_mark: 0,
        clock: None,
        last_activity: Instant::now(),
    };
    let handle = tokio::spawn(worker.run());
    (req_tx, ev_rx, handle)
}

impl Worker {
    async fn send(&self, e: Event) {
        // The UI drains its channel; if it is gone, there is nobody to tell.
        let _ = self.events.send(e).await;
    }

    async fn run(mut self) {
        self.connect().await;
        loop {
            let request = if let Some(r) = self.backlog.pop_front() {
                Some(r)
            } else if !self.pending_headers.is_empty() && self.conn.is_some() {
                match self.requests.try_recv() {
                    Ok(r) => Some(r),
                    Err(mpsc::error::TryRecvError::Empty) => {
                        self.header_batch().await;
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                }
            } else {
                let idle = self
                    .account
                    .keepalive
                    .filter(|_| self.conn.is_some())
                    .map(|k| k.saturating_sub(self.last_activity.elapsed()));
                match idle {
                    Some(wait) => match tokio::time::timeout(wait, self.requests.recv()).await {
                        Ok(r) => r,
                        Err(_) => {
                            self.keepalive().await;
                            continue;
                        }
                    },
                    None => self.requests.recv().await,
                }
            };
            let Some(request) = request else {
                // The UI is gone: leave without deleting anything.
                self.shutdown().await;
                return;
            };
            if let Request::Shutdown = request {
                self.shutdown().await;
                self.send(Event::Ended).await;
                return;
            }
            self.handle(request).await;
        }
    }

    async fn handle(&mut self, request: Request) {
        match request {
            Request::Connect => self.connect().await,
            Request::Login(secret) => {
                self.secret = secret;
                self.connect().await
            }
            Request::Prioritize(numbers) => {
                // Only headers still waiting move forward: one already
                // fetched or in flight (the app has not seen its reply
                // yet) is never asked for again in this session.
                let wanted: HashSet<u32> = numbers.iter().copied().collect();
                let waiting: HashSet<u32> = self
                    .pending_headers
                    .iter()
                    .copied()
                    .filter(|n| wanted.contains(n))
                    .collect();
                self.pending_headers.retain(|n| !waiting.contains(n));
                for n in numbers.into_iter().rev() {
                    if waiting.contains(&n) {
                        self.pending_headers.push_front(n);
                    }
                }
            }
            Request::Preview {
                id,
                number,
                uidl,
                lines,
                size,
            } => {
                // When the user has already moved on (a newer preview is
                // queued), this one would be dropped anyway: skip its TOP.
                while let Ok(r) = self.requests.try_recv() {
                    self.backlog.push_back(r);
                }
                if self
                    .backlog
                    .iter()
                    .any(|r| matches!(r, Request::Preview { .. }))
                {
                    return;
                }
                let result = self.preview(number, uidl.as_deref(), lines, size).await;
                self.send(Event::Preview { id, number, result }).await;
            }
            Request::Save {
                id,
                number,
                uidl,
                dest,
                collision,
                cancel,
            } => {
                self.save(id, number, uidl.as_deref(), dest, collision, cancel)
                    .await
            }
            Request::Commit(marks) => self.commit(marks).await,
            Request::CommitAccepted => self.quit_commit().await,
            Request::Reset => self.reset().await,
            Request::Report => {
                let report = match &self.conn {
                    Some(conn) => Ok(Box::new(crate::report::report_from_session(
                        conn,
                        &self.listing,
                        &self.account,
                    ))),
                    None => Err("Not connected: there is no session to report on. Press r to reconnect, or run popdoc check.".to_string()),
                };
                self.send(Event::Report(report)).await;
            }
            Request::Shutdown => {}
        }
        self.flush_transcript().await;
    }

    async fn flush_transcript(&mut self) {
        let Some(conn) = &self.conn else { return };
        let clock = *self.clock.get_or_insert_with(|| conn.log.clock());
        let lines: Vec<Line> = conn.log.lines_on(&clock, self.transcript_mark);
        self.transcript_mark = conn.log.mark();
        let latency = conn.log.last_timing().and_then(|t| t.latency());
        if !lines.is_empty() {
            self.send(Event::Transcript(lines)).await;
        }
        if let Some(l) = latency {
            self.send(Event::Latency(l)).await;
        }
    }

    /// A failed operation: if the connection broke, drop it and say so.
    async fn after_error(&mut self, e: &Error) {
        self.flush_transcript().await;
        if self.conn.as_ref().is_some_and(|c| c.broken().is_some()) || e.breaks_connection() {
            if let Some(mut c) = self.conn.take() {
                c.shutdown().await;
            }
            self.pending_headers.clear();
            self.dele_sent = false;
            self.send(Event::Disconnected(e.to_string())).await;
        }
    }

    async fn connect(&mut self) {
        self.connect_retrying(false).await
    }

    /// Connects; with `wait_for_lock`, a login refused with `[IN-USE]` is
    /// tried again for a few seconds (after a cancelled RETR the server
    /// may hold the old session's lock until it notices the close).
    async fn connect_retrying(&mut self, wait_for_lock: bool) {
        if let Some(mut c) = self.conn.take() {
            c.shutdown().await;
        }
        self.dele_sent = false;
        self.transcript_mark = 0;
        let creds = Credentials {
            user: self.account.user.clone(),
            secret: self.secret.clone(),
            token: self.token,
        };
        let events = self.events.clone();
        let mut on_stage = move |stage: Stage, done: &[(Stage, Duration)]| {
            let _ = events.try_send(Event::Stage {
                stage,
                done: done.to_vec(),
            });
        };
        let mut delay = Duration::from_millis(200);
        let deadline = Instant::now() + Duration::from_secs(8);
        let result = loop {
            let attempt = async {
                let mut c =
                    Connection::open(self.account.endpoint(), self.account.timeout, &mut on_stage)
                        .await
                        .map_err(|e| (e, None))?;
                match c.login(&creds, self.account.login, &mut on_stage).await {
                    Ok(()) => Ok(c),
                    Err(e) => Err((e, Some(c))),
                }
            }
            .await;
            let in_use = matches!(&attempt, Err((e, _)) if e.status().and_then(|s| s.code.as_ref()) == Some(&crate::pop3::RespCode::InUse));
            if !(wait_for_lock && in_use && Instant::now() + delay < deadline) {
                break attempt;
            }
            if let Err((_, Some(mut c))) = attempt {
                c.shutdown().await;
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(2));
        };
        let mut conn = match result {
            Ok(c) => c,
            Err((e, conn)) => {
                if let Some(c) = conn {
                    let clock = *self.clock.get_or_insert_with(|| c.log.clock());
                    let lines = c.log.lines_on(&clock, 0);
                    self.send(Event::Transcript(lines)).await;
                }
                self.send(Event::Failed(e.to_string())).await;
                return;
            }
        };
        let caps = conn.capabilities().cloned();
        let info = SessionInfo {
            server: self.account.server_label(),
            security: conn
                .tls
                .as_ref()
                .map(|t| t.version.clone())
                .unwrap_or_else(|| "plain".into()),
            greeting: conn.greeting.to_string(),
            method: conn.method.clone().unwrap_or_default(),
            pipelining: conn.pipelining(),
            top: caps.as_ref().is_none_or(|c| c.top),
            uidl: caps.as_ref().is_none_or(|c| c.uidl),
            started_utc: self.clock.get_or_insert_with(|| conn.log.clock()).utc(),
            implementation: caps.and_then(|c| c.implementation),
        };
        self.send(Event::Connected(info)).await;
        match conn.listing().await {
            Ok(listing) => {
                self.pending_headers = listing.iter().map(|l| l.number).collect();
                self.listing = listing.clone();
                self.conn = Some(conn);
                self.last_activity = Instant::now();
                self.flush_transcript().await;
                self.send(Event::Listing(listing)).await;
            }
            Err(e) => {
                self.conn = Some(conn);
                self.after_error(&e).await;
                self.send(Event::Failed(e.to_string())).await;
            }
        }
    }

    async fn header_batch(&mut self) {
        let n = self.pending_headers.len().min(HEADER_BATCH);
        let batch: Vec<u32> = self.pending_headers.drain(..n).collect();
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        // Each reply goes to the app as it comes, so that rows appear one
        // by one on a slow server; when the app is behind, replies gather
        // here and go with the next one (or at the end). None is lost.
        let mut out = Vec::new();
        let events = self.events.clone();
        let r = conn
            .top_many(&batch, 0, HEADER_LIMIT, &mut |num, r| {
                out.push((num, r.map(|b| summarize(&b)).map_err(|e| e.to_string())));
                if let Ok(permit) = events.try_reserve() {
                    permit.send(Event::Headers(std::mem::take(&mut out)));
                }
            })
            .await;
        self.last_activity = Instant::now();
        if !out.is_empty() {
            self.send(Event::Headers(out)).await;
        }
        match r {
            Ok(()) => self.flush_transcript().await,
            Err(e) => self.after_error(&e).await,
        }
    }

    async fn keepalive(&mut self) {
        self.last_activity = Instant::now();
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        if let Err(e) = conn.noop().await {
            self.after_error(&e).await;
        } else {
            self.flush_transcript().await;
        }
    }

    /// The message number for `uidl` in this session's listing.
    fn current_number(&self, number: u32, uidl: Option<&str>) -> Option<u32> {
        match uidl {
            Some(u) => self
                .listing
                .iter()
                .find(|l| l.uidl.as_deref() == Some(u))
                .map(|l| l.number),
            None => self
                .listing
                .iter()
                .any(|l| l.number == number)
                .then_some(number),
        }
    }

    fn conn_or_err(&mut self) -> Result<&mut Connection, String> {
        self.conn
            .as_mut()
            .ok_or_else(|| "not connected; press r to reconnect".to_string())
    }

    async fn preview(
        &mut self,
        number: u32,
        uidl: Option<&str>,
        lines: u32,
        size: u64,
    ) -> Result<Preview, String> {
        let n = self
            .current_number(number, uidl)
            .ok_or_else(|| "the message is no longer on the server".to_string())?;
        let conn = self.conn_or_err()?;
        let mut result = None;
        let r = conn
            .top_many(&[n], lines, 16 * 1024 * 1024, &mut |_, r| result = Some(r))
            .await;
        self.last_activity = Instant::now();
        if let Err(e) = r {
            self.after_error(&e).await;
            return Err(e.to_string());
        }
        match result {
            Some(Ok(bytes)) => Ok(preview(&bytes, Some(size))),
            Some(Err(e)) => Err(e.to_string()),
            None => Err("no reply".into()),
        }
    }

    async fn save(
        &mut self,
        id: u64,
        number: u32,
        uidl: Option<&str>,
        dest: PathBuf,
        collision: Collision,
        cancel: CancellationToken,
    ) {
        let n = self.current_number(number, uidl);
        // The LIST size of the very message found above (by UIDL, or by
        // number on a server without UIDL).
        let list_size = n
            .and_then(|n| self.listing.iter().find(|l| l.number == n))
            .map_or(0, |l| l.size);
        let done = |result, cancelled| Event::Saved {
            id,
            result,
            list_size,
            cancelled,
        };
        let Some(n) = n else {
            self.send(done(
                Err("the message is no longer on the server".into()),
                false,
            ))
            .await;
            return;
        };
        let mut file = match PendingFile::create(&dest, collision) {
            Ok(f) => f,
            Err(e) => {
                self.send(done(Err(e.to_string()), false)).await;
                return;
            }
        };
        let Some(conn) = self.conn.as_mut() else {
            self.send(done(
                Err("not connected; press r to reconnect".into()),
                false,
            ))
            .await;
            return;
        };
        let started = Instant::now();
        let events = self.events.clone();
        let mut last = Instant::now();
        let r = conn
            .retr_to(
                n,
                &mut file,
                &mut |bytes| {
                    if last.elapsed() >= Duration::from_millis(50) {
                        last = Instant::now();
                        let _ = events.try_send(Event::SaveProgress {
                            id,
                            bytes,
                            elapsed: started.elapsed(),
                        });
                    }
                },
                Some(&cancel),
            )
            .await;
        self.last_activity = Instant::now();
        match r {
            Ok(_) => {
                let result = file.commit().await.map_err(|e| e.to_string());
                self.send(done(result, false)).await;
                self.flush_transcript().await;
            }
            Err(Error::Cancelled) => {
                drop(file);
                self.send(done(Err("cancelled".into()), true)).await;
                self.flush_transcript().await;
                // The RETR is still coming: the connection must be reopened.
                self.connect_retrying(true).await;
            }
            Err(e) => {
                drop(file);
                self.send(done(Err(e.to_string()), false)).await;
                self.after_error(&e).await;
            }
        }
    }

    async fn commit(&mut self, marks: Vec<Mark>) {
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        let mut gone = Vec::new();
        for mark in marks {
            let Some(n) = self.current_number(mark.number, mark.uidl.as_deref()) else {
                gone.push(mark);
                continue;
            };
            let Some(conn) = self.conn.as_mut() else {
                self.send(Event::Notice(
                    "not connected; nothing was deleted. Press r to reconnect.".into(),
                ))
                .await;
                return;
            };
            match conn.dele(n).await {
                Ok(_) => {
                    self.dele_sent = true;
                    accepted.push(Mark { number: n, ..mark });
                }
                Err(Error::Refused { status, .. }) => refused.push((mark, status.to_string())),
                Err(e) => {
                    self.after_error(&e).await;
                    self.send(Event::Notice(format!(
                        "commit stopped: {e} Nothing was deleted (no QUIT was sent)."
                    )))
                    .await;
                    return;
                }
            }
        }
        self.commit_accepted = accepted.clone();
        self.commit_gone = gone.clone();
        if refused.is_empty() {
            self.quit_commit().await;
        } else {
            self.flush_transcript().await;
            self.send(Event::CommitRefused {
                accepted,
                refused,
                gone,
            })
            .await;
        }
    }

    /// QUIT: the server deletes what it accepted DELE for.
    async fn quit_commit(&mut self) {
        let Some(conn) = self.conn.take() else {
            self.send(Event::Notice("not connected; nothing was deleted.".into()))
                .await;
            return;
        };
        let lines_before = self.transcript_mark;
        let log_lines: Vec<Line>;
        let result = {
            let mut conn = conn;
            let r = conn.command(crate::pop3::Command::Quit).await;
            let clock = *self.clock.get_or_insert_with(|| conn.log.clock());
            log_lines = conn.log.lines_on(&clock, lines_before);
            conn.shutdown().await;
            r
        };
        self.dele_sent = false;
        if !log_lines.is_empty() {
            self.send(Event::Transcript(log_lines)).await;
        }
        match result {
            Ok(reply) => {
                let report = CommitReport {
                    deleted: std::mem::take(&mut self.commit_accepted),
                    gone: std::mem::take(&mut self.commit_gone),
                    quit: reply.status.to_string(),
                };
                self.send(Event::Committed(report)).await;
            }
            Err(e) => {
                self.send(Event::Notice(format!(
                    "QUIT failed ({e}); the server may not have deleted the messages. Reconnect (r) to see what is there."
                )))
                .await;
                self.send(Event::Disconnected(e.to_string())).await;
                return;
            }
        }
        // Show what is on the server now.
        self.connect().await;
    }

    async fn reset(&mut self) {
        self.commit_accepted.clear();
        self.commit_gone.clear();
        if !self.dele_sent {
            self.send(Event::Reset).await;
            return;
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        match conn.rset().await {
            Ok(_) => {
                self.dele_sent = false;
                self.send(Event::Reset).await;
            }
            Err(e) => {
                // Without RSET, dropping the connection (no QUIT) deletes nothing.
                if let Some(mut c) = self.conn.take() {
                    c.shutdown().await;
                }
                self.dele_sent = false;
                self.send(Event::Disconnected(format!(
                    "RSET failed ({e}); the connection was closed without QUIT, so nothing was deleted"
                )))
                .await;
            }
        }
    }

    /// Leaves without deleting: RSET if a DELE was sent, then QUIT; if RSET
    /// fails, close without QUIT (RFC 1939 §6: then nothing is deleted).
    async fn shutdown(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if self.dele_sent && conn.rset().await.is_err() {
            conn.shutdown().await;
            return;
        }
        let _ = conn.quit().await;
    }
}
