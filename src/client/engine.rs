//! The command engine: every command goes through [`Connection::exchange`],
//! a thin pump around the sans-I/O [`Pipeline`], which decides how many
//! commands are in flight (a bounded window when the server allows
//! PIPELINING, one at a time otherwise) and which reply completes which
//! command. The pump reads and writes at the same time, with one code path
//! for both cases; it must not keep window bookkeeping of its own.
//!
//! Every reply is timed and logged (see [`SessionLog`]), and every reply
//! is bounded in time, counted from when it is due (when its command was
//! sent, or, pipelined, when the replies before it are complete):
//! - a status line, a listing (CAPA, LIST, UIDL) or a header block
//!   (`TOP n 0`) must be complete within `--timeout` in total; a server
//!   that trickles it byte by byte does not get more time;
//! - a message body (`RETR`, `TOP n k`), whose size popdoc cannot bound,
//!   must bring at least [`MIN_RATE_BYTES`] in every `--timeout` period
//!   (a minimum rate), so a large message on a slow but moving link is
//!   never cut and a trickle ends.
//!
//! The error names the command. Bodies are collected only up to the
//! command's limit and given up at it; RETR bodies stream into a writer
//! and are never held whole. A reply given up (past its limit or its
//! deadline) is reported as that command's failure, and the exchange then
//! ends with the same error: the connection is out of step.

use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::conn::Connection;
use super::deadline::{MIN_RATE_BYTES, again, late};
use super::error::Error;
use super::log::{Dir, Timing};
use crate::pop3::pipeline::{Arrival, Completed, Pipeline, PipelineError, Window};
use crate::pop3::{Command, Expect, ProtocolError, ReadEvent, Status};

/// A complete reply: the status and, for multi-line replies, the body.
#[derive(Debug, Clone)]
pub struct CommandReply {
    pub status: Status,
    pub body: Option<Vec<u8>>,
}

/// What the engine keeps for each command in the window.
struct Tag {
    /// The command's place in the order given.
    index: usize,
    /// The command as the transcript shows it.
    name: String,
    sent: Option<Duration>,
    first: Option<Duration>,
    streamed: u64,
    /// Timed by the minimum rate rather than a total deadline.
    bulk: bool,
}

/// What the engine reports as replies complete.
pub enum CommandOutcome {
    /// The reply to the command at this index (in the order given).
    Reply(usize, Result<CommandReply, Error>),
    /// Body bytes streamed so far for this command.
    Progress(usize, u64),
}

fn io_error(command: &str, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::ConnectionAborted => Error::Closed {
            command: command.into(),
        },
        _ => Error::Io {
            command: command.into(),
            reason: e.to_string(),
        },
    }
}

enum IoStep {
    Wrote(usize),
    Flushed,
    Read(usize),
}

