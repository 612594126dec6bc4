//! Deterministic test messages: a mailbox of varied, partly awkward messages
//! with the header values a correct MIME parser must show, and a streamed
//! large message. The same seed always gives the same bytes.
//!
//! It must not use outside randomness, the clock, or the network, and must
//! stay fast in a debug build (1000 messages well under a second).

use std::io::{self, Write};

use base64::Engine as _;

/// One generated message and what a correct parser shows for it.
pub struct GenMessage {
    /// Exactly what is stored: CRLF line endings.
    pub bytes: Vec<u8>,
    /// Unique; present as `Message-ID: <message_id>` in every message
    /// (this field is without the angle brackets, as parsers show it).
    pub message_id: String,
    /// Decoded subject; None if there is no Subject header.
    pub subject: Option<String>,
    /// Display name of the first From address if it has one, else the
    /// address; None if there is no From header.
    pub from: Option<String>,
    /// Unix seconds of the Date header; None if it is missing or unparseable.
    pub date: Option<i64>,
    /// Which variant this is, for failure messages.
    pub kind: &'static str,
}

/// The variants `mailbox` cycles through, in order.
pub const KINDS: &[&str] = &[
    "plain",
    "utf8-base64-subject",
    "utf8-qp-subject",
    "latin1-qp-subject",
    "split-encoded-subject",
    "folded-subject",
    "raw-utf8-subject",
    "no-subject",
    "no-from",
    "no-date",
    "bad-date",
    "line-without-colon",
    "raw-8bit-header",
    "dot-lines",
    "latin1-8bit-body",
    "utf8-8bit-body",
    "multipart-attachment",
    "html-only",
];

/// `count` messages cycling through `KINDS`, with From styles, dates and
/// sizes (a few hundred bytes to about 200 KB) varying by `seed`.
pub fn mailbox(count: usize, seed: u64) -> Vec<GenMessage> {
    let mut rng = Rng::new(seed);
    (0..count).map(|i| message(i, seed, &mut rng)).collect()
}

/// A tiny deterministic PRNG (splitmix64).
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (hi > lo).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next_u64() % (hi - lo)
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.next_u64() as usize % items.len()]
    }
}

/// (header value, what a parser shows).
const FROMS: &[(&str, &str)] = &[
    ("Alice Example <alice@example.org>", "Alice Example"),
    ("\"Smith, John\" <john.smith@example.com>", "Smith, John"),
    (
        "=?UTF-8?B?5bGx55SwIOeUsee0gA==?= <yuki@example.jp>",
        "山田 由紀",
    ),
    (
        "=?ISO-8859-1?Q?Ren=E9_Dupont?= <rene@example.fr>",
        "René Dupont",
    ),
    ("bob@example.net", "bob@example.net"),
    ("<carol@example.com>", "carol@example.com"),
];

const WORDS: &[&str] = &[
    "mailbox",
    "server",
    "the",
    "of",
    "message",
    "quota",
    "delivery",
    "and",
    "report",
    "invoice",
    "meeting",
    "tomorrow",
    "a",
    "to",
    "attachment",
    "please",
    "see",
    "below",
    "regards",
    "status",
    "retry",
    "connection",
    "size",
    "header",
    "line",
    "POP3",
];

