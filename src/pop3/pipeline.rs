//! The command window (sans-I/O): which commands are in flight, the reply
//! bytes they are expected to bring, and which reply completes which
//! command (RFC 2449 §6.6 PIPELINING). Commands in → bytes to write; bytes
//! in → completed replies, in the order the commands were pushed.
//!
//! The contract, for a caller that owns the socket:
//! - **Room.** [`Pipeline::admits`] says whether a command expected to bring
//!   `size` reply bytes may go now: an empty pipeline admits any one
//!   command; with [`Window::Bytes`] more are admitted while the expected
//!   bytes of all commands in flight stay within the bound (and at most
//!   [`MAX_IN_FLIGHT`] commands); with [`Window::OneAtATime`] (no
//!   PIPELINING) never a second. [`Pipeline::room`] tells how many expected
//!   bytes still fit. Room opens as replies complete, so a caller may push
//!   more at any time (a sliding window), not only when the pipeline is
//!   empty. [`Pipeline::push`] itself does not check: ask first.
//! - **Writing.** [`Pipeline::to_write`] is the bytes still to send;
//!   [`Pipeline::wrote`] says how many went out and names (through their
//!   tags) the commands whose line is now fully written.
//! - **Reading.** [`Pipeline::feed`] takes bytes from the server in any
//!   chunking; [`Pipeline::next_arrival`] turns them into [`Arrival`]s for the
//!   command at the front: its status line, pieces of a streamed body, and
//!   finally [`Arrival::Done`] with the whole reply. A reply is multi-line
//!   only after `+OK` and only for commands that have one; `-ERR` is one
//!   line. Bodies are collected up to the command's limit (past it the
//!   reply completes at once with an overflow, and the replies are then out
//!   of step, as after a protocol fault) unless the command was pushed to stream,
//!   in which case they are handed out as they arrive, never held whole.
//! - **Tags.** Each command carries a caller's value `T` (an index, timing
//!   marks); [`Pipeline::front_mut`] reaches the front one and `Done` hands
//!   it back.
//!
//! - **Sizing.** [`ReplyMean`] estimates the next reply of a run of
//!   similar commands from those measured; [`link_window`] turns measured
//!   replies into a window that keeps the link busy and bounds what a
//!   user's request waits for (the caller has the clock and the samples).
//!
//! A protocol fault (an error from the [`Reader`], a SASL continuation
//! outside AUTH) leaves the connection out of step: the caller must stop.
//!
//! No sockets, no tokio, no clocks: time is the caller's business.

use std::collections::VecDeque;
use std::time::Duration;

use super::command::{Command, InvalidCommand};
use super::reader::{Expect, ProtocolError, ReadEvent, Reader};
use super::reply::Status;

/// Expected reply bytes in flight with PIPELINING: bounded by bytes, not
/// by a small command count. Also the cap of [`link_window`].
pub const DEFAULT_WINDOW_BYTES: u64 = 4 * 1024 * 1024;

/// Most commands in flight at once, whatever their expected size: the
/// whole [`DEFAULT_WINDOW_BYTES`] of `TOP n 0` at [`ReplyMean::FLOOR`]
/// each, so that the byte bound, not the count, limits a header load.
pub const MAX_IN_FLIGHT: usize = (DEFAULT_WINDOW_BYTES / ReplyMean::FLOOR) as usize;

/// The least window [`link_window`] gives: what a request of the user may
/// have to wait for on a slow link (expected reply bytes in flight).
pub const USER_WAIT_BYTES: u64 = 256 * 1024;

/// How many commands may be in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// The server does not pipeline: one command, then its reply.
    OneAtATime,
    /// PIPELINING: commands until their expected reply bytes reach the
    /// bound (zero behaves as one at a time).
    Bytes(u64),
}

/// What the front command's reply brought.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival<T> {
    /// Its status line (a body follows after `+OK` to a multi-line command).
    Status(Status),
    /// A piece of its body, unstuffed (only for a command pushed to stream).
    Data(Vec<u8>),
    /// Its reply is complete; the command has left the window.
    Done(Completed<T>),
}

/// A complete reply, with the tag of the command it answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed<T> {
    pub tag: T,
    pub status: Status,
    /// The collected body of a multi-line command (empty when streamed,
    /// refused or overflowed); `None` for a single-line command.
    pub body: Option<Vec<u8>>,
    /// Body bytes collected or streamed (unstuffed).
    pub body_len: u64,
    /// The body went past this limit and was discarded.
    pub overflow: Option<usize>,
    /// Bytes of the command line.
    pub bytes_out: u64,
    /// Bytes of the reply as received (status line, stuffed body, dot line).
    pub bytes_in: u64,
}

/// A fault after which the replies are out of step with the commands.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Protocol(#[from] ProtocolError),
    #[error("a SASL continuation outside AUTH")]
    Continuation,
}