impl Connection {
    /// Sends one command line (waits until written).
    pub(super) async fn send(&mut self, cmd: &Command) -> Result<u64, Error> {
        let mut out = Vec::new();
        cmd.encode(&mut out)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        if let Some(expect) = cmd.expect() {
            self.reader.expect(expect);
        }
        self.log.push(Dir::Sent, cmd.redacted());
        let verb = cmd.verb();
        let timeout = self.timeout;
        let r = tokio::time::timeout(timeout, async {
            self.io.write_all(&out).await?;
            self.io.flush().await
        })
        .await;
        match r {
            Ok(Ok(())) => Ok(out.len() as u64),
            Ok(Err(e)) => Err(self.fail(io_error(verb, e))),
            Err(_) => Err(self.fail(Error::Timeout {
                command: verb.into(),
                secs: timeout.as_secs(),
            })),
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        if e.breaks_connection() && self.broken.is_none() {
            self.broken = Some(e.to_string());
            self.log.note(format!("connection unusable: {e}"));
        }
        e
    }

    fn protocol(&mut self, command: &str, e: ProtocolError) -> Error {
        self.fail(Error::Protocol {
            command: command.into(),
            source: e,
        })
    }

    /// The next reader event, reading as needed, within the timeout in
    /// total (a status line trickled byte by byte gets no more time).
    pub(super) async fn next_event(&mut self, command: &str) -> Result<ReadEvent, Error> {
        let timeout = self.timeout;
        let deadline = Instant::now() + timeout;
        loop {
            match self.reader.next_event() {
                Ok(Some(e)) => return Ok(e),
                Ok(None) => {}
                Err(e) => return Err(self.protocol(command, e)),
            }
            let r = tokio::time::timeout_at(
                deadline,
                poll_fn(|cx| {
                    let mut rb = ReadBuf::new(&mut self.rbuf);
                    match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
                        Poll::Ready(Ok(())) => Poll::Ready(Ok(rb.filled().len())),
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                        Poll::Pending => Poll::Pending,
                    }
                }),
            )
            .await;
            match r {
                Ok(Ok(0)) => {
                    return Err(self.fail(Error::Closed {
                        command: command.into(),
                    }));
                }
                Ok(Ok(n)) => {
                    let (buf, reader) = (&self.rbuf, &mut self.reader);
                    reader.feed(&buf[..n]);
                }
                Ok(Err(e)) => return Err(self.fail(io_error(command, e))),
                Err(_) => {
                    let got = self.reader.buffered() as u64;
                    return Err(self.fail(late(command, false, got, got, timeout.as_secs())));
                }
            }
        }
    }

    /// Reads a status line (greeting).
    pub(super) async fn wait_status(&mut self, what: &str) -> Result<Status, Error> {
        match self.next_event(what).await? {
            ReadEvent::Status(s) => {
                self.log.push(Dir::Received, s.to_string());
                Ok(s)
            }
            _ => Err(self.fail(Error::Malformed {
                command: what.into(),
                detail: "expected a status line".into(),
            })),
        }
    }

    /// One command; `-ERR` becomes [`Error::Refused`].
    pub async fn command(&mut self, cmd: Command) -> Result<CommandReply, Error> {
        let mut result = None;
        self.exchange(
            &mut std::iter::once((cmd, 0)),
            None::<&mut tokio::io::Sink>,
            None,
            &mut |o| {
                if let CommandOutcome::Reply(_, r) = o {
                    result = Some(r);
                }
            },
        )
        .await?;
        result.unwrap_or_else(|| Err(Error::Invalid("no reply".into())))
    }

    /// The command engine. Sends `cmds` (each with the reply size it is
    /// expected to have, for the window), keeping several in flight when
    /// the server allows PIPELINING, and reports each reply in order.
    /// Bodies of commands without a limit (RETR) go to `sink` when given.
    /// Returns an error only when the connection broke; per-command
    /// refusals arrive as `CommandOutcome::Reply(_, Err(..))`.
    pub async fn exchange<W: AsyncWrite + Unpin + Send>(
        &mut self,
        cmds: &mut (dyn Iterator<Item = (Command, u64)> + Send),
        sink: Option<&mut W>,
        cancel: Option<&CancellationToken>,
        each: &mut (dyn FnMut(CommandOutcome) + Send),
    ) -> Result<(), Error> {
        if let Some(why) = &self.broken {
            return Err(Error::Io {
                command: "the next command".into(),
                reason: format!("the connection is no longer usable ({why})"),
            });
        }
        let window = if self.pipelining() {
            Window::Bytes(self.window_bytes)
        } else {
            Window::OneAtATime
        };
        let mut pipe = Pipeline::new(std::mem::take(&mut self.reader), window);
        let result = self.pump(&mut pipe, cmds, sink, cancel, each).await;
        self.reader = pipe.into_reader();
        result
    }

