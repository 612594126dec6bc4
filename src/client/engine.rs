//! The command engine: every command goes through [`Connection::exchange`],
//! which keeps a bounded window of commands in flight when the server
//! allows PIPELINING (one at a time otherwise), reading and writing at the
//! same time, with one code path for both cases.
//!
//! Every reply is timed and logged (see [`SessionLog`]); every wait has a
//! timeout whose error names the command the server did not answer.
//! Bodies are collected only up to the command's limit; RETR bodies stream
//! into a writer and are never held whole.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::conn::Connection;
use super::error::Error;
use super::log::{Dir, Timing};
use crate::pop3::{Command, Event, Expect, ProtocolError, Status};

/// Most commands in flight at once, whatever their expected size.
const MAX_INFLIGHT: usize = 1024;

/// A complete reply: the status and, for multi-line replies, the body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: Status,
    pub body: Option<Vec<u8>>,
}

struct Inflight {
    index: usize,
    name: String,
    expect: Expect,
    /// The stream offset just past this command's bytes.
    end: u64,
    bytes_out: u64,
    sent: Option<Duration>,
    first: Option<Duration>,
    status: Option<Status>,
    body: Vec<u8>,
    overflow: bool,
    streamed: u64,
    /// The reply size expected, counted against the window.
    size: u64,
}

/// What the engine reports as replies complete.
pub enum Outcome {
    /// The reply to the command at this index (in the order given).
    Reply(usize, Result<Reply, Error>),
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

enum Step {
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
            Ok(Ok(())) => {
                self.written += out.len() as u64;
                Ok(out.len() as u64)
            }
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

    /// The next reader event, reading as needed, within the timeout.
    pub(super) async fn next_event(&mut self, command: &str) -> Result<Event, Error> {
        loop {
            match self.reader.next_event() {
                Ok(Some(e)) => return Ok(e),
                Ok(None) => {}
                Err(e) => return Err(self.protocol(command, e)),
            }
            let timeout = self.timeout;
            let r = tokio::time::timeout(
                timeout,
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
                    return Err(self.fail(Error::Timeout {
                        command: command.into(),
                        secs: timeout.as_secs(),
                    }));
                }
            }
        }
    }

