//! The worker's deletions: `DELE` for each mark (its key checked against
//! this session's listing; all in one flight when the server allows
//! PIPELINING), `QUIT` to commit, `RSET` to undo, and leaving without
//! deleting. Only `Request::Commit` ever sends DELE. The accepted DELE are
//! kept here alone until QUIT or RSET. After QUIT, whatever its answer (or
//! none), the worker lists again and reports which marked messages are
//! gone and which are still there (then sends that listing): the listing,
//! not the reply, decides.

use super::run::Actor;
use super::{CommitReport, Event, Failure, FailureKind, Mark};
use crate::client::engine::CommandOutcome;
use crate::client::error::Error;
use crate::client::log::Line;
use crate::pop3::Command;

/// What a `DELE` reply is assumed to weigh, for the pipelining window.
const DELE_ESTIMATE: u64 = 64;

impl Actor {
    pub(super) async fn commit(&mut self, marks: Vec<Mark>) {
        if self.conn.is_none() {
            // The app asked on an old listing: list again, let the user
            // confirm on the current one. Nothing is deleted here.
            self.connect().await;
            self.send(Event::Notice(Failure::not_connected(
                "the connection was lost before the commit, so nothing was deleted; popdoc reconnected: check the marks and press c again.",
            )))
            .await;
            return;
        }
        let mut targets = Vec::new();
        let mut refused = Vec::new();
        let mut gone = Vec::new();
        for mark in marks {
            let key = mark.key();
            let mut same = self.listing.iter().filter(|l| key.names(l));
            match (same.next(), same.next()) {
                (None, _) => gone.push(mark),
                (Some(l), None) => targets.push(Mark {
                    number: l.number,
                    ..mark
                }),
                (Some(_), Some(_)) => refused.push((
                    mark,
                    Failure::new(
                        FailureKind::Refused,
                        format!(
                            "the server lists more than one message with UIDL {key}, so popdoc cannot tell which one is meant and will not delete it"
                        ),
                    ),
                )),
            }
        }
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        // One flight when PIPELINING was advertised (the engine's window),
        // one at a time otherwise.
        let mut cmds = targets
            .iter()
            .map(|m| (Command::Dele(m.number), DELE_ESTIMATE))
            .collect::<Vec<_>>()
            .into_iter();
        let mut replies: Vec<Option<Result<(), Error>>> = Vec::new();
        replies.resize_with(targets.len(), || None);
        let r = conn
            .exchange(&mut cmds, None::<&mut tokio::io::Sink>, None, &mut |o| {
                if let CommandOutcome::Reply(i, r) = o {
                    replies[i] = Some(r.map(|_| ()));
                }
            })
            .await;
        if !targets.is_empty() {
            self.dele_sent = true;
        }
        if let Err(e) = r {
            let answered = replies.iter().filter(|r| matches!(r, Some(Ok(())))).count();
            self.after_error(&e).await;
            self.send(Event::Notice(Failure::told(
                &e,
                format!(
                    "commit stopped after the server accepted {answered} of {} DELE: {e} Nothing was deleted (no QUIT was sent); the marks are kept.",
                    targets.len()
                ),
            )))
            .await;
            return;
        }
        let mut accepted = Vec::new();
        for (mark, reply) in targets.into_iter().zip(replies) {
            match reply {
                Some(Ok(())) => accepted.push(mark),
                Some(Err(e)) => {
                    let why = e
                        .status()
                        .map(ToString::to_string)
                        .unwrap_or_else(|| e.to_string());
                    refused.push((mark, Failure::told(&e, why)));
                }
                None => refused.push((
                    mark,
                    Failure::new(FailureKind::Protocol, "DELE got no reply"),
                )),
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

    /// QUIT: the server deletes what it accepted DELE for. Then the worker
    /// lists again and compares, so that a lost or refused QUIT, or a
    /// server that kept a message, is reported as it is.
    pub(super) async fn quit_commit(&mut self) {
        let Some(conn) = self.conn.take() else {
            self.send(Event::Notice(Failure::not_connected(
                "not connected; nothing was deleted.",
            )))
            .await;
            return;
        };
        let lines_before = self.transcript_mark;
        let log_lines: Vec<Line>;
        let result = {
            let mut conn = conn;
            let r = conn.command(Command::Quit).await;
            let clock = *self.clock.get_or_insert_with(|| conn.log.clock());
            log_lines = conn.log.lines_on(&clock, lines_before);
            conn.shutdown().await;
            r
        };
        self.dele_sent = false;
        if !log_lines.is_empty() {
            self.send(Event::Transcript(log_lines)).await;
        }
        let (confirmed, quit) = match &result {
            Ok(reply) => (true, reply.status.to_string()),
            Err(e @ Error::Refused { .. }) => (
                false,
                e.status().map(ToString::to_string).unwrap_or_default(),
            ),
            Err(e) => (false, e.to_string()),
        };
        let accepted = std::mem::take(&mut self.commit_accepted);
        let gone = std::mem::take(&mut self.commit_gone);
        // What is on the server now decides what was deleted. The server
        // may hold the old session's lock for a moment: wait for it.
        let rechecked = self.open_session(true).await;
        let (deleted, kept): (Vec<Mark>, Vec<Mark>) = if rechecked {
            accepted
                .into_iter()
                .partition(|m| m.key().find(&self.listing).is_none())
        } else if confirmed {
            (accepted, Vec::new())
        } else {
            (Vec::new(), accepted)
        };
        self.send(Event::Committed(CommitReport {
            deleted,
            gone,
            quit,
            kept,
            confirmed,
            rechecked,
        }))
        .await;
        if rechecked {
            self.announce_listing().await;
        }
    }

    pub(super) async fn reset(&mut self) {
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
                self.send(Event::Disconnected(Failure::told(
                    &e,
                    format!(
                        "RSET failed ({e}); the connection was closed without QUIT, so nothing was deleted"
                    ),
                )))
                .await;
                self.schedule_reconnect(None).await;
            }
        }
    }

    /// Leaves without deleting: RSET if a DELE was sent, then QUIT; if RSET
    /// fails, close without QUIT (RFC 1939 §6: then nothing is deleted).
    pub(super) async fn shutdown(&mut self) {
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
