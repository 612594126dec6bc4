//! mail-parser glue: a header block (from `TOP n 0`) becomes a [`Summary`]
//! for the list; the first lines of a message (from `TOP n K`) become a
//! [`Preview`] with headers, readable text (HTML turned into text) and the
//! MIME parts that are visible.
//!
//! Everything shown to a person passes through the one sanitiser,
//! [`stripped`]: control and bidirectional-override characters are removed
//! so that a hostile header cannot move the cursor or recolour the terminal. Never panics on bad
//! input; never needs the whole message.

use mail_parser::{Address, Message, MessageParser, MimeHeaders, PartType};
use serde::Serialize;

use crate::pop3::text::stripped;

/// What the message list shows for one message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// The sender's display name, else the address; empty when there is no From.
    pub from: String,
    pub from_address: Option<String>,
    pub subject: String,
    /// Unix seconds; None when the Date header is missing or invalid.
    pub date: Option<i64>,
    pub to: String,
    pub cc: String,
    pub message_id: Option<String>,
}

/// A one-line form: cleaned and with folding whitespace collapsed.
pub fn one_line(s: &str) -> String {
    stripped(&s.replace(['\r', '\n'], " "))
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse(bytes: &[u8]) -> Option<Message<'_>> {
    MessageParser::default().parse(bytes)
}

/// Parses a header block (or a whole message; only headers are used).
/// A panic inside the MIME parser (seen on crafted input) gives an empty
/// summary instead of ending popdoc.
pub fn summarize(header_block: &[u8]) -> Summary {
    crate::util::contained(|| summarize_parsed(header_block)).unwrap_or_default()
}

fn address_list(a: Option<&Address<'_>>) -> String {
    let Some(a) = a else { return String::new() };
    a.iter()
        .map(|addr| match (addr.name(), addr.address()) {
            (Some(n), Some(ad)) if !n.trim().is_empty() => {
                format!("{} <{}>", one_line(n), one_line(ad))
            }
            (_, Some(ad)) => one_line(ad),
            (Some(n), None) => one_line(n),
            (None, None) => String::new(),
        })
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

fn date_of(m: &Message<'_>) -> Option<i64> {
    m.date().filter(|d| d.is_valid()).map(|d| d.to_timestamp())
}

fn summarize_parsed(header_block: &[u8]) -> Summary {
    let Some(m) = parse(header_block) else {
        return Summary::default();
    };
    let first = m.from().and_then(|f| f.first());
    let from_address = first.and_then(|a| a.address()).map(one_line);
    let from = first
        .and_then(|a| a.name())
        .map(one_line)
        .filter(|n| !n.is_empty())
        .or_else(|| from_address.clone())
        .unwrap_or_default();
    Summary {
        from,
        from_address,
        subject: m.subject().map(one_line).unwrap_or_default(),
        date: date_of(&m),
        to: address_list(m.to()),
        cc: address_list(m.cc()),
        message_id: m.message_id().map(one_line),
    }
}

/// A MIME part as far as the preview could see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    /// Nesting depth (0 = top level of the message).
    pub depth: usize,
    pub content_type: String,
    pub name: Option<String>,
    /// Decoded size, when the whole part was within the preview.
    pub size: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Text,
    /// The message has only HTML; this is its text rendering.
    Html,
    None,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// From, To, Cc, Date, Subject, Message-ID (those present).
    pub headers: Vec<(&'static str, String)>,
    /// Every header line as sent (cleaned), for the raw view.
    pub raw_headers: Vec<String>,
    pub body: Vec<String>,
    pub body_kind: BodyKind,
    pub parts: Vec<PartInfo>,
    /// The preview saw only the start of the message.
    pub truncated: bool,
    pub date: Option<i64>,
}

/// Builds a preview from the bytes of `TOP n K`. `full_size` is the LIST
/// size, used to tell whether the preview is the whole message.
/// A panic inside the MIME parser gives the raw header lines only.
pub fn preview(top: &[u8], full_size: Option<u64>) -> Preview {
    crate::util::contained(|| preview_parsed(top, full_size)).unwrap_or_else(|| Preview {
        headers: Vec::new(),
        raw_headers: raw_header_lines(top),
        body: Vec::new(),
        body_kind: BodyKind::None,
        parts: Vec::new(),
        truncated: full_size.is_some_and(|s| (top.len() as u64) < s.saturating_sub(2)),
        date: None,
    })
}

fn preview_parsed(top: &[u8], full_size: Option<u64>) -> Preview {
    let truncated = full_size.is_some_and(|s| (top.len() as u64) < s.saturating_sub(2));
    let raw_headers = raw_header_lines(top);
    let Some(m) = parse(top) else {
        return Preview {
            headers: Vec::new(),
            raw_headers,
            body: Vec::new(),
            body_kind: BodyKind::None,
            parts: Vec::new(),
            truncated,
            date: None,
        };
    };
    let mut headers = Vec::new();
    let mut push = |name: &'static str, v: String| {
        if !v.is_empty() {
            headers.push((name, v));
        }
    };
    push("From", address_list(m.from()));
    push("To", address_list(m.to()));
    push("Cc", address_list(m.cc()));
    let date = date_of(&m);
    push(
        "Date",
        match (date, m.header_raw("Date")) {
            (Some(t), _) => crate::util::format_local(t),
            (None, Some(raw)) => format!("{} (not a valid date)", one_line(raw)),
            (None, None) => String::new(),
        },
    );
    push("Subject", m.subject().map(one_line).unwrap_or_default());
    push(
        "Message-ID",
        m.message_id().map(one_line).unwrap_or_default(),
    );

    let (text, body_kind) = if let Some(t) = m.text_bodies().next().filter(|p| !p.is_text_html()) {
        (
            t.text_contents().unwrap_or_default().to_string(),
            BodyKind::Text,
        )
    } else if m.html_body_count() > 0 {
        (
            m.body_text(0).map(|c| c.into_owned()).unwrap_or_default(),
            BodyKind::Html,
        )
    } else {
        (String::new(), BodyKind::None)
    };
    let body = text.lines().map(stripped).collect::<Vec<_>>();
    let body = trim_blank_edges(body);
    let parts = part_list(&m, top.len(), truncated);
    Preview {
        headers,
        raw_headers,
        body,
        body_kind,
        parts,
        truncated,
        date,
    }
}

