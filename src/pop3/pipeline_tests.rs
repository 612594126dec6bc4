//! The pipeline window on byte literals: transcripts fed at every split
//! point and one byte at a time, the bound on commands in flight, and the
//! order in which replies complete.

use super::command::Command;
use std::time::Duration;

use super::pipeline::{
    Arrival, Completed, DEFAULT_WINDOW_BYTES, MAX_IN_FLIGHT, Pipeline, ReplyMean, ReplySample,
    USER_WAIT_BYTES, Window, link_window,
};
use super::reader::Reader;
use super::reply::{RespCode, Status};

fn top(msg: u32, limit: usize) -> Command {
    Command::Top {
        msg,
        lines: 0,
        limit,
    }
}

fn status(ok: bool, code: Option<RespCode>, text: &str) -> Status {
    Status {
        ok,
        code,
        text: text.into(),
    }
}

/// A pipeline with `cmds` pushed (tag = position); the second value says
/// whether its body streams.
fn pipeline(window: Window, cmds: &[(Command, bool)]) -> Pipeline<usize> {
    let mut p = Pipeline::new(Reader::new(), window);
    for (i, (cmd, stream)) in cmds.iter().enumerate() {
        assert!(p.admits(0), "command {i} fits");
        p.push(cmd, 0, *stream, i).unwrap();
    }
    p
}

/// Feeds `chunks` and collects the arrivals, adjacent Data joined so that
/// different chunkings compare equal.
fn arrivals<'a>(
    window: Window,
    cmds: &[(Command, bool)],
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Vec<Arrival<usize>> {
    let mut p = pipeline(window, cmds);
    let mut out: Vec<Arrival<usize>> = Vec::new();
    for c in chunks {
        p.feed(c);
        while let Some(a) = p.next_arrival().unwrap() {
            match (out.last_mut(), a) {
                (Some(Arrival::Data(prev)), Arrival::Data(more)) => prev.extend_from_slice(&more),
                (_, a) => out.push(a),
            }
        }
    }
    assert!(p.is_empty(), "every command completed");
    out
}

/// Whole, split in two at every point, and one byte at a time: all the same.
fn check(window: Window, cmds: &[(Command, bool)], input: &[u8], expected: &[Arrival<usize>]) {
    assert_eq!(arrivals(window, cmds, [input]), expected, "whole input");
    for i in 0..=input.len() {
        let split = arrivals(window, cmds, [&input[..i], &input[i..]]);
        assert_eq!(split, expected, "split at {i}");
    }
    let bytes = arrivals(window, cmds, input.chunks(1));
    assert_eq!(bytes, expected, "one byte at a time");
}

fn done(
    tag: usize,
    st: Status,
    body: Option<&[u8]>,
    body_len: u64,
    bytes_out: u64,
    bytes_in: u64,
) -> Arrival<usize> {
    Arrival::Done(Completed {
        tag,
        status: st,
        body: body.map(<[u8]>::to_vec),
        body_len,
        overflow: None,
        bytes_out,
        bytes_in,
    })
}

#[test]
fn pipelined_session_at_every_split() {
    let cmds = [
        (Command::Stat, false),
        (Command::Uidl(None), false),
        (top(1, 1000), false),
        (top(9, 1000), false),
        (Command::Retr(1), true),
        (Command::Dele(1), false),
    ];
    let input = b"+OK 2 320\r\n\
+OK\r\n1 a\r\n2 b\r\n.\r\n\
+OK\r\nSubject: hi\r\n\r\n.\r\n\
-ERR [SYS/PERM] no such message\r\n\
+OK 120 octets\r\nSubject: hi\r\n\r\n..dot\r\n.\r\n\
+OK deleted\r\n";
    let retr_body = b"Subject: hi\r\n\r\n.dot\r\n";
    check(
        Window::Bytes(DEFAULT_WINDOW_BYTES),
        &cmds,
        input,
        &[
            Arrival::Status(status(true, None, "2 320")),
            done(0, status(true, None, "2 320"), None, 0, 6, 11),
            Arrival::Status(status(true, None, "")),
            done(
                1,
                status(true, None, ""),
                Some(b"1 a\r\n2 b\r\n"),
                10,
                6,
                18,
            ),
            Arrival::Status(status(true, None, "")),
            done(
                2,
                status(true, None, ""),
                Some(b"Subject: hi\r\n\r\n"),
                15,
                9,
                23,
            ),
            Arrival::Status(status(false, Some(RespCode::SysPerm), "no such message")),
            done(
                3,
                status(false, Some(RespCode::SysPerm), "no such message"),
                Some(b""),
                0,
                9,
                33,
            ),
            Arrival::Status(status(true, None, "120 octets")),
            Arrival::Data(retr_body.to_vec()),
            done(4, status(true, None, "120 octets"), Some(b""), 21, 8, 41),
            Arrival::Status(status(true, None, "deleted")),
            done(5, status(true, None, "deleted"), None, 0, 8, 13),
        ],
    );
}

