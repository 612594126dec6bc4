//! The session record: a transcript (direction, time, the line, with
//! credentials already redacted by the command layer) and per-command
//! timings (sent, first and last byte of the reply, bytes moved).
//!
//! Bounded: the oldest lines are dropped past a limit, and message bodies
//! are summarised, never copied in.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, Instant, SystemTime};

/// Lines kept before the oldest are dropped.
const MAX_LINES: usize = 20_000;
const MAX_TIMINGS: usize = 20_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// Client to server.
    Sent,
    /// Server to client.
    Received,
    /// popdoc's own remark (TLS started, body summary, timing).
    Note,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// Since the session started.
    pub at: Duration,
    pub dir: Dir,
    pub text: String,
    /// For a reply's status line: from the command leaving to this reply.
    pub latency: Option<Duration>,
}

impl Line {
    /// `    0.123 C: USER alice`, `    0.140 S: +OK [17 ms]`
    pub fn render(&self) -> String {
        let tag = match self.dir {
            Dir::Sent => "C:",
            Dir::Received => "S:",
            Dir::Note => "--",
        };
        let mut s = format!("{:>9.3} {tag} {}", self.at.as_secs_f64(), self.text);
        if let Some(l) = self.latency {
            s.push_str(&format!("  [{}]", crate::util::human_duration(l)));
        }
        s
    }
}

/// One command's timing. Times are since the session started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timing {
    pub command: String,
    pub sent: Duration,
    pub first_byte: Option<Duration>,
    pub last_byte: Option<Duration>,
    pub bytes_out: u64,
    pub bytes_in: u64,
    pub ok: Option<bool>,
}

impl Timing {
    /// From the command's last byte leaving to the reply's first byte.
    pub fn latency(&self) -> Option<Duration> {
        Some(self.first_byte?.saturating_sub(self.sent))
    }

    /// From the command leaving to the reply's last byte.
    pub fn total(&self) -> Option<Duration> {
        Some(self.last_byte?.saturating_sub(self.sent))
    }
}

/// The clock of a transcript file: the instant its times count from and
/// that instant's wall time, which the file's header names. A transcript
/// that spans several sessions (reconnects, `check --repeat`) keeps the
/// first session's clock, so its times never restart at 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Clock {
    start: Instant,
    wall: SystemTime,
}

impl Clock {
    pub fn now() -> Clock {
        Clock {
            start: Instant::now(),
            wall: SystemTime::now(),
        }
    }

    pub fn wall(&self) -> SystemTime {
        self.wall
    }

    /// The wall time of the clock's 0, to the millisecond (the precision of
    /// the times in the file): `2026-12-03 13:44:18.123`.
    pub fn utc(&self) -> String {
        let ms = self
            .wall
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.subsec_millis())
            .unwrap_or(0);
        format!("{}.{ms:03}", crate::util::format_utc(self.wall))
    }

    /// The first line of a transcript file on this clock; `about` names the
    /// account or server, or is empty.
    pub fn header(&self, about: &str) -> String {
        header(about, &self.utc())
    }
}

/// The first line of a transcript file whose times count from `since_utc`
/// (as [`Clock::utc`] writes it).
pub fn header(about: &str, since_utc: &str) -> String {
    let about = if about.is_empty() {
        String::new()
    } else {
        format!(" for {about}")
    };
    format!(
        "# popdoc transcript{about}; times in seconds since {since_utc} UTC, on one clock for the whole file (reconnects included); credentials shown as ***\n"
    )
}

#[derive(Debug)]
pub struct SessionLog {
    clock: Clock,
    lines: VecDeque<Line>,
    /// Index of `lines[0]` among all lines ever logged.
    first: u64,
    timings: VecDeque<Timing>,
}

impl Default for SessionLog {
    fn default() -> Self {
        Self::new()
    }
}

impl SessionLog {
    pub fn new() -> Self {
        SessionLog {
            clock: Clock::now(),
            lines: VecDeque::new(),
            first: 0,
            timings: VecDeque::new(),
        }
    }

    pub fn now(&self) -> Duration {
        self.clock.start.elapsed()
    }

    pub fn started_at(&self) -> SystemTime {
        self.clock.wall
    }

    /// The clock this session's times count from.
    pub fn clock(&self) -> Clock {
        self.clock
    }

    pub fn push(&mut self, dir: Dir, text: impl Into<String>) {
        self.push_timed(dir, text, None);
    }

    /// A reply line with the latency of the command it answers.
    pub fn push_timed(&mut self, dir: Dir, text: impl Into<String>, latency: Option<Duration>) {
        if self.lines.len() == MAX_LINES {
            self.lines.pop_front();
            self.first += 1;
        }
        let text = text.into();
        tracing::debug!(target: "popdoc::transcript", "{:?} {}", dir, text);
        self.lines.push_back(Line {
            at: self.now(),
            dir,
            text,
            latency,
        });
    }