fn trim_blank_edges(mut lines: Vec<String>) -> Vec<String> {
    while lines.last().is_some_and(|l| l.trim().is_empty()) {
        lines.pop();
    }
    let first = lines
        .iter()
        .position(|l| !l.trim().is_empty())
        .unwrap_or(lines.len());
    lines.drain(..first);
    lines
}

/// The header block as lines (continuation lines kept as they are).
fn raw_header_lines(top: &[u8]) -> Vec<String> {
    let end = memchr::memmem::find(top, b"\r\n\r\n")
        .or_else(|| memchr::memmem::find(top, b"\n\n"))
        .unwrap_or(top.len());
    top[..end]
        .split(|b| *b == b'\n')
        .map(|l| stripped(&String::from_utf8_lossy(l.strip_suffix(b"\r").unwrap_or(l))))
        .collect()
}

fn part_list(m: &Message<'_>, raw_len: usize, truncated: bool) -> Vec<PartInfo> {
    let mut out = Vec::new();
    walk(m, 0, 0, raw_len, truncated, &mut out);
    out
}

fn walk(
    m: &Message<'_>,
    part_id: usize,
    depth: usize,
    raw_len: usize,
    truncated: bool,
    out: &mut Vec<PartInfo>,
) {
    let Some(part) = m.parts.get(part_id) else {
        return;
    };
    if out.len() > 200 {
        return;
    }
    let content_type = part
        .content_type()
        .map(|ct| match ct.subtype() {
            Some(sub) => format!("{}/{}", ct.ctype(), sub),
            None => ct.ctype().to_string(),
        })
        .unwrap_or_else(|| "text/plain".to_string())
        .to_ascii_lowercase();
    // A part that runs to the end of a cut-off preview was not seen whole.
    let complete = !truncated || (part.offset_end as usize) < raw_len;
    let size = (complete && !part.is_multipart()).then(|| part.len() as u64);
    out.push(PartInfo {
        depth,
        content_type: stripped(&content_type),
        name: part.attachment_name().map(one_line),
        size,
    });
    match &part.body {
        PartType::Multipart(ids) => {
            for id in ids.iter() {
                walk(m, *id as usize, depth + 1, raw_len, truncated, out);
            }
        }
        PartType::Message(inner) => {
            if let Some(first) = inner.parts.first()
                && let PartType::Multipart(ids) = &first.body
            {
                for id in ids.iter() {
                    walk(inner, *id as usize, depth + 1, raw_len, truncated, out);
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {

    /// A nested message/rfc822 part that made mail-parser 0.11 panic
    /// ("Invalid part ID, could not find multipart"), found by the `mail`
    /// fuzz target: the summary and the preview come back empty instead of
    /// the panic ending popdoc.
    #[test]
    fn a_message_that_panics_the_mime_parser_gives_an_empty_summary() {
        let crash = include_bytes!("../fuzz/corpus/mail/nested-rfc822-parser-panic");
        assert_eq!(summarize(crash), Summary::default());
        let p = preview(crash, None);
        assert!(p.parts.is_empty() && p.body.is_empty());
        assert!(p.raw_headers.iter().any(|h| h.starts_with("Subject: fwd")));
        assert!(!crate::util::panic_is_contained());
    }
    use super::*;

    #[test]
    fn summary_of_encoded_words_and_missing_headers() {
        let s = summarize(
            b"From: =?UTF-8?B?w4lsb2TDqWU=?= <elo@example.org>\r\nTo: a@example.com, B <b@example.com>\r\nSubject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?=\r\nDate: Fri, 20 Nov 2026 09:15:00 +0100\r\nMessage-ID: <x@y>\r\n\r\n",
        );
        assert_eq!(s.from, "Élodée");
        assert_eq!(s.from_address.as_deref(), Some("elo@example.org"));
        assert_eq!(s.subject, "Café crème");
        assert_eq!(s.date, Some(1_795_162_500));
        assert_eq!(s.to, "a@example.com, B <b@example.com>");
        assert_eq!(s.message_id.as_deref(), Some("x@y"));

        let s = summarize(b"X-Nothing: here\r\n\r\n");
        assert_eq!(s, Summary::default());
        let s = summarize(b"From: bare@example.net\r\nDate: yesterday-ish\r\n\r\n");
        assert_eq!(s.from, "bare@example.net");
        assert_eq!(s.date, None);
        assert_eq!(summarize(b""), Summary::default());
    }

    #[test]
    fn hostile_bytes_are_made_harmless() {
        let s = summarize(b"Subject: a\x1b[2J\x07b\xff\xfe =?UTF-8?B?4oCuZXZpbA==?=\r\nFrom: \"x\ty\" <\x1b@e>\r\n\r\n");
        assert!(
            !s.subject.chars().any(|c| c.is_control()),
            "{:?}",
            s.subject
        );
        assert!(!s.subject.contains('\u{202E}'));
        assert!(!s.from.chars().any(|c| c.is_control()));
        assert_eq!(one_line("a\r\n  b\t c"), "a b c");
    }

    #[test]
    fn preview_of_multipart_with_html_only_and_cut_attachment() {
        let msg = b"From: A <a@example.org>\r\nSubject: s\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\nContent-Type: text/html\r\n\r\n<p>Hello <b>world</b></p><p>Second&amp;para</p>\r\n--XX\r\nContent-Type: application/pdf; name=\"r.pdf\"\r\nContent-Disposition: attachment; filename=\"r.pdf\"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\nJVBERi0xLjQK\r\n";
        let p = preview(msg, Some(10_000));
        assert!(p.truncated);
        assert_eq!(p.body_kind, BodyKind::Html);
        let text = p.body.join("\n");
        assert!(text.contains("Hello world"), "{text}");
        assert!(text.contains("Second&para"), "{text}");
        assert!(!text.contains("<p>"));
        let pdf = p
            .parts
            .iter()
            .find(|x| x.content_type == "application/pdf")
            .unwrap();
        assert_eq!(pdf.name.as_deref(), Some("r.pdf"));
        assert_eq!(pdf.size, None, "cut off by TOP: size unknown");
        let html = p
            .parts
            .iter()
            .find(|x| x.content_type == "text/html")
            .unwrap();
        assert!(html.size.is_some());
        assert_eq!(p.parts[0].content_type, "multipart/mixed");
        assert_eq!(p.headers[0], ("From", "A <a@example.org>".to_string()));
        assert!(
            p.raw_headers
                .iter()
                .any(|l| l.starts_with("Content-Type: multipart/mixed"))
        );
    }

    #[test]
    fn preview_of_plain_text_and_garbage() {
        let p = preview(
            b"Subject: hi\r\nDate: not a date\r\n\r\n\r\nline 1\r\nline\x1b 2\r\n\r\n",
            Some(40),
        );
        assert_eq!(p.body, ["line 1", "line 2"]);
        assert!(!p.truncated);
        assert!(
            p.headers
                .iter()
                .any(|(k, v)| *k == "Date" && v.contains("not a valid date"))
        );
        let p = preview(&[0xff; 100], None);
        assert!(p.body.len() <= 1);
        let p = preview(b"", None);
        assert!(p.headers.is_empty());
    }
}
