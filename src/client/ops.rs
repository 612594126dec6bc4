//! Typed POP3 operations on a logged-in [`Connection`]: STAT, LIST, UIDL,
//! TOP for many messages (pipelined when allowed), RETR streamed into a
//! writer, DELE, RSET, NOOP and QUIT.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

use tokio::io::AsyncWrite;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::conn::{Connection, Stage, capabilities_from, no_reply};
use super::engine::{CommandOutcome, CommandReply};
use super::error::Error;
use crate::pop3::pipeline::{ReplyMean, ReplySample, link_window};
use crate::pop3::reply::{Malformed, parse_scan_listing, parse_stat, parse_uid_listing};
use crate::pop3::{Command, Status};

/// Header blocks larger than this are refused (a clear error, not a crash).
pub const HEADER_LIMIT: usize = 1024 * 1024;
/// How many of the latest timed replies [`Connection::measured_window`] uses.
const MEASURED_REPLIES: usize = 1024;

/// One message on the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub number: u32,
    pub size: u64,
    /// None when the server has no UIDL.
    pub uidl: Option<String>,
}

fn malformed(command: &str, m: Malformed) -> Error {
    Error::Malformed {
        command: command.into(),
        detail: m.to_string(),
    }
}

fn lines(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    body.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.trim_ascii().is_empty())
}

impl Connection {
    pub async fn stat(&mut self) -> Result<(u32, u64), Error> {
        let reply = self.command(Command::Stat).await?;
        parse_stat(&reply.status).map_err(|m| malformed("STAT", m))
    }

    /// LIST and UIDL together (pipelined when the server allows), merged
    /// by message number. A server without UIDL gives `uidl: None`.
    /// After [`Connection::authenticate`] the CAPA after login goes first,
    /// in the same flight when the server allows PIPELINING: one round
    /// trip from login to the listing.
    pub async fn listing(&mut self) -> Result<Vec<Listing>, Error> {
        let capa_due = self.capa_due;
        let with_capa = capa_due && self.pipelining();
        if capa_due && !with_capa {
            self.capa_after_login().await?;
        }
        let started = Instant::now();
        let uidl_sent = self.capabilities().is_none_or(|c| c.uidl);
        let mut cmds = Vec::new();
        if with_capa {
            cmds.push((Command::Capa, 64 * 1024));
        }
        cmds.push((Command::List(None), 64 * 1024));
        if uidl_sent {
            cmds.push((Command::Uidl(None), 64 * 1024));
        }
        let mut replies: Vec<Option<Result<CommandReply, Error>>> =
            cmds.iter().map(|_| None).collect();
        self.exchange(
            &mut cmds.into_iter(),
            None::<&mut tokio::io::Sink>,
            None,
            &mut |o| {
                if let CommandOutcome::Reply(i, r) = o {
                    replies[i] = Some(r);
                }
            },
        )
        .await?;
        let mut replies = replies.into_iter().map(|r| r.unwrap_or_else(no_reply));
        if with_capa {
            self.capa_due = false;
            self.caps = capabilities_from(replies.next().unwrap_or_else(no_reply))?;
            self.stages.push((Stage::CapaAfterLogin, started.elapsed()));
        }
        let list = replies.next();
        let mut uidl = replies.next();
        // UIDL offered only after login: ask now, in a round trip of its own.
        if !uidl_sent && self.caps.as_ref().is_some_and(|c| c.uidl) {
            uidl = Some(self.command(Command::Uidl(None)).await);
        }
        let list = list.unwrap_or_else(no_reply)?;
        let mut out = Vec::new();
        for line in lines(list.body.as_deref().unwrap_or_default()) {
            let (number, size) = parse_scan_listing(line).map_err(|m| malformed("LIST", m))?;
            out.push(Listing {
                number,
                size,
                uidl: None,
            });
        }
        match uidl {
            Some(Ok(reply)) => {
                let mut by_number = HashMap::new();
                for line in lines(reply.body.as_deref().unwrap_or_default()) {
                    let (n, uid) = parse_uid_listing(line).map_err(|m| malformed("UIDL", m))?;
                    by_number.insert(n, uid);
                }
                for l in &mut out {
                    l.uidl = by_number.remove(&l.number);
                }
            }
            // No UIDL on this server: numbers only.
            Some(Err(Error::Refused { .. })) | None => {}
            Some(Err(e)) => return Err(e),
        }
        out.sort_by_key(|l| l.number);
        Ok(out)
    }

    /// `UIDL n`, to check that message `n` is still the one we mean.
    pub async fn uidl_one(&mut self, n: u32) -> Result<String, Error> {
        let reply = self.command(Command::Uidl(Some(n))).await?;
        parse_uid_listing(reply.status.args().as_bytes())
            .map(|(_, uid)| uid)
            .map_err(|m| malformed("UIDL", m))
    }

    /// `TOP n lines` for each message, pipelined when allowed; `each` gets
    /// every reply as it completes, in order.
    pub async fn top_many(
        &mut self,
        numbers: &[u32],
        lines: u32,
        limit: usize,
        each: &mut (dyn FnMut(u32, Result<Vec<u8>, Error>) + Send),
    ) -> Result<(), Error> {
        self.top_stream(&mut numbers.iter().copied(), lines, limit, each)
            .await
    }