    /// Reads a status line (greeting).
    pub(super) async fn wait_status(&mut self, what: &str) -> Result<Status, Error> {
        match self.next_event(what).await? {
            Event::Status(s) => {
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
    pub async fn command(&mut self, cmd: Command) -> Result<Reply, Error> {
        let mut result = None;
        self.exchange(
            &mut std::iter::once((cmd, 0)),
            None::<&mut tokio::io::Sink>,
            None,
            &mut |o| {
                if let Outcome::Reply(_, r) = o {
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
    /// refusals arrive as `Outcome::Reply(_, Err(..))`.
    pub async fn exchange<W: AsyncWrite + Unpin + Send>(
        &mut self,
        cmds: &mut (dyn Iterator<Item = (Command, u64)> + Send),
        mut sink: Option<&mut W>,
        cancel: Option<&CancellationToken>,
        each: &mut (dyn FnMut(Outcome) + Send),
    ) -> Result<(), Error> {
        if let Some(why) = &self.broken {
            return Err(Error::Io {
                command: "the next command".into(),
                reason: format!("the connection is no longer usable ({why})"),
            });
        }
        let window = if self.pipelining() {
            self.window_bytes
        } else {
            0
        };
        let mut cmds = cmds.enumerate().peekable();
        let mut inflight: VecDeque<Inflight> = VecDeque::new();
        let mut expected: u64 = 0;
        let mut out: Vec<u8> = Vec::new();
        let mut out_pos = 0usize;
        let mut need_flush = false;
        let mut deadline = Instant::now() + self.timeout;
        let mut reply_start = self.reader.consumed();
        loop {
            // Queue what the window allows.
            while let Some((_, (_, size))) = cmds.peek() {
                let fits = inflight.is_empty()
                    || (window > 0 && inflight.len() < MAX_INFLIGHT && expected + size <= window);
                if !fits {
                    break;
                }
                let Some((index, (cmd, size))) = cmds.next() else {
                    break;
                };
                let before = out.len();
                if let Err(e) = cmd.encode(&mut out) {
                    each(Outcome::Reply(index, Err(Error::Invalid(e.to_string()))));
                    continue;
                }
                let len = (out.len() - before) as u64;
                // The engine sends whole commands, never SASL answers.
                let expect = cmd.expect().unwrap_or(Expect::Single);
                self.reader.expect(expect);
                self.log.push(Dir::Sent, cmd.redacted());
                if inflight.is_empty() {
                    deadline = Instant::now() + self.timeout;
                }
                let end = self.written + (out.len() - out_pos) as u64;
                inflight.push_back(Inflight {
                    index,
                    name: cmd.redacted(),
                    expect,
                    end,
                    bytes_out: len,
                    sent: None,
                    first: None,
                    status: None,
                    body: Vec::new(),
                    overflow: false,
                    streamed: 0,
                    size,
                });
                expected += size;
            }
            let Some(front) = inflight.front() else {
                return Ok(());
            };
            let front_name = front.name.clone();

            // One step of I/O: write if there is something to write, read
            // while replies are due, whichever is ready first.
            let want_write = out_pos < out.len();
            let timeout_secs = self.timeout.as_secs();
            let io = poll_fn(|cx| {
                if want_write {
                    match Pin::new(&mut self.io).poll_write(cx, &out[out_pos..]) {
                        Poll::Ready(Ok(n)) => return Poll::Ready(Ok(Step::Wrote(n))),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {}
                    }
                } else if need_flush {
                    match Pin::new(&mut self.io).poll_flush(cx) {
                        Poll::Ready(Ok(())) => return Poll::Ready(Ok(Step::Flushed)),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {}
                    }
                }
                let mut rb = ReadBuf::new(&mut self.rbuf);
                match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) => Poll::Ready(Ok(Step::Read(rb.filled().len()))),
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
                Err(_) => {
                    return Err(self.fail(Error::Timeout {
                        command: front_name,
                        secs: timeout_secs,
                    }));
                }
                Ok(Err(e)) => return Err(self.fail(io_error(&front_name, e))),
                Ok(Ok(step)) => step,
            };
            let now = self.log.now();
            match step {
                Step::Wrote(n) => {
                    out_pos += n;
                    self.written += n as u64;
                    if out_pos == out.len() {
                        out.clear();
                        out_pos = 0;
                        need_flush = true;
                    }
                    for c in inflight.iter_mut() {
                        if c.sent.is_none() && c.end <= self.written {
                            c.sent = Some(now);
                        }
                    }
                    continue;
                }
                Step::Flushed => {
                    need_flush = false;
                    continue;
                }
                Step::Read(0) => {
                    return Err(self.fail(Error::Closed {
                        command: front_name,
                    }));
                }
                Step::Read(n) => {
                    self.reader.feed(&self.rbuf[..n]);
                    deadline = Instant::now() + self.timeout;
                }
            }

            // Hand the bytes read to the commands in flight, in order.
            while let Some(front) = inflight.front_mut() {
                let event = match self.reader.next_event() {
                    Ok(Some(e)) => e,
                    Ok(None) => break,
                    Err(e) => {
                        let name = front.name.clone();
                        return Err(self.protocol(&name, e));
                    }
                };
                front.first.get_or_insert(now);
                let done = match event {
                    Event::Status(status) => {
                        let multi = self.reader.in_body();
                        let latency = front.sent.map(|s| now.saturating_sub(s));
                        self.log
                            .push_timed(Dir::Received, status.to_string(), latency);
                        front.status = Some(status);
                        !multi
                    }
                    Event::Data(data) => {
                        if front.expect == (Expect::Multi { limit: None }) {
                            if let Some(w) = sink.as_mut() {
                                if let Err(e) = w.write_all(&data).await {
                                    self.broken = Some("the destination failed mid-body".into());
                                    return Err(Error::Write {
                                        what: "the message".into(),
                                        reason: e.to_string(),
                                    });
                                }
                                front.streamed += data.len() as u64;
                                each(Outcome::Progress(front.index, front.streamed));
                                false
                            } else {
                                front.body.extend_from_slice(&data);
                                false
                            }
                        } else {
                            front.body.extend_from_slice(&data);
                            false
                        }
                    }
                    Event::Overflow => {
                        front.overflow = true;
                        front.body = Vec::new();
                        false
                    }
                    Event::End => true,
                    Event::Continuation(_) => {
                        let name = front.name.clone();
                        return Err(self.fail(Error::Malformed {
                            command: name,
                            detail: "a SASL continuation outside AUTH".into(),
                        }));
                    }
                };
                if done {
                    let Some(c) = inflight.pop_front() else { break };
                    expected = expected.saturating_sub(c.size);
                    let status = c.status.clone().unwrap_or_else(|| Status {
                        ok: false,
                        code: None,
                        text: String::new(),
                    });
                    let body_len = c.body.len().max(c.streamed as usize);
                    if c.status.as_ref().is_some_and(|s| s.ok)
                        && matches!(c.expect, Expect::Multi { .. })
                    {
                        self.log.note(format!("[{} bytes of {}]", body_len, c.name));
                    }
                    let consumed_now = self.reader.consumed();
                    self.log.timing(Timing {
                        command: c.name.clone(),
                        sent: c.sent.unwrap_or(now),
                        first_byte: c.first,
                        last_byte: Some(now),
                        bytes_out: c.bytes_out,
                        bytes_in: consumed_now - reply_start,
                        ok: Some(status.ok),
                    });
                    let result = if c.overflow {
                        let limit = match c.expect {
                            Expect::Multi { limit: Some(l) } => l,
                            _ => 0,
                        };
                        Err(Error::TooLong {
                            command: c.name,
                            limit,
                        })
                    } else if status.ok {
                        Ok(Reply {
                            status,
                            body: matches!(c.expect, Expect::Multi { .. }).then_some(c.body),
                        })
                    } else {
                        Err(Error::Refused {
                            command: c.name,
                            status,
                        })
                    };
                    reply_start = consumed_now;
                    each(Outcome::Reply(c.index, result));
                }
            }
        }
    }
}