#[derive(Debug)]
struct Slot<T> {
    tag: T,
    expect: Expect,
    /// The reply size expected, counted against the window.
    size: u64,
    /// The output offset just past this command's line.
    end: u64,
    bytes_out: u64,
    written: bool,
    stream: bool,
    status: Option<Status>,
    body: Vec<u8>,
    streamed: u64,
    overflow: bool,
    /// The reply is complete; `Done` is the next arrival.
    complete: bool,
}

/// The window of commands in flight over one connection. See the module
/// documentation for the contract.
#[derive(Debug)]
pub struct Pipeline<T> {
    reader: Reader,
    window: Window,
    slots: VecDeque<Slot<T>>,
    /// Expected reply bytes of the commands in flight.
    expected: u64,
    out: Vec<u8>,
    out_pos: usize,
    /// Output bytes the caller has written so far.
    written: u64,
    /// Reader offset where the front reply started.
    reply_start: u64,
}

impl<T> Pipeline<T> {
    /// A pipeline reading with `reader` (which may already be in use on the
    /// connection; its pending expectations must all be answered).
    pub fn new(reader: Reader, window: Window) -> Self {
        let reply_start = reader.consumed();
        Pipeline {
            reader,
            window,
            slots: VecDeque::new(),
            expected: 0,
            out: Vec::new(),
            out_pos: 0,
            written: 0,
            reply_start,
        }
    }

    /// The reader back, for the rest of the connection.
    pub fn into_reader(self) -> Reader {
        self.reader
    }

    /// True when no command is in flight.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Commands in flight (written or not, until their reply completes).
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Expected reply bytes of the commands in flight.
    pub fn expected(&self) -> u64 {
        self.expected
    }

    /// Whether a command expected to bring `size` reply bytes may go now.
    pub fn admits(&self, size: u64) -> bool {
        if self.slots.is_empty() {
            return true;
        }
        match self.window {
            Window::Bytes(bound) if bound > 0 => {
                self.slots.len() < MAX_IN_FLIGHT && self.expected + size <= bound
            }
            _ => false,
        }
    }

    /// Expected reply bytes that still fit beside the commands in flight
    /// (an empty pipeline also admits one command larger than this).
    pub fn room(&self) -> u64 {
        match self.window {
            Window::Bytes(bound) if self.slots.len() < MAX_IN_FLIGHT => {
                bound.saturating_sub(self.expected)
            }
            _ => 0,
        }
    }

    /// Queues `cmd`, expected to bring `size` reply bytes, carrying `tag`.
    /// With `stream`, a multi-line body is handed out as [`Arrival::Data`]
    /// instead of being collected. Does not check the window: ask
    /// [`Pipeline::admits`] first. An invalid command queues nothing.
    pub fn push(
        &mut self,
        cmd: &Command,
        size: u64,
        stream: bool,
        tag: T,
    ) -> Result<(), InvalidCommand> {
        let before = self.out.len();
        cmd.encode(&mut self.out)?;
        let bytes_out = (self.out.len() - before) as u64;
        // The window carries whole commands, never SASL answers.
        let expect = cmd.expect().unwrap_or(Expect::Single);
        self.reader.expect(expect);
        self.slots.push_back(Slot {
            tag,
            expect,
            size,
            end: self.written + (self.out.len() - self.out_pos) as u64,
            bytes_out,
            written: false,
            stream,
            status: None,
            body: Vec::new(),
            streamed: 0,
            overflow: false,
            complete: false,
        });
        self.expected += size;
        Ok(())
    }

    /// Bytes queued and not yet written.
    pub fn to_write(&self) -> &[u8] {
        &self.out[self.out_pos..]
    }

    /// `n` bytes of [`Pipeline::to_write`] went out; `on_written` hears the
    /// tag of each command whose line is now fully written.
    pub fn wrote(&mut self, n: usize, mut on_written: impl FnMut(&mut T)) {
        self.out_pos = (self.out_pos + n).min(self.out.len());
        self.written += n as u64;
        if self.out_pos == self.out.len() {
            self.out.clear();
            self.out_pos = 0;
        }
        for slot in self.slots.iter_mut() {
            if !slot.written && slot.end <= self.written {
                slot.written = true;
                on_written(&mut slot.tag);
            }
        }
    }

    /// Bytes received from the server.
    pub fn feed(&mut self, data: &[u8]) {
        self.reader.feed(data);
    }

    /// Bytes of the front command's reply received so far (including a
    /// status line not yet complete), for the caller's deadlines.
    pub fn front_received(&self) -> u64 {
        if self.slots.is_empty() {
            return 0;
        }
        self.reader.consumed() - self.reply_start + self.reader.buffered() as u64
    }

    /// The tag of the command whose reply is due next.
    pub fn front(&self) -> Option<&T> {
        self.slots.front().map(|s| &s.tag)
    }

    pub fn front_mut(&mut self) -> Option<&mut T> {
        self.slots.front_mut().map(|s| &mut s.tag)
    }

