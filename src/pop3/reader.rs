//! The incremental reply reader: bytes from the server, in any chunking,
//! become status lines, body chunks and end markers (RFC 1939 §3).
//!
//! The caller says, in order, what kind of reply each command it sent will
//! get ([`Expect`]); a reply is multi-line only after `+OK` and only for
//! the commands that have one. Bodies are dot-unstuffed and handed out as
//! they arrive, never held whole; everything else passes through byte for
//! byte (8-bit data, bare CR, CR CR LF). Status lines are bounded, and so is
//! a body when the caller asks: past the bound the reader reports
//! [`ReadEvent::Overflow`] once and discards the rest of that reply, so the
//! session stays usable.
//!
//! No I/O, no clocks, no allocation proportional to a message.

use std::collections::VecDeque;
use std::sync::LazyLock;

use memchr::memmem::Finder;

use super::reply::{BadStatus, Status, StatusLine, parse_status_line};

/// RFC 2449 §4 limits a status line to 512 octets; real servers send longer
/// login replies, so allow slack.
pub const MAX_STATUS_LINE: usize = 8 * 1024;

/// What the next reply, in order, will be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// A status line only.
    Single,
    /// A status line, then after `+OK` a dot-terminated body. With a limit,
    /// a body longer than that many (unstuffed) bytes overflows.
    Multi { limit: Option<usize> },
    /// An AUTH exchange: `+ ` continuations until `+OK` or `-ERR`
    /// (RFC 5034 §4). Stays in front until the final status.
    Auth,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadEvent {
    /// The status line of the reply at the front. For a `+OK` to a
    /// multi-line command, body events follow.
    Status(Status),
    /// A SASL continuation (`+ ` and the base64 text, not decoded).
    Continuation(Vec<u8>),
    /// The next piece of a body, unstuffed.
    Data(Vec<u8>),
    /// The body went past its limit; the rest of it is discarded.
    Overflow,
    /// The end of a body (the `.` line).
    End,
}