fn message(i: usize, seed: u64, rng: &mut Rng) -> GenMessage {
    let kind = KINDS[i % KINDS.len()];
    let message_id = format!("{i:05}.{seed:016x}@popdoc.test");
    let (from_value, from_shown) = *rng.pick(FROMS);
    let (date_value, date) = date_header(rng);
    let target = body_size(rng);

    let mut subject_value = format!("Test message {i} about {}", rng.pick(WORDS));
    let mut subject = Some(subject_value.clone());
    let mut h: Vec<u8> = Vec::with_capacity(512);
    let mut extra_after: Vec<u8> = Vec::new();

    match kind {
        "utf8-base64-subject" => {
            let text = format!("Привет, мир {i} 👋");
            subject_value = encoded_words(&text, 'B');
            subject = Some(text);
        }
        "utf8-qp-subject" => {
            let text = format!("日本語のテスト {i} 🎉");
            subject_value = encoded_words(&text, 'Q');
            subject = Some(text);
        }
        "latin1-qp-subject" => {
            let text = format!("Café für Müller {i}");
            let latin1: Vec<u8> = text.chars().map(|c| c as u32 as u8).collect();
            subject_value = format!("=?ISO-8859-1?Q?{}?=", q_encode(&latin1));
            subject = Some(text);
        }
        "split-encoded-subject" => {
            // Two encoded-words on a folded line: the whitespace between them
            // is not part of the text (RFC 2047 section 6.2).
            let (a, b) = ("Grüße aus ".to_owned(), format!("Köln {i} ✓"));
            subject_value = format!(
                "=?UTF-8?B?{}?=\r\n =?UTF-8?Q?{}?=",
                b64(a.as_bytes()),
                q_encode(b.as_bytes())
            );
            subject = Some(a + &b);
        }
        "folded-subject" => {
            subject_value = format!("A long subject {i} that is folded\r\n onto a second line");
            subject = Some(format!(
                "A long subject {i} that is folded onto a second line"
            ));
        }
        "raw-utf8-subject" => {
            // RFC 6532: UTF-8 straight in the header.
            let text = format!("Grüße – raw UTF-8 {i}");
            subject_value = text.clone();
            subject = Some(text);
        }
        "no-subject" => subject = None,
        "line-without-colon" => {
            // After Subject, From, Date and Message-ID, so a parser that stops
            // at the bad line still has them all.
            extra_after.extend_from_slice(b"This line has no colon\r\nX-After-Bad-Line: yes\r\n");
        }
        "raw-8bit-header" => {
            extra_after.extend_from_slice(
                b"X-Latin1: caf\xe9 cr\xe8me\r\nX-Utf8: Gr\xc3\xbc\xc3\x9fe\r\n",
            );
        }
        _ => {}
    }

    if kind != "no-from" {
        push_header(&mut h, "From", from_value.as_bytes());
    }
    push_header(&mut h, "To", b"Test User <test@popdoc.test>");
    if subject.is_some() {
        push_header(&mut h, "Subject", subject_value.as_bytes());
    }
    let date = match kind {
        "no-date" => None,
        "bad-date" => {
            push_header(&mut h, "Date", b"sometime last week");
            None
        }
        _ => {
            push_header(&mut h, "Date", date_value.as_bytes());
            Some(date)
        }
    };
    push_header(&mut h, "Message-ID", format!("<{message_id}>").as_bytes());
    h.extend_from_slice(&extra_after);
    push_header(&mut h, "MIME-Version", b"1.0");

    let mut bytes = h;
    match kind {
        "latin1-8bit-body" => {
            push_header(
                &mut bytes,
                "Content-Type",
                b"text/plain; charset=ISO-8859-1",
            );
            push_header(&mut bytes, "Content-Transfer-Encoding", b"8bit");
            bytes.extend_from_slice(b"\r\n");
            bytes.extend_from_slice(b"Caf\xe9, cr\xe8me br\xfbl\xe9e, gr\xfc\xdfe, \xa9 2024.\r\n");
            text_body(&mut bytes, rng, target);
        }
        "utf8-8bit-body" => {
            push_header(&mut bytes, "Content-Type", b"text/plain; charset=UTF-8");
            push_header(&mut bytes, "Content-Transfer-Encoding", b"8bit");
            bytes.extend_from_slice(b"\r\n");
            bytes.extend_from_slice("Grüße, Привет, 日本語, emoji 🎉.\r\n".as_bytes());
            text_body(&mut bytes, rng, target);
        }
        "multipart-attachment" => {
            let boundary = format!("=_popdoc_{i}_{seed:x}");
            push_header(
                &mut bytes,
                "Content-Type",
                format!("multipart/mixed; boundary=\"{boundary}\"").as_bytes(),
            );
            bytes.extend_from_slice(b"\r\nThis is a multi-part message in MIME format.\r\n");
            bytes.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
            bytes.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n\r\n");
            text_body(&mut bytes, rng, target);
            bytes.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
            bytes.extend_from_slice(
                b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n\
                  Content-Disposition: attachment; filename=\"data.bin\"\r\n\
                  Content-Transfer-Encoding: base64\r\n\r\n",
            );
            let blob: Vec<u8> = (0..600).map(|_| rng.next_u64() as u8).collect();
            for chunk in b64(&blob).as_bytes().chunks(76) {
                bytes.extend_from_slice(chunk);
                bytes.extend_from_slice(b"\r\n");
            }
            bytes.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        }
        "html-only" => {
            push_header(&mut bytes, "Content-Type", b"text/html; charset=us-ascii");
            bytes.extend_from_slice(b"\r\n<!DOCTYPE html>\r\n<html><body>\r\n<h1>Hello</h1>\r\n");
            while bytes.len() < target {
                bytes.extend_from_slice(b"<p>");
                words_line(&mut bytes, rng, 8);
                bytes.extend_from_slice(b"</p>\r\n");
            }
            bytes.extend_from_slice(b"</body></html>\r\n");
        }
        _ => {
            push_header(&mut bytes, "Content-Type", b"text/plain; charset=us-ascii");
            bytes.extend_from_slice(b"\r\n");
            if kind == "dot-lines" {
                bytes.extend_from_slice(b"Lines that need dot-stuffing follow.\r\n.\r\n..\r\n.hidden\r\n..double\r\n...\r\n. \r\n");
            }
            text_body(&mut bytes, rng, target);
            if kind == "dot-lines" {
                bytes.extend_from_slice(b".\r\nlast line after a lone dot\r\n.end\r\n");
            }
        }
    }

    GenMessage {
        bytes,
        message_id,
        subject,
        from: (kind != "no-from").then(|| from_shown.to_owned()),
        date,
        kind,
    }
}

