//! Checks the demo mailbox shipped in `assets/demo/`: that every file is a
//! CRLF message mail-parser can read, and that the variety `popdoc demo` and
//! the README promise (charsets, HTML, big attachments, broken headers) is
//! really there. It reads the files only; it must not rewrite them.

use std::path::{Path, PathBuf};

use mail_parser::{Message, MessageParser, MimeHeaders};

const MB: u64 = 1024 * 1024;

struct DemoFile {
    name: String,
    raw: Vec<u8>,
}

fn demo_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/demo")
}

fn demo_files() -> Vec<DemoFile> {
    let mut names: Vec<String> = std::fs::read_dir(demo_dir())
        .expect("assets/demo exists")
        .map(|entry| entry.expect("readable dir entry").file_name())
        .map(|name| name.into_string().expect("UTF-8 file name"))
        .filter(|name| name.ends_with(".eml"))
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let raw = std::fs::read(demo_dir().join(&name)).expect("readable .eml");
            DemoFile { name, raw }
        })
        .collect()
}

fn parse(file: &DemoFile) -> Message<'_> {
    MessageParser::default()
        .parse(&file.raw)
        .unwrap_or_else(|| panic!("{} does not parse", file.name))
}

/// Content types of every MIME part, including parts of attached messages.
fn all_content_types(message: &Message<'_>, out: &mut Vec<String>) {
    for part in &message.parts {
        if let Some(ct) = part.content_type() {
            out.push(format!(
                "{}/{}",
                ct.ctype().to_ascii_lowercase(),
                ct.subtype().unwrap_or("").to_ascii_lowercase()
            ));
        }
        if let Some(inner) = part.message() {
            all_content_types(inner, out);
        }
    }
}

#[test]
fn file_names_are_numbered_in_pop3_order() {
    let files = demo_files();
    assert!(
        (35..=45).contains(&files.len()),
        "expected 35-45 demo messages, found {}",
        files.len()
    );
    for (i, file) in files.iter().enumerate() {
        let prefix = format!("{:02}-", i + 1);
        assert!(
            file.name.starts_with(&prefix) && file.name.len() > prefix.len() + ".eml".len(),
            "{} should be named {prefix}<slug>.eml",
            file.name
        );
    }
}

#[test]
fn readme_lists_every_message() {
    let readme = std::fs::read_to_string(demo_dir().join("README.md")).expect("README.md");
    for file in demo_files() {
        assert!(
            readme.contains(&file.name),
            "assets/demo/README.md does not mention {}",
            file.name
        );
    }
}

#[test]
fn every_line_ends_in_crlf() {
    for file in demo_files() {
        let raw = &file.raw;
        assert!(raw.ends_with(b"\r\n"), "{} must end in CRLF", file.name);
        for (i, &byte) in raw.iter().enumerate() {
            match byte {
                b'\n' => assert!(
                    i > 0 && raw[i - 1] == b'\r',
                    "{}: bare LF at byte {i}",
                    file.name
                ),
                b'\r' => assert!(
                    raw.get(i + 1) == Some(&b'\n'),
                    "{}: bare CR at byte {i}",
                    file.name
                ),
                _ => {}
            }
        }
    }
}

#[test]
fn every_message_parses_with_a_sender_and_a_body() {
    for file in demo_files() {
        let message = parse(&file);
        let from = message
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address());
        assert!(
            from.is_some_and(|a| a.contains('@')),
            "{}: no From address",
            file.name
        );
        let has_body = message.body_text(0).is_some_and(|t| !t.trim().is_empty());
        assert!(has_body, "{}: no readable body", file.name);
    }
}

#[test]
fn subjects_use_many_charsets() {
    let files = demo_files();
    let non_ascii: Vec<String> = files
        .iter()
        .filter_map(|f| parse(f).subject().map(str::to_owned))
        .filter(|s| !s.is_ascii())
        .collect();
    assert!(
        non_ascii.len() >= 5,
        "only {} non-ASCII subjects: {non_ascii:?}",
        non_ascii.len()
    );
    // Decoding must have happened: no encoded-word left in a well-formed subject.
    let leftover = non_ascii.iter().filter(|s| s.contains("=?")).count();
    assert!(leftover <= 1, "undecoded encoded-words in {non_ascii:?}");
    // The charsets named in raw headers cover more than UTF-8.
    let all_raw: String = files
        .iter()
        .map(|f| String::from_utf8_lossy(&f.raw).to_ascii_lowercase())
        .collect();
    for charset in [
        "=?utf-8?b?",
        "=?utf-8?q?",
        "=?iso-8859-1?q?",
        "=?iso-8859-15?q?",
        "=?windows-1252?q?",
        "=?koi8-r?b?",
        "=?iso-2022-jp?b?",
        "=?gb2312?b?",
        "=?big5?b?",
    ] {
        assert!(all_raw.contains(charset), "no {charset} encoded-word");
    }
}

