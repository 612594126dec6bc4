//! The worker's work on one message: the preview (`TOP n lines`) and the
//! save (the shared `store::retr_to_file` sequence, with progress events
//! and cancel). A cancelled save reconnects: POP3 cannot stop a RETR
//! midway. Never sends DELE; never touches UI state.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::run::Actor;
use super::{Event, Failure, FailureKind, MsgKey, Request};
use crate::client::error::Error;
use crate::mail::{Preview, preview};
use crate::store::{self, Collision, RetrFailed};

const NOT_CONNECTED: &str = "not connected; press r to reconnect";

impl Actor {
    /// The message number `key` has in this session's listing.
    fn current_number(&self, key: &MsgKey) -> Option<u32> {
        key.find(&self.listing).map(|l| l.number)
    }

    pub(super) async fn preview(
        &mut self,
        id: u64,
        key: MsgKey,
        number: u32,
        lines: u32,
        size: u64,
        cancel: CancellationToken,
    ) {
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
        let result = self.top_preview(&key, lines, size, &cancel).await;
        let cancelled = matches!(&result, Err(f) if f.kind == FailureKind::Cancelled);
        self.send(Event::Preview { id, number, result }).await;
        if cancelled {
            self.flush_transcript().await;
            // The TOP reply is still coming: the connection must be reopened.
            self.connect_retrying(true).await;
        }
    }

    async fn top_preview(
        &mut self,
        key: &MsgKey,
        lines: u32,
        size: u64,
        cancel: &CancellationToken,
    ) -> Result<Preview, Failure> {
        let n = self.current_number(key).ok_or_else(Failure::gone)?;
        let conn = self
            .conn
            .as_mut()
            .ok_or_else(|| Failure::not_connected(NOT_CONNECTED))?;
        let r = conn.top_one(n, lines, 16 * 1024 * 1024, Some(cancel)).await;
        self.last_activity = Instant::now();
        match r {
            Err(Error::Cancelled) => Err(Error::Cancelled.into()),
            Err(e) => {
                self.after_error(&e).await;
                Err(e.into())
            }
            Ok(Ok(bytes)) => Ok(preview(&bytes, Some(size))),
            Ok(Err(e)) => Err(e.into()),
        }
    }

    pub(super) async fn save(
        &mut self,
        id: u64,
        key: MsgKey,
        dest: PathBuf,
        collision: Collision,
        cancel: CancellationToken,
    ) {
        let n = self.current_number(&key);
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
            self.send(done(Err(Failure::gone()), false)).await;
            return;
        };
        let Some(conn) = self.conn.as_mut() else {
            self.send(done(Err(Failure::not_connected(NOT_CONNECTED)), false))
                .await;
            return;
        };
        let started = Instant::now();
        let events = self.events.clone();
        let mut last = Instant::now();
        let r = store::retr_to_file(
            conn,
            n,
            &dest,
            collision,
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
            Ok((saved, _)) => {
                self.send(done(Ok(saved), false)).await;
                self.flush_transcript().await;
            }
            Err(RetrFailed::File(e)) => {
                self.send(done(Err(e.into()), false)).await;
                self.flush_transcript().await;
                // The disk failed mid-RETR: the rest of the message is still
                // coming, so the session goes on over a new connection.
                if self.conn.as_ref().is_some_and(|c| c.broken().is_some()) {
                    self.connect_retrying(true).await;
                }
            }
            Err(RetrFailed::Retr(Error::Cancelled)) => {
                self.send(done(Err(Error::Cancelled.into()), true)).await;
                self.flush_transcript().await;
                // The RETR is still coming: the connection must be reopened.
                self.connect_retrying(true).await;
            }
            Err(RetrFailed::Retr(e)) => {
                self.send(done(Err((&e).into()), false)).await;
                self.after_error(&e).await;
            }
        }
    }
}
