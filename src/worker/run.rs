//! The actor loop: the worker task that owns the connection for the TUI.
//! It takes [`Request`]s, does the POP3 work, and reports [`Event`]s with
//! owned data (the contract is in `worker/mod.rs`). This file holds the
//! loop, connecting and the background header load; `reconnect.rs` the
//! keepalive, noticing a lost session and reconnecting by itself;
//! `message.rs` previews and saves, `commit.rs` deletes. It
//! never touches UI state and never renders report text.
//!
//! Headers (`TOP n 0`, once per message and session) load in the
//! background in one continuous pipelined flight, the rows the user sees
//! first, and reach the app reply by reply; a preview, save or commit
//! ends the flight, waits only for the replies already in flight, and the
//! load goes on after it, so a user request never waits for the list.
//! It sends NOOP when idle, reconnects after a cancelled RETR (POP3 cannot
//! stop one midway), and never sends DELE except for a commit.

use std::collections::{HashSet, VecDeque};
use std::time::{Duration, Instant};

use secrecy::SecretString;
use tokio::sync::mpsc;

use super::reconnect::{Backoff, Idle, retryable};
use super::{Event, Failure, FailureKind, Mark, MsgKey, Provider, Request, SessionInfo};
use crate::account::Account;
use crate::client::conn::{Connection, Stage};
use crate::client::error::Error;
use crate::client::log::{Clock, Line};
use crate::client::ops::{HEADER_LIMIT, Listing};
use crate::mail::summarize;

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
    /// Messages whose header block was given up (too large, too slow):
    /// not asked for again after a reconnect; their rows keep the error.
    unreadable: Vec<(MsgKey, Failure)>,
    /// When to reconnect by itself after a lost session (`reconnect.rs`).
    pub(super) backoff: Backoff,
    /// This session's header cache (`cached.rs`), until it is written.
    pub(super) cache: Option<crate::cache::Cache>,
    /// The rows the cache held for the listing just opened, sent after it.
    cached_rows: Vec<(u32, Result<crate::mail::Summary, Failure>)>,
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
        unreadable: Vec::new(),
        backoff: Backoff::default(),
        cache: None,
        cached_rows: Vec::new(),
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
                        self.load_headers().await;
                        continue;
                    }
                    Err(mpsc::error::TryRecvError::Disconnected) => None,
                }
            } else {
                match self.idle().await {
                    Idle::Request(r) => r,
                    Idle::Worked => continue,
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
            Request::Prioritize(numbers) => prioritize(&mut self.pending_headers, numbers),
            Request::Preview {
                id,
                key,
                number,
                lines,
                size,
                cancel,
            } => self.preview(id, key, number, lines, size, cancel).await,
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
            self.schedule_reconnect(None).await;
        }
    }

    pub(super) async fn connect(&mut self) {
        self.connect_retrying(false).await;
    }

    /// Connects; with `wait_for_lock`, a login refused with `[IN-USE]` is
    /// tried again for a few seconds (after a cancelled RETR the server
    /// may hold the old session's lock until it notices the close).
    pub(super) async fn connect_retrying(&mut self, wait_for_lock: bool) {
        if self.open_session(wait_for_lock).await {
            self.announce_listing().await;
        }
    }

    /// Connects, logs in and lists, like [`Self::connect_retrying`], but
    /// keeps the listing to itself until [`Self::announce_listing`] (a
    /// commit reports first what the new listing shows). True when a
    /// session is up and listed.
    pub(super) async fn open_session(&mut self, wait_for_lock: bool) -> bool {
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
                match c
                    .authenticate(&creds, self.account.login, &mut on_stage)
                    .await
                {
                    Ok(()) => Ok(c),
                    Err(e) => Err((e, Some(c))),
                }
            }
            .await;
            let in_use = matches!(&attempt, Err((e, _)) if e.is_in_use());
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
                let failure = Failure::from(&e);
                // `[LOGIN-DELAY]`: wait what the server's CAPA said.
                let mut at_least = None;
                if let Some(c) = conn {
                    let clock = *self.clock.get_or_insert_with(|| c.log.clock());
                    let lines = c.log.lines_on(&clock, 0);
                    self.send(Event::Transcript(lines)).await;
                    if failure.kind == FailureKind::LoginDelay {
                        at_least = c
                            .caps_before
                            .as_ref()
                            .or(c.capabilities())
                            .and_then(|caps| caps.login_delay)
                            .map(|(secs, _)| Duration::from_secs(secs.into()));
                    }
                }
                let retry = retryable(failure.kind);
                self.send(Event::Failed(failure)).await;
                if retry {
                    self.schedule_reconnect(at_least).await;
                }
                return false;
            }
        };
        // The CAPA after login goes in one flight with LIST and UIDL; the
        // session's facts are known once it is back.
        let listed = conn.listing().await;
        let info = self.session_info(&conn);
        self.send(Event::Connected(info)).await;
        match listed {
            Ok(listing) => {
                self.cached_rows = self.open_cache(&listing).await;
                self.pending_headers = listing
                    .iter()
                    .map(|l| l.number)
                    .filter(|&n| self.uncached(n))
                    .collect();
                self.listing = listing;
                self.conn = Some(conn);
                self.last_activity = Instant::now();
                let login_delay = self
                    .conn
                    .as_ref()
                    .and_then(|c| c.capabilities())
                    .and_then(|caps| caps.login_delay)
                    .map(|(secs, _)| Duration::from_secs(secs.into()));
                self.backoff.up(login_delay);
                self.flush_transcript().await;
                true
            }
            Err(e) => {
                self.conn = Some(conn);
                self.send(Event::Failed((&e).into())).await;
                self.after_error(&e).await;
                false
            }
        }
    }

    /// The listing of the session just opened goes to the app, with a
    /// warning when one UIDL names two messages.
    pub(super) async fn announce_listing(&mut self) {
        self.send(Event::Listing(self.listing.clone())).await;
        let cached = std::mem::take(&mut self.cached_rows);
        if !cached.is_empty() {
            self.send(Event::Headers(cached)).await;
        }
        self.report_unreadable().await;
        if self.pending_headers.is_empty() {
            self.save_cache().await;
        }
        let dups = super::key::duplicate_uidls(&self.listing);
        if !dups.is_empty() {
            self.send(Event::Notice(Failure::new(
                FailureKind::Protocol,
                format!(
                    "the server lists the same UIDL for more than one message ({}); popdoc will not delete those messages, since it cannot tell them apart.",
                    dups.join(", ")
                ),
            )))
            .await;
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

    /// Loads headers in one continuous flight (`TOP n 0`): the next
    /// number is taken from the queue each time the window has room, so
    /// the window never empties between batches. Each time, `Prioritize`
    /// requests waiting on the channel reorder the queue first (they take
    /// effect inside the flight); any other request ends the flight: it
    /// waits only for the replies already in flight, then is served, and
    /// the load goes on after it. The window is
    /// [`Connection::measured_window`]: about two round trips' worth of
    /// replies at the rate measured so far, at least 256 KiB and at most
    /// 4 MiB of expected replies, so that is what a request waits for.
    async fn load_headers(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let mut feed = HeaderFeed {
            queue: &mut self.pending_headers,
            requests: &mut self.requests,
            backlog: &mut self.backlog,
            pulled: VecDeque::new(),
        };
        // Each reply goes to the app as it comes, so that rows appear one
        // by one on a slow server; when the app is behind, replies gather
        // here and go with the next one (or at the end). None is lost.
        let mut out = Vec::new();
        let mut answered = 0;
        let mut gave_up = Vec::new();
        let events = self.events.clone();
        let measured = conn.measured_window();
        let window = std::mem::replace(&mut conn.window_bytes, measured);
        let cache = &mut self.cache;
        let r = conn
            .top_stream(&mut feed, 0, HEADER_LIMIT, &mut |num, r| {
                answered += 1;
                let r = r.map(|b| summarize(&b)).map_err(|e| {
                    let f = Failure::told(&e, e.header_note());
                    if e.gave_up_reply() {
                        gave_up.push((num, f.clone()));
                    }
                    f
                });
                super::cached::record(cache, num, &r);
                out.push((num, r));
                if let Ok(permit) = events.try_reserve() {
                    permit.send(Event::Headers(std::mem::take(&mut out)));
                }
            })
            .await;
        conn.window_bytes = window;
        // Numbers taken but not answered (the flight broke) go back first.
        let HeaderFeed { queue, pulled, .. } = feed;
        for n in pulled.into_iter().skip(answered).rev() {
            queue.push_front(n);
        }
        self.last_activity = Instant::now();
        if !out.is_empty() {
            self.send(Event::Headers(out)).await;
        }
        match r {
            Ok(()) => self.flush_transcript().await,
            // The numbers not answered are back in the queue (above).
            Err(e) if e.gave_up_reply() => self.resume_headers(gave_up, Vec::new()).await,
            Err(e) => self.after_error(&e).await,
        }
        if self.pending_headers.is_empty() {
            self.save_cache().await;
        }
    }

    /// A header block was given up (past its cap or its deadline): that
    /// message keeps its error, the connection (out of step) is reopened,
    /// and the load goes on with the headers not yet read, `rest` first.
    async fn resume_headers(&mut self, gave_up: Vec<(u32, Failure)>, rest: Vec<u32>) {
        self.flush_transcript().await;
        let key = |listing: &[Listing], n: u32| {
            let uidl = listing
                .iter()
                .find(|l| l.number == n)
                .and_then(|l| l.uidl.clone());
            MsgKey::new(n, uidl.as_deref())
        };
        for (n, f) in gave_up {
            self.unreadable.push((key(&self.listing, n), f));
        }
        let wanted: HashSet<MsgKey> = rest
            .iter()
            .chain(self.pending_headers.iter())
            .map(|&n| key(&self.listing, n))
            .collect();
        self.connect_retrying(true).await;
        self.pending_headers
            .retain(|&n| wanted.contains(&key(&self.listing, n)));
    }

    /// Tells the app again which messages' headers could not be read (after
    /// a listing, whose rows start without them), and leaves them out of
    /// the header load.
    async fn report_unreadable(&mut self) {
        if self.unreadable.is_empty() {
            return;
        }
        let mut out = Vec::new();
        for (k, f) in &self.unreadable {
            if let Some(l) = k.find(&self.listing) {
                out.push((l.number, Err(f.clone())));
            }
        }
        let numbers: HashSet<u32> = out.iter().map(|(n, _)| *n).collect();
        self.pending_headers.retain(|n| !numbers.contains(n));
        if !out.is_empty() {
            self.send(Event::Headers(out)).await;
        }
    }
}

/// Only headers still waiting move forward: one already fetched or in
/// flight (the app has not seen its reply yet) is never asked for again
/// in this session.
fn prioritize(queue: &mut VecDeque<u32>, numbers: Vec<u32>) {
    let wanted: HashSet<u32> = numbers.iter().copied().collect();
    let waiting: HashSet<u32> = queue
        .iter()
        .copied()
        .filter(|n| wanted.contains(n))
        .collect();
    queue.retain(|n| !waiting.contains(n));
    for n in numbers.into_iter().rev() {
        if waiting.contains(&n) {
            queue.push_front(n);
        }
    }
}

/// The numbers of one header flight, taken from the queue as the window
/// has room. Before each, `Prioritize` requests on the channel reorder the
/// queue; any other request goes to the backlog and ends the flight (so
/// does a closed channel: the loop then sees it). Every number handed out
/// is in `pulled`, in order, so none is lost when the flight breaks.
struct HeaderFeed<'a> {
    queue: &'a mut VecDeque<u32>,
    requests: &'a mut mpsc::Receiver<Request>,
    backlog: &'a mut VecDeque<Request>,
    pulled: VecDeque<u32>,
}

impl Iterator for HeaderFeed<'_> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        while self.backlog.is_empty() {
            match self.requests.try_recv() {
                Ok(Request::Prioritize(numbers)) => prioritize(self.queue, numbers),
                Ok(other) => self.backlog.push_back(other),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => return None,
            }
        }
        if !self.backlog.is_empty() {
            return None;
        }
        let n = self.queue.pop_front()?;
        self.pulled.push_back(n);
        Some(n)
    }
}