    /// The I/O around [`Pipeline`]: pushes what the window admits, writes
    /// its bytes, feeds it what arrives and hands each reply to `each`.
    async fn pump<W: AsyncWrite + Unpin + Send>(
        &mut self,
        pipe: &mut Pipeline<Tag>,
        cmds: &mut (dyn Iterator<Item = (Command, u64)> + Send),
        mut sink: Option<&mut W>,
        cancel: Option<&CancellationToken>,
        each: &mut (dyn FnMut(CommandOutcome) + Send),
    ) -> Result<(), Error> {
        let mut cmds = cmds.enumerate().peekable();
        let timeout_secs = self.timeout.as_secs();
        let mut need_flush = false;
        // The front reply's clock: which command, when its time (or its
        // current period) runs out, and the bytes it had at the period's start.
        let mut clock: Option<usize> = None;
        let mut deadline = Instant::now() + self.timeout;
        let mut mark = 0;
        loop {
            // Queue what the window allows.
            while let Some((_, (_, size))) = cmds.peek() {
                if !pipe.admits(*size) {
                    break;
                }
                let Some((index, (cmd, size))) = cmds.next() else {
                    break;
                };
                let stream = sink.is_some() && cmd.expect() == Some(Expect::Multi { limit: None });
                let tag = Tag {
                    index,
                    name: cmd.redacted(),
                    sent: None,
                    first: None,
                    streamed: 0,
                    bulk: cmd.is_bulk(),
                };
                if let Err(e) = pipe.push(&cmd, size, stream, tag) {
                    each(CommandOutcome::Reply(
                        index,
                        Err(Error::Invalid(e.to_string())),
                    ));
                    continue;
                }
                self.log.push(Dir::Sent, cmd.redacted());
            }
            let Some(front) = pipe.front() else {
                return Ok(());
            };
            let front_name = front.name.clone();
            let (front_index, front_bulk) = (front.index, front.bulk);
            // A reply's time starts when it is due: not charged for the
            // replies before it.
            if clock != Some(front_index) {
                clock = Some(front_index);
                deadline = Instant::now() + self.timeout;
                mark = 0;
            }
            if Instant::now() >= deadline {
                let got = pipe.front_received();
                if front_bulk && got - mark >= MIN_RATE_BYTES {
                    // Slow but moving: another period.
                    mark = got;
                    deadline += self.timeout;
                    continue;
                }
                let e = late(&front_name, front_bulk, got, got - mark, timeout_secs);
                return Err(self.give_up(front_index, e, each));
            }

            // One step of I/O: write if there is something to write, read
            // while replies are due, whichever is ready first.
            let out = pipe.to_write();
            let io = poll_fn(|cx| {
                if !out.is_empty() {
                    match Pin::new(&mut self.io).poll_write(cx, out) {
                        Poll::Ready(Ok(n)) => return Poll::Ready(Ok(IoStep::Wrote(n))),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {}
                    }
                } else if need_flush {
                    match Pin::new(&mut self.io).poll_flush(cx) {
                        Poll::Ready(Ok(())) => return Poll::Ready(Ok(IoStep::Flushed)),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {}
                    }
                }
                let mut rb = ReadBuf::new(&mut self.rbuf);
                match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) => Poll::Ready(Ok(IoStep::Read(rb.filled().len()))),
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                }
            });
            let cancelled = async {
                match cancel {
                    Some(c) => c.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            let step = tokio::select! {
                r = tokio::time::timeout_at(deadline, io) => r,
                _ = cancelled => {
                    // POP3 cannot stop a reply midway: the connection is done.
                    self.broken = Some("cancelled mid-command".into());
                    self.log.note(format!("cancelled during {front_name}; the connection must be reopened"));
                    return Err(Error::Cancelled);
                }
            };
            let step = match step {
                // Time is up: decided at the top of the loop.
                Err(_) => continue,
                Ok(Err(e)) => return Err(self.fail(io_error(&front_name, e))),
                Ok(Ok(step)) => step,
            };
            let now = self.log.now();
            match step {
                IoStep::Wrote(n) => {
                    pipe.wrote(n, |tag| tag.sent = Some(now));
                    if pipe.to_write().is_empty() {
                        need_flush = true;
                    }
                    continue;
                }
                IoStep::Flushed => {
                    need_flush = false;
                    continue;
                }
                IoStep::Read(0) => {
                    return Err(self.fail(Error::Closed {
                        command: front_name,
                    }));
                }
                IoStep::Read(n) => pipe.feed(&self.rbuf[..n]),
            }

            // Hand the bytes read to the commands in flight, in order.
            loop {
                let arrival = match pipe.next_arrival() {
                    Ok(Some(a)) => a,
                    Ok(None) => break,
                    Err(e) => {
                        let name = pipe.front().map(|t| t.name.clone()).unwrap_or_default();
                        return Err(match e {
                            PipelineError::Protocol(e) => self.protocol(&name, e),
                            PipelineError::Continuation => self.fail(Error::Malformed {
                                command: name,
                                detail: e.to_string(),
                            }),
                        });
                    }
                };
                match arrival {
                    Arrival::Status(status) => {
                        let Some(front) = pipe.front_mut() else { break };
                        front.first.get_or_insert(now);
                        let latency = front.sent.map(|s| now.saturating_sub(s));
                        self.log
                            .push_timed(Dir::Received, status.to_string(), latency);
                    }
                    Arrival::Data(data) => {
                        let Some(front) = pipe.front_mut() else { break };
                        if let Some(w) = sink.as_mut()
                            && let Err(e) = w.write_all(&data).await
                        {
                            self.broken = Some("the destination failed mid-body".into());
                            return Err(Error::Write {
                                what: "the message".into(),
                                reason: e.to_string(),
                            });
                        }
                        front.streamed += data.len() as u64;
                        each(CommandOutcome::Progress(front.index, front.streamed));
                    }
                    Arrival::Done(c) => {
                        if let Some(e) = self.complete(c, now, each) {
                            return Err(self.fail(e));
                        }
                    }
                }
            }
        }
    }