    pub fn note(&mut self, text: impl Into<String>) {
        self.push(Dir::Note, text);
    }

    pub fn timing(&mut self, t: Timing) {
        if self.timings.len() == MAX_TIMINGS {
            self.timings.pop_front();
        }
        self.timings.push_back(t);
    }

    pub fn timings(&self) -> impl DoubleEndedIterator<Item = &Timing> {
        self.timings.iter()
    }

    pub fn last_timing(&self) -> Option<&Timing> {
        self.timings.back()
    }

    /// The number of lines ever logged; pass it to [`lines_since`] later.
    pub fn mark(&self) -> u64 {
        self.first + self.lines.len() as u64
    }

    /// Lines logged since `mark` (those still kept).
    pub fn lines_since(&self, mark: u64) -> impl Iterator<Item = &Line> {
        let skip = mark.saturating_sub(self.first) as usize;
        self.lines.iter().skip(skip)
    }

    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.lines.iter()
    }

    /// Lines logged since `mark`, their times counted on `clock` (an
    /// earlier session's) instead of this session's own.
    pub fn lines_on(&self, clock: &Clock, mark: u64) -> Vec<Line> {
        let shift = self.clock.start.saturating_duration_since(clock.start);
        self.lines_since(mark)
            .map(|l| Line {
                at: l.at + shift,
                ..l.clone()
            })
            .collect()
    }

    /// The whole transcript as text, with a header.
    pub fn render(&self) -> String {
        let mut s = self.clock.header("");
        s.push_str(&self.render_on(&self.clock));
        s
    }

    /// The transcript's lines without a header, their times counted on
    /// `clock` (for a file that holds several sessions).
    pub fn render_on(&self, clock: &Clock) -> String {
        let mut s = String::new();
        if self.first > 0 {
            let _ = writeln!(s, "# ({} earlier lines dropped)", self.first);
        }
        for l in self.lines_on(clock, 0) {
            s.push_str(&l.render());
            s.push('\n');
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_survive_dropping_old_lines() {
        let mut log = SessionLog::new();
        log.push(Dir::Sent, "USER a");
        let m = log.mark();
        log.push(Dir::Received, "+OK");
        let new: Vec<_> = log.lines_since(m).map(|l| l.text.clone()).collect();
        assert_eq!(new, ["+OK"]);
        for i in 0..MAX_LINES {
            log.note(format!("n{i}"));
        }
        assert_eq!(log.lines().count(), MAX_LINES);
        let m2 = log.mark();
        log.note("last");
        assert_eq!(log.lines_since(m2).count(), 1);
        assert!(log.render().contains("earlier lines dropped"));
    }

    #[test]
    fn a_later_session_counts_on_the_first_ones_clock() {
        let mut first = SessionLog::new();
        first.push(Dir::Sent, "USER a");
        let clock = first.clock();
        std::thread::sleep(Duration::from_millis(30));
        let mut second = SessionLog::new();
        second.push(Dir::Sent, "USER b");
        let own = second.lines().next().unwrap().at;
        let on_first = second.lines_on(&clock, 0)[0].at;
        assert!(own < Duration::from_millis(30), "{own:?}");
        assert!(on_first >= Duration::from_millis(30), "{on_first:?}");
        assert!(on_first >= first.lines().next().unwrap().at);
        // The header names the clock's 0 to the millisecond.
        let text = first.render();
        let head = text.lines().next().unwrap();
        assert!(
            head.contains(&format!("since {} UTC", clock.utc())),
            "{head}"
        );
        assert!(clock.utc().ends_with(&format!(
            ".{:03}",
            clock
                .wall()
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap()
                .subsec_millis()
        )));
        assert!(
            second.render_on(&clock).contains(
                &Line {
                    at: on_first,
                    dir: Dir::Sent,
                    text: "USER b".into(),
                    latency: None,
                }
                .render()
            )
        );
    }

    #[test]
    fn timing_arithmetic() {
        let t = Timing {
            command: "STAT".into(),
            sent: Duration::from_millis(10),
            first_byte: Some(Duration::from_millis(25)),
            last_byte: Some(Duration::from_millis(40)),
            bytes_out: 6,
            bytes_in: 12,
            ok: Some(true),
        };
        assert_eq!(t.latency(), Some(Duration::from_millis(15)));
        assert_eq!(t.total(), Some(Duration::from_millis(30)));
        let l = Line {
            at: Duration::from_millis(1234),
            dir: Dir::Sent,
            text: "STAT".into(),
            latency: None,
        };
        assert_eq!(l.render(), "    1.234 C: STAT");
        let l = Line {
            dir: Dir::Received,
            text: "+OK 2 320".into(),
            latency: Some(Duration::from_millis(17)),
            ..l
        };
        assert_eq!(l.render(), "    1.234 S: +OK 2 320  [17 ms]");
    }
}