#[test]
fn html_only_and_alternative_messages_exist() {
    let files = demo_files();
    let html_only = files
        .iter()
        .filter(|f| parse(f).is_content_type("text", "html"))
        .count();
    assert!(html_only >= 1, "no text/html-only message");
    let alternative = files
        .iter()
        .filter(|f| parse(f).is_content_type("multipart", "alternative"))
        .count();
    assert!(alternative >= 1, "no multipart/alternative message");
}

#[test]
fn structural_variety_exists() {
    let mut types = Vec::new();
    for file in demo_files() {
        all_content_types(&parse(&file), &mut types);
    }
    for wanted in [
        "multipart/report",
        "message/delivery-status",
        "message/rfc822",
        "text/calendar",
        "text/csv",
        "image/png",
        "application/pdf",
    ] {
        assert!(
            types.iter().any(|t| t == wanted),
            "no {wanted} part anywhere"
        );
    }
}

#[test]
fn sizes_include_a_few_large_messages_within_budget() {
    let files = demo_files();
    let sizes: Vec<u64> = files.iter().map(|f| f.raw.len() as u64).collect();
    let large = sizes.iter().filter(|&&s| s >= MB).count();
    assert!(large >= 3, "only {large} messages of 1 MiB or more");
    assert!(
        sizes.iter().any(|&s| s >= 5 * MB),
        "no message of 5 MiB or more"
    );
    let total: u64 = sizes.iter().sum();
    assert!(total <= 12_000_000, "demo mailbox is {total} bytes");
    let small = sizes.iter().filter(|&&s| s < 16 * 1024).count();
    assert!(
        small + large == files.len(),
        "every message is either small or deliberately large"
    );
}

#[test]
fn attachments_have_names() {
    let files = demo_files();
    let mut named = Vec::new();
    for file in &files {
        let message = parse(file);
        named.extend(
            message
                .attachments()
                .filter_map(|a| a.attachment_name().map(str::to_owned)),
        );
    }
    for expected in [".pdf", ".csv", ".ics", ".png", ".mp4", ".JPG", ".eml"] {
        assert!(
            named.iter().any(|n| n.ends_with(expected)),
            "no attachment named *{expected} in {named:?}"
        );
    }
}

#[test]
fn missing_and_broken_headers_are_present() {
    let files = demo_files();
    let parsed: Vec<_> = files.iter().map(|f| (f, parse(f))).collect();
    assert!(
        parsed.iter().any(|(_, m)| m.subject().is_none()),
        "no message without Subject"
    );
    assert!(
        parsed
            .iter()
            .any(|(f, m)| m.date().is_none() && !contains(&f.raw, b"\r\nDate:")),
        "no message without a Date header"
    );
    assert!(
        parsed.iter().any(|(_, m)| m.message_id().is_none()),
        "no message without Message-ID"
    );
    assert!(
        parsed
            .iter()
            .any(|(_, m)| m.date().is_some_and(|d| !d.is_valid())),
        "no message with an impossible Date"
    );
    assert!(
        files.iter().any(|f| header_block(&f.raw)
            .split(|&b| b == b'\n')
            .any(|line| !line.is_ascii())),
        "no raw 8-bit byte in any header"
    );
}

#[test]
fn dates_fall_in_the_three_weeks_before_the_demo_day() {
    // 2026-10-29T00:00:00Z ..= 2026-11-21T00:00:00Z
    let (earliest, latest) = (1_793_232_000_i64, 1_795_219_200_i64);
    let mut zones = std::collections::BTreeSet::new();
    for file in demo_files() {
        let message = parse(&file);
        let Some(date) = message.date().filter(|d| d.is_valid()) else {
            continue;
        };
        let ts = date.to_timestamp();
        assert!(
            (earliest..=latest).contains(&ts),
            "{}: date {} outside the demo window",
            file.name,
            date.to_rfc3339()
        );
        zones.insert((date.tz_before_gmt, date.tz_hour, date.tz_minute));
    }
    assert!(zones.len() >= 5, "only {} time zones used", zones.len());
}

#[test]
fn message_ids_are_unique() {
    let files = demo_files();
    let mut ids: Vec<String> = files
        .iter()
        .filter_map(|f| parse(f).message_id().map(str::to_owned))
        .collect();
    let count = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), count, "duplicate Message-IDs");
}

#[test]
fn some_body_lines_need_dot_stuffing() {
    let files = demo_files();
    let lone_dot = files.iter().any(|f| contains(&f.raw, b"\r\n.\r\n"));
    assert!(lone_dot, "no body line that is exactly \".\"");
    let dotted = files
        .iter()
        .filter(|f| contains(&f.raw, b"\r\n..") || contains(&f.raw, b"\r\n.h"))
        .count();
    assert!(dotted >= 1, "no body lines starting with '.'");
}

fn header_block(raw: &[u8]) -> &[u8] {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(raw.len());
    &raw[..end]
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}
