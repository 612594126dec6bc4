//! Byte-literal transcripts through the reader, at every split point.

use super::reader::{Expect, ProtocolError, ReadEvent, Reader};
use super::reply::{RespCode, Status};

const MULTI: Expect = Expect::Multi { limit: None };

fn ok(text: &str) -> ReadEvent {
    ReadEvent::Status(Status {
        ok: true,
        code: None,
        text: text.into(),
    })
}

fn err(code: Option<RespCode>, text: &str) -> ReadEvent {
    ReadEvent::Status(Status {
        ok: false,
        code,
        text: text.into(),
    })
}

fn data(bytes: &[u8]) -> ReadEvent {
    ReadEvent::Data(bytes.to_vec())
}

/// Joins adjacent Data events and drops data the reader later declared
/// overflowed, so that different chunkings compare equal.
fn normalise(events: Vec<ReadEvent>) -> Vec<ReadEvent> {
    let mut out: Vec<ReadEvent> = Vec::new();
    for e in events {
        match (out.last_mut(), e) {
            (Some(ReadEvent::Data(prev)), ReadEvent::Data(more)) => prev.extend_from_slice(&more),
            (_, ReadEvent::Overflow) => {
                while matches!(out.last(), Some(ReadEvent::Data(_))) {
                    out.pop();
                }
                out.push(ReadEvent::Overflow);
            }
            (_, e) => out.push(e),
        }
    }
    out
}

fn drain(r: &mut Reader, out: &mut Vec<ReadEvent>) -> Result<(), ProtocolError> {
    while let Some(e) = r.next_event()? {
        out.push(e);
    }
    Ok(())
}

fn read_chunks<'a>(
    expects: &[Expect],
    chunks: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<ReadEvent>, ProtocolError> {
    let mut r = Reader::new();
    for e in expects {
        r.expect(*e);
    }
    let mut events = Vec::new();
    for c in chunks {
        r.feed(c);
        drain(&mut r, &mut events)?;
    }
    Ok(normalise(events))
}

/// Reads `input` whole, split in two at every point, and one byte at a
/// time; all must give `expected`.
fn check(expects: &[Expect], input: &[u8], expected: &[ReadEvent]) {
    let whole = read_chunks(expects, [input]).unwrap();
    assert_eq!(whole, expected, "whole input");
    for i in 0..=input.len() {
        let split = read_chunks(expects, [&input[..i], &input[i..]]).unwrap();
        assert_eq!(split, expected, "split at {i}");
    }
    let bytes = read_chunks(expects, input.chunks(1)).unwrap();
    assert_eq!(bytes, expected, "one byte at a time");
}

#[test]
fn rfc1939_session() {
    let expects = [
        Expect::Single, // greeting
        Expect::Single, // APOP
        Expect::Single, // STAT
        MULTI,          // LIST
        MULTI,          // RETR 1
        Expect::Single, // DELE 1
        Expect::Single, // QUIT
    ];
    let input = b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>\r\n\
+OK mrose's maildrop has 2 messages (320 octets)\r\n\
+OK 2 320\r\n\
+OK 2 messages (320 octets)\r\n1 120\r\n2 200\r\n.\r\n\
+OK 120 octets\r\nSubject: hi\r\n\r\nbody\r\n.\r\n\
+OK message 1 deleted\r\n\
+OK dewey POP3 server signing off (maildrop empty)\r\n";
    check(
        &expects,
        input,
        &[
            ok("POP3 server ready <1896.697170952@dbc.mtview.ca.us>"),
            ok("mrose's maildrop has 2 messages (320 octets)"),
            ok("2 320"),
            ok("2 messages (320 octets)"),
            data(b"1 120\r\n2 200\r\n"),
            ReadEvent::End,
            ok("120 octets"),
            data(b"Subject: hi\r\n\r\nbody\r\n"),
            ReadEvent::End,
            ok("message 1 deleted"),
            ok("dewey POP3 server signing off (maildrop empty)"),
        ],
    );
}