    /// The front command's reply is given up with `e`: the command fails
    /// with it, and so does the exchange (the connection is out of step).
    fn give_up(
        &mut self,
        index: usize,
        e: Error,
        each: &mut (dyn FnMut(CommandOutcome) + Send),
    ) -> Error {
        let for_exchange = again(&e);
        each(CommandOutcome::Reply(index, Err(e)));
        self.fail(for_exchange)
    }

    /// Logs a complete reply and hands it to `each`. Returns the error
    /// that ends the exchange when the reply was given up at its limit.
    fn complete(
        &mut self,
        c: Completed<Tag>,
        now: Duration,
        each: &mut (dyn FnMut(CommandOutcome) + Send),
    ) -> Option<Error> {
        let Completed {
            tag,
            status,
            body,
            body_len,
            overflow,
            bytes_out,
            bytes_in,
        } = c;
        if status.ok && body.is_some() {
            self.log
                .note(format!("[{} bytes of {}]", body_len, tag.name));
        }
        self.log.timing(Timing {
            command: tag.name.clone(),
            sent: tag.sent.unwrap_or(now),
            first_byte: tag.first,
            last_byte: Some(now),
            bytes_out,
            bytes_in,
            ok: Some(status.ok),
        });
        if let Some(limit) = overflow {
            self.log.note(format!(
                "[{} given up at its limit of {limit} bytes]",
                tag.name
            ));
            let e = Error::TooLong {
                command: tag.name,
                limit,
            };
            let for_exchange = again(&e);
            each(CommandOutcome::Reply(tag.index, Err(e)));
            return Some(for_exchange);
        }
        let result = if status.ok {
            Ok(CommandReply { status, body })
        } else {
            Err(Error::Refused {
                command: tag.name,
                status,
            })
        };
        each(CommandOutcome::Reply(tag.index, result));
        None
    }
}