    /// `TOP n lines` for one message; `cancel` stops waiting for it, and
    /// leaves the connection unusable (its reply is still coming). The
    /// outer error: the connection broke (or the wait was cancelled).
    pub async fn top_one(
        &mut self,
        n: u32,
        lines: u32,
        limit: usize,
        cancel: Option<&CancellationToken>,
    ) -> Result<Result<Vec<u8>, Error>, Error> {
        let mut result = None;
        let expected = (u64::from(lines) * 80).min(limit as u64);
        self.exchange(
            &mut std::iter::once((
                Command::Top {
                    msg: n,
                    lines,
                    limit,
                },
                expected,
            )),
            None::<&mut tokio::io::Sink>,
            cancel,
            &mut |o| {
                if let CommandOutcome::Reply(_, r) = o {
                    result = Some(r.map(|r| r.body.unwrap_or_default()));
                }
            },
        )
        .await?;
        Ok(result.unwrap_or_else(|| Err(Error::Invalid("TOP got no reply".into()))))
    }

    /// `TOP n lines` for each number `numbers` yields, in one flight: the
    /// next number is pulled only when the window has room for it (so an
    /// iterator that reads a queue sees the queue as it is then), and the
    /// flight ends when the iterator does and the replies in flight are
    /// in. Each command is expected to bring the mean size of the replies
    /// measured so far in this flight ([`ReplyMean`]). `each` gets every
    /// reply as it completes, in order, with its number.
    pub async fn top_stream(
        &mut self,
        numbers: &mut (dyn Iterator<Item = u32> + Send),
        lines: u32,
        limit: usize,
        each: &mut (dyn FnMut(u32, Result<Vec<u8>, Error>) + Send),
    ) -> Result<(), Error> {
        // Shared by the commands going out and the replies coming in: the
        // numbers in flight, in order, and the sizes measured.
        let flight = Mutex::new((VecDeque::new(), ReplyMean::default()));
        let mut pulled = 0;
        let mut cmds = numbers.map(|msg| {
            let mut f = flight.lock().unwrap_or_else(|e| e.into_inner());
            f.0.push_back((pulled, msg));
            pulled += 1;
            let expected = f.1.estimate() + u64::from(lines) * 80;
            (
                Command::Top { msg, lines, limit },
                expected.min(limit as u64),
            )
        });
        self.exchange(&mut cmds, None::<&mut tokio::io::Sink>, None, &mut |o| {
            if let CommandOutcome::Reply(i, r) = o {
                let msg = {
                    let mut f = flight.lock().unwrap_or_else(|e| e.into_inner());
                    if let Ok(r) = &r {
                        f.1.record(r.body.as_ref().map_or(0, |b| b.len() as u64));
                    }
                    // In order, but for a command refused before it went out.
                    let at = f.0.iter().position(|&(j, _)| j == i);
                    at.and_then(|at| f.0.remove(at)).map(|(_, msg)| msg)
                };
                if let Some(msg) = msg {
                    each(msg, r.map(|r| r.body.unwrap_or_default()));
                }
            }
        })
        .await
    }

    /// A window for a long run of commands on this connection, from the
    /// replies it has timed lately ([`link_window`]): it keeps the link
    /// busy, and what a request waits for behind it stays within about
    /// two round trips at the measured rate (at least 256 KiB, at most the
    /// default window).
    pub fn measured_window(&self) -> u64 {
        let mut samples: Vec<ReplySample> = self
            .log
            .timings()
            .rev()
            .take(MEASURED_REPLIES)
            .filter_map(|t| {
                Some(ReplySample {
                    sent: t.sent,
                    first_byte: t.first_byte?,
                    done: t.last_byte?,
                    bytes: t.bytes_in,
                })
            })
            .collect();
        samples.reverse();
        link_window(&samples)
    }

    /// `RETR n` streamed into `w`: returns the bytes written. `progress`
    /// hears the running total. Cancelling leaves the connection unusable
    /// (POP3 cannot stop a RETR midway).
    pub async fn retr_to<W: AsyncWrite + Unpin + Send>(
        &mut self,
        n: u32,
        w: &mut W,
        progress: &mut (dyn FnMut(u64) + Send),
        cancel: Option<&CancellationToken>,
    ) -> Result<u64, Error> {
        let mut result = None;
        let mut total = 0;
        self.exchange(
            &mut std::iter::once((Command::Retr(n), 0)),
            Some(w),
            cancel,
            &mut |o| match o {
                CommandOutcome::Progress(_, bytes) => {
                    total = bytes;
                    progress(bytes)
                }
                CommandOutcome::Reply(_, r) => result = Some(r),
            },
        )
        .await?;
        result.unwrap_or_else(|| Err(Error::Invalid("RETR got no reply".into())))?;
        Ok(total)
    }

    pub async fn dele(&mut self, n: u32) -> Result<Status, Error> {
        Ok(self.command(Command::Dele(n)).await?.status)
    }

    pub async fn rset(&mut self) -> Result<Status, Error> {
        Ok(self.command(Command::Rset).await?.status)
    }

    pub async fn noop(&mut self) -> Result<Status, Error> {
        Ok(self.command(Command::Noop).await?.status)
    }

    /// QUIT: in the TRANSACTION state, `+OK` means the server committed
    /// the deletions (RFC 1939 §6). The socket is closed afterwards.
    pub async fn quit(mut self) -> Result<Status, Error> {
        let reply = self.command(Command::Quit).await;
        self.shutdown().await;
        Ok(reply?.status)
    }

    /// Closes the socket without QUIT: nothing marked is deleted.
    pub async fn shutdown(&mut self) {
        use tokio::io::AsyncWriteExt;
        let _ =
            tokio::time::timeout(std::time::Duration::from_secs(2), self.io_mut().shutdown()).await;
    }
}