/// A fault that makes the connection unusable: after it, nothing else can
/// be trusted to be in step with the commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    #[error("the server sent a status line longer than {limit} bytes")]
    LineTooLong { limit: usize },
    #[error(transparent)]
    BadStatus(#[from] BadStatus),
    #[error("the server sent data nobody asked for")]
    Unsolicited,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Body {
    at_line_start: bool,
    /// Unstuffed bytes handed out (or counted) so far.
    taken: usize,
    limit: Option<usize>,
    overflowed: bool,
    /// The terminator was read; `End` is the next event.
    ended: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Status,
    Body(Body),
}

static DOT_LINE: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\r\n."));

#[derive(Debug)]
pub struct Reader {
    buf: Vec<u8>,
    pos: usize,
    expects: VecDeque<Expect>,
    state: State,
    consumed: u64,
    failed: Option<ProtocolError>,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

impl Reader {
    pub fn new() -> Self {
        Reader {
            buf: Vec::with_capacity(16 * 1024),
            pos: 0,
            expects: VecDeque::new(),
            state: State::Status,
            consumed: 0,
            failed: None,
        }
    }

    /// Queues the kind of the next reply (in the order commands were sent).
    pub fn expect(&mut self, expect: Expect) {
        self.expects.push_back(expect);
    }

    /// Bytes received from the server.
    pub fn feed(&mut self, data: &[u8]) {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(data);
    }

    /// Bytes received but not yet turned into events.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Replies still expected (including one being read).
    pub fn pending(&self) -> usize {
        self.expects.len()
    }

    /// Bytes turned into events so far (for per-command byte counts).
    pub fn consumed(&self) -> u64 {
        self.consumed
    }

    /// True while the body of a multi-line reply is being read.
    pub fn in_body(&self) -> bool {
        matches!(self.state, State::Body(_))
    }

    /// The next event, or `None` until more bytes are fed.
    pub fn next_event(&mut self) -> Result<Option<ReadEvent>, ProtocolError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        let result = match self.state {
            State::Status => self.status(),
            State::Body(_) => Ok(self.body()),
        };
        if let Err(e) = &result {
            self.failed = Some(e.clone());
        }
        result
    }

    fn advance(&mut self, n: usize) {
        self.pos += n;
        self.consumed += n as u64;
    }

    fn status(&mut self) -> Result<Option<ReadEvent>, ProtocolError> {
        let avail = &self.buf[self.pos..];
        if avail.is_empty() {
            return Ok(None);
        }
        let Some(&expect) = self.expects.front() else {
            return Err(ProtocolError::Unsolicited);
        };
        let Some(nl) = memchr::memchr(b'\n', avail) else {
            if avail.len() > MAX_STATUS_LINE {
                return Err(ProtocolError::LineTooLong {
                    limit: MAX_STATUS_LINE,
                });
            }
            return Ok(None);
        };
        if nl > MAX_STATUS_LINE {
            return Err(ProtocolError::LineTooLong {
                limit: MAX_STATUS_LINE,
            });
        }
        let line = &avail[..nl];
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let parsed = parse_status_line(line, expect == Expect::Auth)?;
        self.advance(nl + 1);
        Ok(Some(match parsed {
            StatusLine::Continuation(payload) => ReadEvent::Continuation(payload),
            StatusLine::Status(status) => {
                self.expects.pop_front();
                if let (true, Expect::Multi { limit }) = (status.ok, expect) {
                    self.state = State::Body(Body {
                        at_line_start: true,
                        taken: 0,
                        limit,
                        overflowed: false,
                        ended: false,
                    });
                }
                ReadEvent::Status(status)
            }
        }))
    }

    fn body(&mut self) -> Option<ReadEvent> {
        let State::Body(mut b) = self.state else {
            unreachable!("body() only in the body state")
        };
        if b.ended {
            self.state = State::Status;
            return Some(ReadEvent::End);
        }
        let mut out = Vec::new();
        let (used, ended) = unstuff(&self.buf[self.pos..], &mut b.at_line_start, &mut out);
        self.advance(used);
        b.ended = ended;
        let event = if b.overflowed {
            None
        } else {
            b.taken += out.len();
            if b.limit.is_some_and(|limit| b.taken > limit) {
                b.overflowed = true;
                Some(ReadEvent::Overflow)
            } else {
                (!out.is_empty()).then_some(ReadEvent::Data(out))
            }
        };
        match event {
            Some(event) => {
                self.state = State::Body(b);
                Some(event)
            }
            None if ended => {
                self.state = State::Status;
                Some(ReadEvent::End)
            }
            None => {
                self.state = State::Body(b);
                None
            }
        }
    }
}

/// Dot-unstuffs `input` into `out` until the terminating `.` line.
/// Returns how many input bytes were used and whether the terminator was
/// reached. Stops early (without using them) at up to two trailing bytes
/// that could start a `CRLF.` or `.CRLF` sequence, so the caller must keep
/// unused bytes and offer them again with more input.
pub fn unstuff(input: &[u8], at_line_start: &mut bool, out: &mut Vec<u8>) -> (usize, bool) {
    let mut pos = 0;
    loop {
        let avail = &input[pos..];
        if *at_line_start {
            match avail {
                [] => return (pos, false),
                [b'.', b'\r', b'\n', ..] => return (pos + 3, true),
                [b'.'] | [b'.', b'\r'] => return (pos, false),
                // RFC 1939 §3: a line starting with the termination octet
                // that is not the terminator loses that octet.
                [b'.', ..] => pos += 1,
                _ => {}
            }
            *at_line_start = false;
            continue;
        }
        match DOT_LINE.find(avail) {
            Some(i) => {
                out.extend_from_slice(&avail[..i + 2]);
                pos += i + 2;
                *at_line_start = true;
            }
            None => {
                let take = if avail.ends_with(b"\r\n") {
                    *at_line_start = true;
                    avail.len()
                } else if avail.ends_with(b"\r") {
                    avail.len() - 1
                } else {
                    avail.len()
                };
                out.extend_from_slice(&avail[..take]);
                return (pos + take, false);
            }
        }
    }
}
