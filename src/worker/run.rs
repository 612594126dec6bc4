//! The actor loop: the worker task that owns the connection for the TUI.
//! It takes [`Request`]s, does the POP3 work, and reports [`Event`]s with
//! owned data (the contract is in `worker/mod.rs`). This file holds the
//! loop, connecting and reconnecting, the background header load and the
//! keepalive; `message.rs` previews and saves, `commit.rs` deletes. It
//! never touches UI state and never renders report text.
//!
//! Headers (`TOP n 0`, once per message and session) load in the
//! background in pipelined batches, the rows the user sees first, and
//! reach the app reply by reply; between batches the worker serves previews,
//! saves and commits, so a user request never waits for the whole list.
//! It sends NOOP when idle, reconnects after a cancelled RETR (POP3 cannot
//! stop one midway), and never sends DELE except for a commit.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use tokio::sync::mpsc;

use super::{Event, Failure, Mark, Provider, Request, SessionInfo};
use crate::account::Account;
use crate::client::conn::{Connection, Stage};
use crate::client::error::Error;
use crate::client::log::{Clock, Line};
use crate::client::ops::{HEADER_LIMIT, Listing};
use crate::mail::summarize;

/// How many `TOP n 0` go out per batch before requests are looked at.
const HEADER_BATCH: usize = 200;

/// The actor: owns the connection and the channels of one TUI session.
pub(super) struct Actor {
    pub(super) account: Account,
    secret: SecretString,
    token: bool,
    pub(super) events: mpsc::Sender<Event>,
    pub(super) requests: mpsc::Receiver<Request>,
    /// Requests taken from the channel early (to look ahead), in order.
    pub(super) backlog: VecDeque<Request>,
    pub(super) conn: Option<Connection>,
    pub(super) listing: Vec<Listing>,
    pending_headers: VecDeque<u32>,
    /// DELE sent and not yet committed or reset.
    pub(super) dele_sent: bool,
    /// What the last commit's DELE reached: kept here alone until QUIT
    /// commits it or RSET undoes it.
    pub(super) commit_accepted: Vec<Mark>,
    pub(super) commit_gone: Vec<Mark>,
    pub(super) transcript_mark: u64,
    /// The first session's clock: the app's transcript counts every
    /// session's times from it, so they do not restart after a reconnect.
    pub(super) clock: Option<Clock>,
    pub(super) last_activity: Instant,
    /// This session's header cache (`cached.rs`), until it is written.
    pub(super) cache: Option<crate::cache::Cache>,
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
    let worker = Actor {
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
        cache: None,
    };
    let handle = tokio::spawn(worker.run());
    (req_tx, ev_rx, handle)
}

impl Actor {
    pub(super) async fn send(&self, e: Event) {
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
            match request {
                Some(request) => {
                    if !self.handle(request).await {
                        return;
                    }
                }
                None => {
                    // The UI is gone: leave without deleting anything.
                    self.save_cache().await;
                    self.shutdown().await;
                    return;
                }
            }
        }
    }

    /// Does what `request` asks; false when the worker has ended.
    async fn handle(&mut self, request: Request) -> bool {
        match request {
            Request::Connect => self.connect().await,
            Request::Login(secret) => {
                self.secret = secret;
                self.connect().await
            }
            Request::Prioritize(numbers) => self.prioritize(numbers),
            Request::Preview {
                id,
                key,
                number,
                lines,
                size,
            } => self.preview(id, key, number, lines, size).await,
            Request::Save {
                id,
                key,
                dest,
                collision,
                cancel,
            } => self.save(id, key, dest, collision, cancel).await,
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
                    None => Err(Failure::not_connected(
                        "Not connected: there is no session to report on. Press r to reconnect, or run popdoc check.",
                    )),
                };
                self.send(Event::Report(report)).await;
            }
            Request::Shutdown => {
                self.save_cache().await;
                self.shutdown().await;
                self.send(Event::Ended).await;
                return false;
            }
        }
        self.flush_transcript().await;
        true
    }

    /// Only headers still waiting move forward: one already fetched or in
    /// flight (the app has not seen its reply yet) is never asked for
    /// again in this session.
    fn prioritize(&mut self, numbers: Vec<u32>) {
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

    pub(super) async fn flush_transcript(&mut self) {
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
    pub(super) async fn after_error(&mut self, e: &Error) {
        self.flush_transcript().await;
        if self.conn.as_ref().is_some_and(|c| c.broken().is_some()) || e.breaks_connection() {
            if let Some(mut c) = self.conn.take() {
                c.shutdown().await;
            }
            self.pending_headers.clear();
            self.dele_sent = false;
            self.send(Event::Disconnected(e.into())).await;
        }
    }

    pub(super) async fn connect(&mut self) {
        self.connect_retrying(false).await
    }

    /// Connects; with `wait_for_lock`, a login refused with `[IN-USE]` is
    /// tried again for a few seconds (after a cancelled RETR the server
    /// may hold the old session's lock until it notices the close).
    pub(super) async fn connect_retrying(&mut self, wait_for_lock: bool) {
        self.send(Event::Connecting).await;
        if let Some(mut c) = self.conn.take() {
            c.shutdown().await;
        }
        self.dele_sent = false;
        self.transcript_mark = 0;
        let creds = self.account.credentials(self.secret.clone(), self.token);
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
                self.send(Event::Failed(e.into())).await;
                return;
            }
        };
        let info = self.session_info(&conn);
        self.send(Event::Connected(info)).await;
        match conn.listing().await {
            Ok(listing) => {
                let cached = self.open_cache(&listing).await;
                self.pending_headers = listing
                    .iter()
                    .map(|l| l.number)
                    .filter(|&n| self.uncached(n))
                    .collect();
                self.listing = listing.clone();
                self.conn = Some(conn);
                self.last_activity = Instant::now();
                self.flush_transcript().await;
                self.send(Event::Listing(listing)).await;
                if !cached.is_empty() {
                    self.send(Event::Headers(cached)).await;
                }
                if self.pending_headers.is_empty() {
                    self.save_cache().await;
                }
            }
            Err(e) => {
                self.conn = Some(conn);
                self.after_error(&e).await;
                self.send(Event::Failed(e.into())).await;
            }
        }
    }

    fn session_info(&mut self, conn: &Connection) -> SessionInfo {
        let caps = conn.capabilities().cloned();
        let greeting = conn.greeting.to_string();
        SessionInfo {
            user: self.account.user.clone(),
            host: self.account.host.clone(),
            port: self.account.port,
            tls: conn.tls.as_ref().map(|t| t.version.clone()),
            provider: Provider::recognise(&self.account.host, &greeting),
            greeting,
            method: conn.method.clone().unwrap_or_default(),
            pipelining: conn.pipelining(),
            top: caps.as_ref().is_none_or(|c| c.top),
            uidl: caps.as_ref().is_none_or(|c| c.uidl),
            started_utc: self.clock.get_or_insert_with(|| conn.log.clock()).utc(),
            implementation: caps.and_then(|c| c.implementation),
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
        let cache = &mut self.cache;
        let r = conn
            .top_many(&batch, 0, HEADER_LIMIT, &mut |num, r| {
                let r = r.map(|b| summarize(&b)).map_err(Failure::from);
                super::cached::record(cache, num, &r);
                out.push((num, r));
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
        if self.pending_headers.is_empty() {
            self.save_cache().await;
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
}