#[test]
fn err_to_a_multi_line_command_is_one_line() {
    // The line after -ERR is the next reply, not a body.
    check(
        Window::Bytes(DEFAULT_WINDOW_BYTES),
        &[(Command::List(None), false), (Command::Noop, false)],
        b"-ERR not now\r\n+OK\r\n",
        &[
            Arrival::Status(status(false, None, "not now")),
            done(0, status(false, None, "not now"), Some(b""), 0, 6, 14),
            Arrival::Status(status(true, None, "")),
            done(1, status(true, None, ""), None, 0, 6, 5),
        ],
    );
}

#[test]
fn an_oversized_body_completes_at_its_limit_without_waiting_for_its_end() {
    // The body never ends (no `.` line): the reply is done at the limit.
    let mut p = pipeline(
        Window::Bytes(DEFAULT_WINDOW_BYTES),
        &[(top(1, 10), false), (Command::Noop, false)],
    );
    p.feed(b"+OK\r\n0123456789abcdef");
    assert!(matches!(
        p.next_arrival().unwrap(),
        Some(Arrival::Status(_))
    ));
    let Some(Arrival::Done(first)) = p.next_arrival().unwrap() else {
        panic!("the reply completes at its limit")
    };
    assert_eq!(first.overflow, Some(10));
    assert_eq!(first.body, Some(Vec::new()));
    assert_eq!(p.len(), 1, "NOOP is still due");
}

#[test]
fn writing_names_each_command_once_its_line_is_out() {
    let mut p = pipeline(
        Window::Bytes(DEFAULT_WINDOW_BYTES),
        &[(Command::Stat, false), (Command::Noop, false)],
    );
    assert_eq!(p.to_write(), b"STAT\r\nNOOP\r\n");
    let mut sent = Vec::new();
    p.wrote(5, |t| sent.push(*t));
    assert!(sent.is_empty(), "STAT's line is not complete yet");
    assert_eq!(p.to_write(), b"\nNOOP\r\n");
    p.wrote(1, |t| sent.push(*t));
    assert_eq!(sent, [0]);
    // A command pushed while bytes are still unwritten goes after them.
    p.push(&Command::Rset, 0, false, 2).unwrap();
    p.wrote(6, |t| sent.push(*t));
    assert_eq!(sent, [0, 1]);
    assert_eq!(p.to_write(), b"RSET\r\n");
    p.wrote(6, |t| sent.push(*t));
    assert_eq!(sent, [0, 1, 2]);
    assert!(p.to_write().is_empty());
}

#[test]
fn pipelining_admits_commands_until_the_expected_bytes_bound() {
    let mut p: Pipeline<usize> = Pipeline::new(Reader::new(), Window::Bytes(100));
    assert!(p.admits(1000), "an empty window takes any one command");
    p.push(&top(1, 8192), 60, false, 0).unwrap();
    assert_eq!(p.room(), 40);
    assert!(p.admits(40));
    assert!(!p.admits(41));
    p.push(&top(2, 8192), 40, false, 1).unwrap();
    assert_eq!((p.len(), p.expected(), p.room()), (2, 100, 0));
    assert!(!p.admits(1));
    // Room opens as the first reply completes: a sliding window.
    p.feed(b"+OK\r\n.\r\n");
    assert!(matches!(
        p.next_arrival().unwrap(),
        Some(Arrival::Status(_))
    ));
    assert!(!p.admits(1), "still in flight until its body ends");
    assert!(matches!(p.next_arrival().unwrap(), Some(Arrival::Done(d)) if d.tag == 0));
    assert_eq!(p.room(), 60);
    assert!(p.admits(60));
    assert!(!p.admits(61));
}

#[test]
fn pipelining_admits_at_most_max_in_flight_commands() {
    let mut p: Pipeline<usize> = Pipeline::new(Reader::new(), Window::Bytes(u64::MAX / 2));
    for i in 0..MAX_IN_FLIGHT {
        assert!(p.admits(0), "command {i}");
        p.push(&Command::Noop, 0, false, i).unwrap();
    }
    assert!(!p.admits(0));
    assert_eq!(p.room(), 0);
}

#[test]
fn without_pipelining_exactly_one_at_a_time() {
    for window in [Window::OneAtATime, Window::Bytes(0)] {
        let mut p: Pipeline<usize> = Pipeline::new(Reader::new(), window);
        assert!(p.admits(u64::MAX));
        p.push(&Command::Stat, 0, false, 0).unwrap();
        assert!(!p.admits(0), "{window:?}");
        assert_eq!(p.room(), 0);
        p.feed(b"+OK 0 0\r\n");
        assert!(matches!(
            p.next_arrival().unwrap(),
            Some(Arrival::Status(_))
        ));
        assert!(!p.admits(0), "the reply is read but not yet handed back");
        assert!(matches!(p.next_arrival().unwrap(), Some(Arrival::Done(_))));
        assert!(p.admits(0));
        assert_eq!(p.next_arrival().unwrap(), None);
    }
}