    /// The next arrival for the front command, or `None` until more bytes
    /// are fed (or while nothing is in flight).
    pub fn next_arrival(&mut self) -> Result<Option<Arrival<T>>, PipelineError> {
        loop {
            let Some(front) = self.slots.front_mut() else {
                return Ok(None);
            };
            if front.complete {
                return Ok(Some(Arrival::Done(self.complete())));
            }
            let Some(event) = self.reader.next_event()? else {
                return Ok(None);
            };
            match event {
                ReadEvent::Status(status) => {
                    front.complete = !self.reader.in_body();
                    front.status = Some(status.clone());
                    return Ok(Some(Arrival::Status(status)));
                }
                ReadEvent::Data(data) if front.stream => {
                    front.streamed += data.len() as u64;
                    return Ok(Some(Arrival::Data(data)));
                }
                ReadEvent::Data(data) => front.body.extend_from_slice(&data),
                // Given up at the limit: what follows of this reply is not
                // read (it may never end), so the caller must stop.
                ReadEvent::Overflow => {
                    front.overflow = true;
                    front.body = Vec::new();
                    front.complete = true;
                }
                ReadEvent::End => front.complete = true,
                ReadEvent::Continuation(_) => return Err(PipelineError::Continuation),
            }
        }
    }

    /// Takes the completed front command out of the window.
    fn complete(&mut self) -> Completed<T> {
        let slot = self
            .slots
            .pop_front()
            .expect("complete() only with a front command");
        self.expected = self.expected.saturating_sub(slot.size);
        let consumed = self.reader.consumed();
        let bytes_in = consumed - self.reply_start;
        self.reply_start = consumed;
        let multi = matches!(slot.expect, Expect::Multi { .. });
        Completed {
            status: slot.status.unwrap_or_else(|| Status {
                ok: false,
                code: None,
                text: String::new(),
            }),
            body_len: (slot.body.len() as u64).max(slot.streamed),
            body: multi.then_some(slot.body),
            overflow: slot.overflow.then_some(match slot.expect {
                Expect::Multi { limit: Some(l) } => l,
                _ => 0,
            }),
            bytes_out: slot.bytes_out,
            bytes_in,
            tag: slot.tag,
        }
    }
}

/// The expected size of the next reply in a run of similar commands (the
/// `TOP n 0` of a header load): the mean of the replies measured so far,
/// [`ReplyMean::INITIAL`] before the first, never below
/// [`ReplyMean::FLOOR`] (a status line and a few headers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReplyMean {
    bytes: u64,
    replies: u64,
}

impl ReplyMean {
    /// The guess before any reply was measured.
    pub const INITIAL: u64 = 2 * 1024;
    /// The least a reply is expected to weigh.
    pub const FLOOR: u64 = 512;

    /// One more reply of `bytes`.
    pub fn record(&mut self, bytes: u64) {
        self.bytes = self.bytes.saturating_add(bytes);
        self.replies += 1;
    }

    /// The expected size of the next reply.
    pub fn estimate(&self) -> u64 {
        match self.bytes.checked_div(self.replies) {
            Some(mean) => mean.max(Self::FLOOR),
            None => Self::INITIAL,
        }
    }
}

/// What one completed reply measured, in the caller's time (any origin).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReplySample {
    /// When the command's line was written.
    pub sent: Duration,
    /// When the reply's first byte arrived.
    pub first_byte: Duration,
    /// When the reply was complete.
    pub done: Duration,
    /// Bytes of the reply.
    pub bytes: u64,
}

/// A window that keeps the link busy without making a user wait long:
/// twice the bytes the link delivered per round trip (the measured rate
/// times the shortest round trip in `samples`), at least
/// [`USER_WAIT_BYTES`] and at most [`DEFAULT_WINDOW_BYTES`].
///
/// `samples` are replies in the order they completed. A reply's transfer
/// time runs from its first byte, or from the previous reply's end when
/// it was already in flight then (pipelined replies follow each other,
/// so the server's time counts too: it is the rate replies come at).
/// When no time passed at all, the link is faster than can be measured
/// and the cap is used. Without any sample, nothing is known:
/// [`USER_WAIT_BYTES`].
pub fn link_window(samples: &[ReplySample]) -> u64 {
    let Some(rtt) = samples
        .iter()
        .map(|s| s.first_byte.saturating_sub(s.sent))
        .min()
    else {
        return USER_WAIT_BYTES;
    };
    let mut busy = Duration::ZERO;
    let mut bytes: u64 = 0;
    let mut prev_done: Option<Duration> = None;
    for s in samples {
        let start = match prev_done {
            Some(p) if s.sent <= p => p,
            _ => s.first_byte,
        };
        busy += s.done.saturating_sub(start);
        bytes = bytes.saturating_add(s.bytes);
        prev_done = Some(s.done);
    }
    if busy.is_zero() {
        return DEFAULT_WINDOW_BYTES;
    }
    let per_rtt = bytes as f64 * rtt.as_secs_f64() / busy.as_secs_f64();
    ((2.0 * per_rtt) as u64).clamp(USER_WAIT_BYTES, DEFAULT_WINDOW_BYTES)
}
