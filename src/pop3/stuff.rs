//! Dot-stuffing of multi-line bodies (RFC 1939 section 3), the sending side.
//!
//! A line starts at the very beginning of the data and after every CRLF; a line
//! that starts with `.` gets one more `.`. Every other byte passes through
//! unchanged (8-bit data, bare CR, bare LF). This module only transforms bytes:
//! it must not do I/O, and it must not normalise line endings.

use memchr::memchr;

/// Streaming dot-stuffer: feed a body in chunks of any size with [`Stuffer::push`],
/// then end it with [`Stuffer::finish`]. The output does not depend on where
/// the chunks are split.
#[derive(Debug, Clone)]
pub struct Stuffer {
    /// The next byte is the first byte of a line.
    line_start: bool,
    /// The last byte seen was CR (so a following LF completes a CRLF).
    prev_cr: bool,
}

impl Default for Stuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl Stuffer {
    pub fn new() -> Self {
        Stuffer {
            line_start: true,
            prev_cr: false,
        }
    }

    /// Appends `input`, dot-stuffed, to `out`.
    pub fn push(&mut self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len());
        let mut rest = input;
        while let Some(&first) = rest.first() {
            if self.line_start && first == b'.' {
                out.push(b'.');
            }
            match memchr(b'\n', rest) {
                Some(i) => {
                    let crlf = if i > 0 {
                        rest[i - 1] == b'\r'
                    } else {
                        self.prev_cr
                    };
                    out.extend_from_slice(&rest[..=i]);
                    self.line_start = crlf;
                    self.prev_cr = false;
                    rest = &rest[i + 1..];
                }
                None => {
                    out.extend_from_slice(rest);
                    self.line_start = false;
                    self.prev_cr = rest.last() == Some(&b'\r');
                    rest = &[];
                }
            }
        }
    }

    /// Ends the body: appends CRLF when the data did not end with CRLF, then
    /// the terminating `.` CRLF. The stuffer is then ready for a new body.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        if !self.line_start {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        *self = Stuffer::new();
    }
}

/// Dot-stuffs a whole body and appends the terminator.
pub fn stuff(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    let mut s = Stuffer::new();
    s.push(data, &mut out);
    s.finish(&mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Independent reference: byte by byte, lines start after CRLF.
    fn reference(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for (i, &b) in data.iter().enumerate() {
            let line_start = i == 0 || (i >= 2 && &data[i - 2..i] == b"\r\n");
            if line_start && b == b'.' {
                out.push(b'.');
            }
            out.push(b);
        }
        if !data.is_empty() && !data.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b".\r\n");
        out
    }

    const CASES: &[(&[u8], &[u8])] = &[
        (b"", b".\r\n"),
        (b"a\r\n", b"a\r\n.\r\n"),
        (b"a", b"a\r\n.\r\n"),
        (b".", b"..\r\n.\r\n"),
        (b".\r\n", b"..\r\n.\r\n"),
        (b"..x\r\n", b"...x\r\n.\r\n"),
        (b"a\r\n.b\r\n..\r\n", b"a\r\n..b\r\n...\r\n.\r\n"),
        // bare LF does not start a line
        (b"a\n.b\r\n", b"a\n.b\r\n.\r\n"),
        // bare CR neither
        (b"a\r.b\r\n", b"a\r.b\r\n.\r\n"),
        // CR CR LF ends a line: the last two bytes are CRLF
        (b"a\r\r\n.b", b"a\r\r\n..b\r\n.\r\n"),
        // a dot in the middle of a line stays
        (b"a.b\r\n", b"a.b\r\n.\r\n"),
        // ends with bare CR: CRLF is still appended
        (b"a\r", b"a\r\r\n.\r\n"),
        // ends with bare LF
        (b"a\n", b"a\n\r\n.\r\n"),
        // 8-bit bytes pass through
        (b"\xff\xfe\r\n.\x80\r\n", b"\xff\xfe\r\n..\x80\r\n.\r\n"),
        (b"\r\n.\r\n", b"\r\n..\r\n.\r\n"),
    ];

    #[test]
    fn literal_cases() {
        for (input, expected) in CASES {
            assert_eq!(
                stuff(input),
                expected.to_vec(),
                "input {:?}",
                String::from_utf8_lossy(input)
            );
            assert_eq!(reference(input), expected.to_vec());
        }
    }

    fn chunked(input: &[u8], cuts: &[usize]) -> Vec<u8> {
        let mut s = Stuffer::new();
        let mut out = Vec::new();
        let mut start = 0;
        for &c in cuts {
            s.push(&input[start..c], &mut out);
            start = c;
        }
        s.push(&input[start..], &mut out);
        s.finish(&mut out);
        out
    }

    #[test]
    fn every_split_point_gives_the_same_output() {
        for (input, expected) in CASES {
            for i in 0..=input.len() {
                for j in i..=input.len() {
                    assert_eq!(&chunked(input, &[i, j]), expected, "cuts {i} {j}");
                }
            }
            let one_at_a_time: Vec<usize> = (1..input.len()).collect();
            assert_eq!(&chunked(input, &one_at_a_time), expected);
        }
    }

    #[test]
    fn finish_resets_for_the_next_body() {
        let mut s = Stuffer::new();
        let mut out = Vec::new();
        s.push(b"abc", &mut out);
        s.finish(&mut out);
        s.push(b".x\r\n", &mut out);
        s.finish(&mut out);
        assert_eq!(out, b"abc\r\n.\r\n..x\r\n.\r\n");
    }

    proptest! {
        #[test]
        fn matches_reference_at_any_split(
            data in proptest::collection::vec(
                prop_oneof![Just(b'.'), Just(b'\r'), Just(b'\n'), any::<u8>()], 0..64),
            a in 0usize..64, b in 0usize..64,
        ) {
            let mut cuts = vec![a.min(data.len()), b.min(data.len())];
            cuts.sort();
            prop_assert_eq!(chunked(&data, &cuts), reference(&data));
        }
    }
}
