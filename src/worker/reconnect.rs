//! Keeping the session while the user looks: `NOOP` when idle (servers end
//! idle sessions, RFC 1939 §3: after at least 10 minutes), noticing at once
//! that the server closed the connection (a byte or the end of the stream
//! while nothing was asked), and reconnecting by itself with a backoff
//! (1 s, 2 s, 4 s … 60 s) that waits out `[LOGIN-DELAY]` and retries
//! `[IN-USE]`. The app keeps its marks, cursor, filter, sort and preview;
//! it re-matches the marks on the new `Listing`. Never sends DELE.
//!
//! [`Actor::schedule_reconnect`] is the one way a lost session comes back
//! by itself; [`Actor::after_error`] (in `run.rs`) calls it when an error
//! broke the connection.

use std::time::{Duration, Instant};

use super::run::Actor;
use super::{Event, FailureKind, Request};
use crate::client::error::Error;

/// The first wait before reconnecting by itself; doubled after each
/// failed attempt, up to [`MAX_BACKOFF`].
pub(super) const FIRST_BACKOFF: Duration = Duration::from_secs(1);
pub(super) const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A `LOGIN-DELAY` longer than this is not waited for by itself (`r` can).
const MAX_LOGIN_DELAY: Duration = Duration::from_secs(3600);

/// What happened while the worker waited.
pub(super) enum Idle {
    /// The app asked for this (`None`: the app is gone).
    Request(Option<Request>),
    /// The worker did something by itself (a NOOP, a reconnect).
    Worked,
}

enum Woke {
    Request(Option<Request>),
    Keepalive,
    Lost(Error),
    Reconnect,
}

/// When the next automatic reconnect is due, and how long the one after
/// it waits.
#[derive(Debug)]
pub(super) struct Backoff {
    pub(super) due: Option<Instant>,
    next: Duration,
    /// A session was up once: only then does the worker reconnect by
    /// itself (a first connection that fails waits for the user).
    pub(super) was_up: bool,
    /// The server's `LOGIN-DELAY` and when this session logged in.
    pub(super) login_delay: Option<Duration>,
    pub(super) logged_in: Option<Instant>,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            due: None,
            next: FIRST_BACKOFF,
            was_up: false,
            login_delay: None,
            logged_in: None,
        }
    }
}

impl Backoff {
    /// A session is up: the next loss starts again from the first wait.
    pub(super) fn up(&mut self, login_delay: Option<Duration>) {
        self.due = None;
        self.next = FIRST_BACKOFF;
        self.was_up = true;
        self.login_delay = login_delay;
        self.logged_in = Some(Instant::now());
    }

    /// The wait before the next attempt (at least what is left of the
    /// server's `LOGIN-DELAY`), and the one after it doubled.
    pub(super) fn step(&mut self, at_least: Option<Duration>) -> Duration {
        let left = match (self.login_delay, self.logged_in) {
            (Some(d), Some(t)) => d.saturating_sub(t.elapsed()),
            _ => Duration::ZERO,
        };
        let wait = self
            .next
            .max(left)
            .max(at_least.unwrap_or_default().min(MAX_LOGIN_DELAY));
        self.next = (self.next * 2).min(MAX_BACKOFF);
        wait
    }
}

/// Failures worth trying again without the user: the network, a slow or
/// busy server, a mailbox lock, a login delay. Not a refused password, a
/// certificate or a local problem.
pub(super) fn retryable(kind: FailureKind) -> bool {
    matches!(
        kind,
        FailureKind::Network
            | FailureKind::Timeout
            | FailureKind::InUse
            | FailureKind::LoginDelay
            | FailureKind::Protocol
    )
}

impl Actor {
    /// Waits for the app's next request; meanwhile sends `NOOP` when the
    /// keepalive is due, notices a connection the server closed, and
    /// reconnects when the backoff says so.
    pub(super) async fn idle(&mut self) -> Idle {
        let keepalive = self
            .account
            .keepalive
            .filter(|_| self.conn.is_some())
            .map(|k| k.saturating_sub(self.last_activity.elapsed()));
        let due = self.backoff.due.filter(|_| self.conn.is_none());
        let conn = self.conn.as_mut();
        let woke = {
            let tick = async {
                match keepalive {
                    Some(wait) => tokio::time::sleep(wait).await,
                    None => std::future::pending().await,
                }
            };
            let retry = async {
                match due {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            let lost = async move {
                match conn {
                    Some(conn) => conn.closed_while_idle().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = self.requests.recv() => Woke::Request(r),
                _ = tick => Woke::Keepalive,
                e = lost => Woke::Lost(e),
                _ = retry => Woke::Reconnect,
            }
        };
        match woke {
            Woke::Request(r) => return Idle::Request(r),
            Woke::Keepalive => self.keepalive().await,
            Woke::Lost(e) => self.after_error(&e).await,
            Woke::Reconnect => self.reconnect().await,
        }
        Idle::Worked
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

    /// Reconnects now (as `r` does, but without resetting the backoff): a
    /// failure that is worth retrying schedules the next attempt.
    pub(super) async fn reconnect(&mut self) {
        self.backoff.due = None;
        self.connect_retrying(false).await;
    }

    /// A session was lost (or a reconnect failed for a reason worth
    /// retrying): reconnect by itself after the backoff, and tell the app
    /// when. `at_least` is a wait the server asked for.
    pub(super) async fn schedule_reconnect(&mut self, at_least: Option<Duration>) {
        if !self.backoff.was_up || self.conn.is_some() {
            return;
        }
        let wait = self.backoff.step(at_least);
        self.backoff.due = Some(Instant::now() + wait);
        self.send(Event::Reconnecting(wait)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_up_to_a_minute_and_starts_again_when_up() {
        let mut b = Backoff::default();
        let waits: Vec<u64> = (0..8).map(|_| b.step(None).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60]);
        b.up(None);
        assert_eq!(b.step(None), FIRST_BACKOFF);
    }

    #[test]
    fn the_servers_login_delay_is_waited_out() {
        let mut b = Backoff::default();
        b.up(Some(Duration::from_secs(300)));
        let wait = b.step(None);
        assert!(wait > Duration::from_secs(290), "{wait:?}");
        // A refusal that names its own delay: at least that.
        let mut b = Backoff::default();
        assert_eq!(
            b.step(Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
    }

    #[test]
    fn only_passing_troubles_are_retried() {
        assert!(retryable(FailureKind::InUse));
        assert!(retryable(FailureKind::LoginDelay));
        assert!(retryable(FailureKind::Network));
        assert!(!retryable(FailureKind::Auth));
        assert!(!retryable(FailureKind::Tls));
        assert!(!retryable(FailureKind::Local));
    }
}