#[test]
fn body_is_unstuffed_and_otherwise_byte_exact() {
    let input = b"+OK\r\n\
..\r\n\
...\r\n\
..x\r\n\
.y\r\n\
a.\r\n\
\xe9t\xe9 \xff\x00 8-bit\r\n\
bare\rcr\r\n\
crcrlf\r\r\n\
lf only\n.not-a-terminator-after-bare-lf\r\n\
\r\n\
.\r\n";
    check(
        &[MULTI],
        input,
        &[
            ok(""),
            data(
                b".\r\n\
..\r\n\
.x\r\n\
y\r\n\
a.\r\n\
\xe9t\xe9 \xff\x00 8-bit\r\n\
bare\rcr\r\n\
crcrlf\r\r\n\
lf only\n.not-a-terminator-after-bare-lf\r\n\
\r\n",
            ),
            ReadEvent::End,
        ],
    );
}

#[test]
fn empty_body_and_dot_cr_without_lf() {
    check(&[MULTI], b"+OK\r\n.\r\n", &[ok(""), ReadEvent::End]);
    // ".\r" followed by something other than LF is a stuffed line, not the end.
    check(
        &[MULTI],
        b"+OK\r\n.\rx\r\n.\r\n",
        &[ok(""), data(b"\rx\r\n"), ReadEvent::End],
    );
}

#[test]
fn err_to_a_multi_line_command_has_no_body() {
    check(
        &[MULTI, Expect::Single],
        b"-ERR [SYS/TEMP] no such message\r\n+OK next\r\n",
        &[err(Some(RespCode::SysTemp), "no such message"), ok("next")],
    );
    // A body that *looks* like it follows -ERR is the next reply.
    let r = read_chunks(&[MULTI], [b"-ERR\r\n1 120\r\n".as_slice()]);
    assert_eq!(r, Err(ProtocolError::Unsolicited));
}

#[test]
fn pipelined_replies_in_one_read() {
    let top = Expect::Multi { limit: Some(1000) };
    let input = b"+OK\r\nSubject: a\r\n\r\n.\r\n-ERR no such message\r\n+OK\r\nSubject: c\r\n\r\n.\r\n+OK 3 100\r\n";
    check(
        &[top, top, top, Expect::Single],
        input,
        &[
            ok(""),
            data(b"Subject: a\r\n\r\n"),
            ReadEvent::End,
            err(None, "no such message"),
            ok(""),
            data(b"Subject: c\r\n\r\n"),
            ReadEvent::End,
            ok("3 100"),
        ],
    );
}

#[test]
fn auth_continuations() {
    let input = b"+ VXNlcm5hbWU6\r\n+ UGFzc3dvcmQ6\r\n+OK Logged in.\r\n+OK 0 0\r\n";
    check(
        &[Expect::Auth, Expect::Single],
        input,
        &[
            ReadEvent::Continuation(b"VXNlcm5hbWU6".to_vec()),
            ReadEvent::Continuation(b"UGFzc3dvcmQ6".to_vec()),
            ok("Logged in."),
            ok("0 0"),
        ],
    );
    check(
        &[Expect::Auth],
        b"+ \r\n-ERR [AUTH] Authentication failed.\r\n",
        &[
            ReadEvent::Continuation(Vec::new()),
            err(Some(RespCode::Auth), "Authentication failed."),
        ],
    );
}

#[test]
fn lf_only_status_lines_are_accepted() {
    check(
        &[Expect::Single, Expect::Single],
        b"+OK hello\n-ERR nope\n",
        &[ok("hello"), err(None, "nope")],
    );
}

#[test]
fn oversized_body_is_reported_and_skipped() {
    let top = Expect::Multi { limit: Some(10) };
    let input = b"+OK\r\n0123456789abcdef\r\n..more\r\n.\r\n+OK next\r\n";
    check(
        &[top, Expect::Single],
        input,
        &[ok(""), ReadEvent::Overflow, ReadEvent::End, ok("next")],
    );
    // Exactly at the limit is fine.
    let top = Expect::Multi { limit: Some(12) };
    check(
        &[top],
        b"+OK\r\n0123456789\r\n.\r\n",
        &[ok(""), data(b"0123456789\r\n"), ReadEvent::End],
    );
}

