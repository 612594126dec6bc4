//! The listening side of the demo server: binds a loopback port, accepts
//! connections and runs one session task for each until shut down.
//!
//! It must only ever listen on 127.0.0.1. The protocol itself lives in
//! `session.rs` and `auth.rs`.

use std::collections::VecDeque;
use std::io;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;
use tracing::Instrument;

use super::config::ServerConfig;
use super::mailbox::Mailbox;
use super::session;

/// At most this many received lines are kept for [`Server::received`].
const RECEIVED_KEEP: usize = 10_000;

/// What every session shares.
pub(crate) struct Shared {
    pub(crate) config: ServerConfig,
    pub(crate) mailbox: Mailbox,
    pub(crate) acceptor: Option<TlsAcceptor>,
    received: Mutex<VecDeque<String>>,
    /// Commands that arrived before the reply to the one before was sent.
    ahead: AtomicU64,
    /// Bytes of `Faults::huge_header_on` lines the client took.
    pub(crate) huge_sent: std::sync::atomic::AtomicU64,
    /// Sessions started so far (for `Faults::autologout_first`).
    pub(crate) sessions: std::sync::atomic::AtomicU32,
    /// Flights (see [`Server::flights`]): each received command line with
    /// the number of its flight, bounded like `received`.
    flights: Mutex<VecDeque<(u64, String)>>,
    next_flight: std::sync::atomic::AtomicU64,
}

impl Shared {
    /// A new flight number, unique across sessions.
    pub(crate) fn new_flight(&self) -> u64 {
        self.next_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Records a command line (already redacted) as part of `flight`.
    pub(crate) fn record_in_flight(&self, flight: u64, line: String) {
        let mut f = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if f.len() == RECEIVED_KEEP {
            f.pop_front();
        }
        f.push_back((flight, line));
    }

    /// Records a received line; the caller has already redacted credentials.
    pub(crate) fn record(&self, line: String) {
        let mut r = self.received.lock().unwrap_or_else(|e| e.into_inner());
        if r.len() == RECEIVED_KEEP {
            r.pop_front();
        }
        r.push_back(line);
    }

    /// A command came before the previous reply went out (pipelining).
    pub(crate) fn sent_ahead(&self) {
        self.ahead.fetch_add(1, Ordering::Relaxed);
    }
}

/// A running demo server. Dropping it stops accepting and aborts open sessions
/// (which deletes nothing).
pub struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Server {
    /// Binds 127.0.0.1:0 and serves connections until dropped or shut down.
    pub async fn start(config: ServerConfig, mailbox: Mailbox) -> io::Result<Server> {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
        let addr = listener.local_addr()?;
        let acceptor = config.tls.clone().map(TlsAcceptor::from);
        let shared = Arc::new(Shared {
            config,
            mailbox,
            acceptor,
            received: Mutex::new(VecDeque::new()),
            ahead: AtomicU64::new(0),
            huge_sent: std::sync::atomic::AtomicU64::new(0),
            sessions: Default::default(),
            flights: Mutex::new(VecDeque::new()),
            next_flight: std::sync::atomic::AtomicU64::new(0),
        });
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(
            accept_loop(listener, shared.clone(), stop_rx)
                .instrument(tracing::info_span!("demo_server", %addr)),
        );
        tracing::info!(%addr, "demo POP3 server listening");
        Ok(Server {
            addr,
            shared,
            stop,
            task,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Stops accepting, ends every open session (deleting nothing) and waits
    /// until they are gone.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        let _ = (&mut self.task).await;
    }

    /// Lines the server received, oldest first, with passwords, APOP digests
    /// and SASL payloads replaced by `***`.
    pub fn received(&self) -> Vec<String> {
        let r = self
            .shared
            .received
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        r.iter().cloned().collect()
    }

    /// Bytes of the `Faults::huge_header_on` line that went out before the
    /// client stopped taking them (all sessions together).
    pub fn huge_line_bytes_sent(&self) -> u64 {
        self.shared
            .huge_sent
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

impl Server {
    /// How many commands arrived while the reply to the previous one was
    /// still unsent (seen when its bytes were already read by then; a
    /// client that waits for each reply scores zero).
    pub fn commands_sent_ahead(&self) -> u64 {
        self.shared.ahead.load(Ordering::Relaxed)
    }

    /// The command lines received, redacted as in [`Server::received`],
    /// grouped by flight, in the order each flight began. A flight is what
    /// the client sent without waiting: its commands arrived before the
    /// server had answered every earlier command of the session. Counting
    /// flights counts the client's round trips. A flight larger than one
    /// read of the server (4 KiB) may show as several.
    pub fn flights(&self) -> Vec<Vec<String>> {
        let f = self
            .shared
            .flights
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let mut out: Vec<(u64, Vec<String>)> = Vec::new();
        for (n, line) in f.iter() {
            match out.iter_mut().find(|(m, _)| m == n) {
                Some((_, lines)) => lines.push(line.clone()),
                None => out.push((*n, vec![line.clone()])),
            }
        }
        out.into_iter().map(|(_, lines)| lines).collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut sessions = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let span = tracing::info_span!("pop3_session", %peer);
                    sessions.spawn(session::run(stream, shared.clone()).instrument(span));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = sessions.join_next(), if !sessions.is_empty() => {}
        }
    }
    sessions.shutdown().await;
}
