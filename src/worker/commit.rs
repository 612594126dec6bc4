//! The worker's deletions: `DELE` for each mark (its key checked against
//! this session's listing), `QUIT` to commit, `RSET` to undo, and leaving
//! without deleting. Only `Request::Commit` ever sends DELE. The accepted
//! DELE are kept here alone until QUIT or RSET.

use super::run::Actor;
use super::{CommitReport, Event, Failure, Mark};
use crate::client::error::Error;
use crate::client::log::Line;

impl Actor {
    pub(super) async fn commit(&mut self, marks: Vec<Mark>) {
        let mut accepted = Vec::new();
        let mut refused = Vec::new();
        let mut gone = Vec::new();
        for mark in marks {
            let Some(n) = mark.key().find(&self.listing).map(|l| l.number) else {
                gone.push(mark);
                continue;
            };
            let Some(conn) = self.conn.as_mut() else {
                self.send(Event::Notice(Failure::not_connected(
                    "not connected; nothing was deleted. Press r to reconnect.",
                )))
                .await;
                return;
            };
            match conn.dele(n).await {
                Ok(_) => {
                    self.dele_sent = true;
                    accepted.push(Mark { number: n, ..mark });
                }
                Err(e @ Error::Refused { .. }) => {
                    let why = e.status().map(ToString::to_string).unwrap_or_default();
                    refused.push((mark, Failure::told(&e, why)));
                }
                Err(e) => {
                    self.after_error(&e).await;
                    self.send(Event::Notice(Failure::told(
                        &e,
                        format!("commit stopped: {e} Nothing was deleted (no QUIT was sent)."),
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
                self.send(Event::Notice(Failure::told(
                    &e,
                    format!(
                        "QUIT failed ({e}); the server may not have deleted the messages. Reconnect (r) to see what is there."
                    ),
                )))
                .await;
                self.send(Event::Disconnected(e.into())).await;
                return;
            }
        }
        // Show what is on the server now.
        self.connect().await;
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