#[test]
fn status_line_bound() {
    let mut long = b"+OK ".to_vec();
    long.extend(std::iter::repeat_n(
        b'x',
        super::reader::MAX_STATUS_LINE + 10,
    ));
    let err = read_chunks(&[Expect::Single], [long.as_slice()]).unwrap_err();
    assert!(matches!(err, ProtocolError::LineTooLong { .. }));
    // Also when the newline finally comes.
    long.extend_from_slice(b"\r\n");
    let err = read_chunks(&[Expect::Single], long.chunks(1000)).unwrap_err();
    assert!(matches!(err, ProtocolError::LineTooLong { .. }));
    // A line just under the bound is fine.
    let mut fine = b"+OK ".to_vec();
    fine.extend(std::iter::repeat_n(b'y', 4000));
    fine.extend_from_slice(b"\r\n");
    assert!(read_chunks(&[Expect::Single], fine.chunks(7)).is_ok());
}

#[test]
fn garbage_and_unsolicited_data_are_errors_that_stick() {
    let mut r = Reader::new();
    r.expect(Expect::Single);
    r.feed(b"HELLO garbage\r\n");
    let e = r.next_event().unwrap_err();
    assert_eq!(
        e.to_string(),
        "the server sent a line that is not a POP3 status (\"HELLO garbage\")"
    );
    r.feed(b"+OK\r\n");
    assert!(r.next_event().is_err(), "a failed reader stays failed");

    let mut r = Reader::new();
    r.feed(b"+OK surprise\r\n");
    assert_eq!(r.next_event(), Err(ProtocolError::Unsolicited));
}

#[test]
fn counts_buffered_and_consumed_bytes() {
    let mut r = Reader::new();
    r.expect(Expect::Single);
    r.feed(b"+OK begin TLS\r\n+OK injected\r\n");
    assert_eq!(r.next_event().unwrap(), Some(ok("begin TLS")));
    assert_eq!(r.consumed(), 15);
    assert_eq!(r.buffered(), 14, "bytes after STLS's +OK must be visible");
    assert_eq!(r.pending(), 0);
}

mod roundtrip {
    use super::*;
    use crate::pop3::stuff::stuff;
    use proptest::prelude::*;

    /// Bytes rich in the characters that matter for stuffing.
    fn body() -> impl Strategy<Value = Vec<u8>> {
        prop::collection::vec(
            prop_oneof![
                4 => Just(b'.'),
                4 => Just(b'\r'),
                4 => Just(b'\n'),
                1 => any::<u8>(),
                2 => Just(b'a'),
            ],
            0..400,
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Dot-stuffing and then reading returns the bytes unchanged (with
        /// the CRLF a server must add when the data does not end in one),
        /// however the stream is chunked.
        #[test]
        fn stuff_then_read_is_identity(data in body(), cuts in prop::collection::vec(any::<usize>(), 0..6)) {
            let mut wire = b"+OK\r\n".to_vec();
            wire.extend(stuff(&data));
            wire.extend_from_slice(b"+OK after\r\n");
            let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c % (wire.len() + 1)).collect();
            cuts.sort();
            let mut chunks = Vec::new();
            let mut last = 0;
            for c in cuts {
                chunks.push(&wire[last..c]);
                last = c;
            }
            chunks.push(&wire[last..]);
            let events = read_chunks(&[MULTI, Expect::Single], chunks).unwrap();
            let mut expected = data.clone();
            if !data.is_empty() && !data.ends_with(b"\r\n") {
                expected.extend_from_slice(b"\r\n");
            }
            let mut want = vec![ok("")];
            if !expected.is_empty() {
                want.push(ReadEvent::Data(expected));
            }
            want.push(ReadEvent::End);
            want.push(ok("after"));
            prop_assert_eq!(events, want);
        }
    }
}