fn push_header(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value);
    out.extend_from_slice(b"\r\n");
}

/// Mostly small messages, some tens of KB, a few up to about 200 KB.
fn body_size(rng: &mut Rng) -> usize {
    let size = match rng.range(0, 100) {
        0..70 => rng.range(300, 2_000),
        70..97 => rng.range(2_000, 20_000),
        _ => rng.range(50_000, 200_000),
    };
    size as usize
}

/// ASCII text lines until `out` holds at least `target` bytes.
fn text_body(out: &mut Vec<u8>, rng: &mut Rng, target: usize) {
    loop {
        let words = rng.range(3, 14) as usize;
        words_line(out, rng, words);
        out.extend_from_slice(b"\r\n");
        if out.len() >= target {
            break;
        }
    }
}

fn words_line(out: &mut Vec<u8>, rng: &mut Rng, words: usize) {
    for w in 0..words {
        if w > 0 {
            out.push(b' ');
        }
        out.extend_from_slice(rng.pick(WORDS).as_bytes());
    }
}

/// An RFC 5322 Date value and its unix seconds.
fn date_header(rng: &mut Rng) -> (String, i64) {
    const OFFSETS_MIN: &[i64] = &[0, 60, 120, -300, 330, -480, 345, -210];
    const DAYS: &[&str] = &["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
    const MONTHS: &[&str] = &[
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    // 2015-01-01 .. 2026-01-01
    let utc = rng.range(1_420_070_400, 1_767_225_600) as i64;
    let offset = *rng.pick(OFFSETS_MIN);
    let local = utc + offset * 60;
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    let sign = if offset < 0 { '-' } else { '+' };
    let value = format!(
        "{}, {d:02} {} {y} {:02}:{:02}:{:02} {sign}{:02}{:02}",
        DAYS[(days + 4).rem_euclid(7) as usize],
        MONTHS[(m - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        offset.abs() / 60,
        offset.abs() % 60,
    );
    (value, utc)
}

/// (year, month 1-12, day 1-31) of days since 1970-01-01 (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `text` as UTF-8 encoded-words of at most 75 characters each, split
/// between characters and folded onto continuation lines (RFC 2047 section 2).
fn encoded_words(text: &str, encoding: char) -> String {
    const MAX_PAYLOAD: usize = 75 - "=?UTF-8?B??=".len();
    let encode = |s: &str| match encoding {
        'B' => b64(s.as_bytes()),
        _ => q_encode(s.as_bytes()),
    };
    let mut words = Vec::new();
    let mut start = 0;
    for (at, c) in text.char_indices() {
        let end = at + c.len_utf8();
        if encode(&text[start..end]).len() > MAX_PAYLOAD {
            words.push(&text[start..at]);
            start = at;
        }
    }
    words.push(&text[start..]);
    words
        .iter()
        .map(|w| format!("=?UTF-8?{encoding}?{}?=", encode(w)))
        .collect::<Vec<_>>()
        .join("\r\n ")
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// RFC 2047 "Q" encoding: space as `_`, letters and digits as is, the rest `=XX`.
fn q_encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for &b in bytes {
        match b {
            b' ' => s.push('_'),
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' => s.push(b as char),
            _ => s.push_str(&format!("={b:02X}")),
        }
    }
    s
}

/// Writes a valid message of exactly `size` bytes (at least 4096) to `w`,
/// streaming: headers, a short text part, then a large Latin-1 8-bit part of
/// many lines, including lines that are exactly `.`, start with `.` or `..`,
/// and long lines (up to 990 bytes). Returns the number of bytes written.
pub fn write_big_message(w: &mut dyn Write, size: u64, seed: u64) -> io::Result<u64> {
    assert!(size >= 4096, "write_big_message needs at least 4096 bytes");
    let mut rng = Rng::new(seed ^ 0xb16_b16);
    let boundary = format!("=_popdoc_big_{seed:x}");
    let mut head = Vec::new();
    push_header(&mut head, "From", b"Big Sender <big@example.org>");
    push_header(&mut head, "To", b"Test User <test@popdoc.test>");
    push_header(
        &mut head,
        "Subject",
        format!("Big message of {size} bytes").as_bytes(),
    );
    push_header(&mut head, "Date", b"Mon, 01 Jan 2024 12:00:00 +0000");
    push_header(
        &mut head,
        "Message-ID",
        format!("<big.{seed:016x}@popdoc.test>").as_bytes(),
    );
    push_header(&mut head, "MIME-Version", b"1.0");
    push_header(
        &mut head,
        "Content-Type",
        format!("multipart/mixed; boundary=\"{boundary}\"").as_bytes(),
    );
    head.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
    head.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n\r\n");
    head.extend_from_slice(b"The attachment below is large on purpose.\r\n");
    head.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
    head.extend_from_slice(
        b"Content-Type: text/plain; charset=ISO-8859-1\r\n\
          Content-Disposition: attachment; filename=\"big.txt\"\r\n\
          Content-Transfer-Encoding: 8bit\r\n\r\n",
    );
    // The special lines first, so that every size has them.
    head.extend_from_slice(b".\r\n..\r\n.starts with a dot\r\n..starts with two dots\r\n");
    let tail = format!("\r\n--{boundary}--\r\n");

    // A pool of lines to draw from: plain, dotted, 8-bit, long.
    let mut pool: Vec<Vec<u8>> = Vec::new();
    for k in 0..64 {
        let mut line = Vec::new();
        match k % 8 {
            0 => line.extend_from_slice(b"."),
            1 => line.extend_from_slice(b".."),
            2 => line.extend_from_slice(b"caf\xe9 cr\xe8me \xfc\xdf "),
            _ => {}
        }
        let target = if k % 16 == 15 {
            990
        } else {
            rng.range(20, 120) as usize
        };
        while line.len() < target {
            line.extend_from_slice(rng.pick(WORDS).as_bytes());
            line.push(if rng.range(0, 10) == 0 { 0xe9 } else { b' ' });
        }
        line.truncate(target);
        line.extend_from_slice(b"\r\n");
        pool.push(line);
    }

    let mut written = 0u64;
    w.write_all(&head)?;
    written += head.len() as u64;
    let tail_len = tail.len() as u64;
    loop {
        let left = size - written - tail_len;
        let line = rng.pick(&pool);
        if (line.len() as u64) + 64 > left {
            // Filler lines of exactly the bytes left (at least 64 here),
            // each under 998 bytes.
            let mut left = left;
            while left > 0 {
                let n = if left > 905 { 902 } else { left };
                let mut filler = vec![b'x'; (n - 2) as usize];
                filler.extend_from_slice(b"\r\n");
                w.write_all(&filler)?;
                written += n;
                left -= n;
            }
            break;
        }
        w.write_all(line)?;
        written += line.len() as u64;
    }
    w.write_all(tail.as_bytes())?;
    written += tail_len;
    debug_assert_eq!(written, size);
    Ok(written)
}