#[test]
fn replies_complete_in_the_order_pushed() {
    let cmds: Vec<(Command, bool)> = (1..=50).map(|n| (top(n, 100), false)).collect();
    let mut input = Vec::new();
    for n in 1..=50 {
        input.extend_from_slice(format!("+OK\r\nSubject: {n}\r\n.\r\n").as_bytes());
    }
    let tags: Vec<usize> = arrivals(Window::Bytes(DEFAULT_WINDOW_BYTES), &cmds, input.chunks(7))
        .into_iter()
        .filter_map(|a| match a {
            Arrival::Done(d) => {
                assert_eq!(
                    d.body,
                    Some(format!("Subject: {}\r\n", d.tag + 1).into_bytes())
                );
                Some(d.tag)
            }
            _ => None,
        })
        .collect();
    assert_eq!(tags, (0..50).collect::<Vec<_>>());
}

#[test]
fn an_invalid_command_queues_nothing() {
    let mut p: Pipeline<usize> = Pipeline::new(Reader::new(), Window::Bytes(100));
    assert!(
        p.push(&Command::User("a\r\nb".into()), 10, false, 0)
            .is_err()
    );
    assert!(p.is_empty());
    assert!(p.to_write().is_empty());
    assert_eq!(p.expected(), 0);
}

#[test]
fn protocol_faults_are_errors() {
    // The window never carries AUTH's exchange; should a reply still
    // hold a continuation, the replies are out of step.
    let auth = Command::Auth {
        mechanism: "PLAIN".into(),
        initial: None,
    };
    let mut p = pipeline(Window::OneAtATime, &[(auth, false)]);
    p.feed(b"+ c2VjcmV0\r\n");
    assert_eq!(
        p.next_arrival().unwrap_err().to_string(),
        "a SASL continuation outside AUTH"
    );

    let mut p = pipeline(Window::OneAtATime, &[(Command::Stat, false)]);
    p.feed(b"HELLO\r\n");
    assert!(p.next_arrival().is_err());
    assert!(p.next_arrival().is_err(), "a failed pipeline stays failed");
}

#[test]
fn a_full_window_of_small_headers_is_not_cut_by_the_command_count() {
    // Header replies at the floor size: the byte bound is what stops them.
    let mut p: Pipeline<usize> = Pipeline::new(Reader::new(), Window::Bytes(DEFAULT_WINDOW_BYTES));
    let mut n = 0;
    while p.admits(ReplyMean::FLOOR) {
        p.push(&top(1, 8192), ReplyMean::FLOOR, false, n).unwrap();
        n += 1;
    }
    assert_eq!(n as u64, DEFAULT_WINDOW_BYTES / ReplyMean::FLOOR);
    assert!(n >= 5000, "5,000 headers go out in one flight: {n}");
}

#[test]
fn the_expected_reply_is_the_measured_mean_with_a_floor() {
    let mut m = ReplyMean::default();
    assert_eq!(m.estimate(), ReplyMean::INITIAL);
    m.record(3000);
    m.record(1000);
    assert_eq!(m.estimate(), 2000);
    m.record(20);
    assert_eq!(m.estimate(), 1340);
    let mut tiny = ReplyMean::default();
    tiny.record(40);
    assert_eq!(tiny.estimate(), ReplyMean::FLOOR);
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `n` pipelined replies of `bytes`, all sent at 0, the first byte after
/// `rtt`, then one every `gap`.
fn pipelined(n: u64, bytes: u64, rtt: u64, gap: u64) -> Vec<ReplySample> {
    (0..n)
        .map(|i| ReplySample {
            sent: ms(0),
            first_byte: ms(rtt + i * gap),
            done: ms(rtt + (i + 1) * gap),
            bytes,
        })
        .collect()
}

#[test]
fn the_window_is_twice_what_the_link_delivers_per_round_trip() {
    // 100 ms round trip, 1 KB every millisecond (1 MB/s): 100 KB per
    // round trip, so 200 KB, raised to the least window.
    assert_eq!(link_window(&pipelined(500, 1000, 100, 1)), USER_WAIT_BYTES);
    // 10 KB every millisecond: 1 MB per round trip, 2 MB in flight.
    assert_eq!(link_window(&pipelined(500, 10_000, 100, 1)), 2_000_000);
    // 100 KB per millisecond: capped.
    assert_eq!(
        link_window(&pipelined(500, 100_000, 100, 1)),
        DEFAULT_WINDOW_BYTES
    );
}

#[test]
fn the_window_falls_back_when_nothing_could_be_timed() {
    assert_eq!(link_window(&[]), USER_WAIT_BYTES, "nothing known");
    // Everything arrived at once: faster than measurable.
    assert_eq!(
        link_window(&pipelined(10, 1000, 100, 0)),
        DEFAULT_WINDOW_BYTES
    );
}

#[test]
fn a_pause_between_commands_is_not_counted_as_transfer_time() {
    // Two replies one at a time, a second apart: each took 1 ms to arrive
    // after its first byte; the idle second between them is not the link's.
    let one = |at: u64| ReplySample {
        sent: ms(at),
        first_byte: ms(at + 100),
        done: ms(at + 101),
        bytes: 10_000,
    };
    assert_eq!(link_window(&[one(0), one(1000)]), 2_000_000);
}
