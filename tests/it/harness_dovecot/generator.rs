//! The message generator (`support::mailgen`) checked against mail-parser:
//! deterministic, varied, CRLF only, and the big message streamed exactly.
//! Like the rest of the harness tests, it must not use popdoc's POP3 code.
use super::*;

#[test]
fn mailgen_expectations_match_mail_parser() {
    let messages = mailgen::mailbox(4 * KINDS.len(), 11);
    let parser = mail_parser::MessageParser::default();
    for (i, m) in messages.iter().enumerate() {
        let ctx = format!("message {i} ({})", m.kind);
        let parsed = parser.parse(&m.bytes[..]).expect(&ctx);
        assert_eq!(parsed.message_id(), Some(m.message_id.as_str()), "{ctx}");
        assert_eq!(parsed.subject(), m.subject.as_deref(), "{ctx}");
        let from = parsed
            .from()
            .and_then(|a| a.first())
            .map(|a| a.name().or(a.address()).unwrap_or_default().to_owned());
        assert_eq!(from, m.from, "{ctx}");
        assert_eq!(parsed.date().map(|d| d.to_timestamp()), m.date, "{ctx}");
    }
}

#[test]
fn mailgen_is_deterministic_varied_and_crlf() {
    let start = std::time::Instant::now();
    let a = mailgen::mailbox(1000, 99);
    let took = start.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "generating 1000 messages took {took:?}"
    );
    let b = mailgen::mailbox(1000, 99);
    assert!(a.iter().zip(&b).all(|(x, y)| x.bytes == y.bytes));
    let c = mailgen::mailbox(10, 100);
    assert!(a.iter().zip(&c).all(|(x, y)| x.bytes != y.bytes));

    let mut ids: Vec<&str> = a.iter().map(|m| m.message_id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 1000);
    for kind in KINDS {
        assert!(a.iter().any(|m| m.kind == *kind), "{kind} missing");
    }
    let sizes: Vec<usize> = a.iter().map(|m| m.bytes.len()).collect();
    assert!(sizes.iter().any(|&s| s < 1000), "no small message");
    assert!(sizes.iter().any(|&s| s > 100_000), "no large message");
    assert!(sizes.iter().all(|&s| s < 250_000), "too large");
    for m in &a {
        assert_crlf_only(&m.bytes, m.kind);
        assert!(m.bytes.ends_with(b"\r\n"), "{}", m.kind);
    }
    let dots = a.iter().find(|m| m.kind == "dot-lines").unwrap();
    for line in [&b"\r\n.\r\n"[..], b"\r\n..\r\n", b"\r\n.hidden\r\n"] {
        assert!(memchr::memmem::find(&dots.bytes, line).is_some());
    }
    let latin1 = a.iter().find(|m| m.kind == "latin1-8bit-body").unwrap();
    assert!(
        std::str::from_utf8(&latin1.bytes).is_err(),
        "raw Latin-1 expected"
    );
}

#[test]
fn big_message_is_exact_valid_and_streamed() {
    for size in [4096u64, 100_000, 1_234_567] {
        let mut out = Vec::new();
        let n = mailgen::write_big_message(&mut out, size, 3).unwrap();
        assert_eq!(n, size);
        assert_eq!(out.len() as u64, size);
        assert_crlf_only(&out, "big");
        assert!(
            out.split(|&b| b == b'\n').all(|l| l.len() <= 1000),
            "line over 998"
        );
        for line in [
            &b"\r\n.\r\n"[..],
            b"\r\n..\r\n",
            b"\r\n.starts",
            b"\r\n..starts",
        ] {
            assert!(memchr::memmem::find(&out, line).is_some(), "{size}");
        }
        assert!(out.iter().any(|&b| b >= 0x80), "8-bit bytes");
        let parsed = mail_parser::MessageParser::default()
            .parse(&out[..])
            .unwrap();
        assert_eq!(
            parsed.subject(),
            Some(format!("Big message of {size} bytes").as_str())
        );
        assert_eq!(parsed.attachment_count(), 1, "{size}");
    }
    let mut again = Vec::new();
    mailgen::write_big_message(&mut again, 100_000, 3).unwrap();
    let mut first = Vec::new();
    mailgen::write_big_message(&mut first, 100_000, 3).unwrap();
    assert_eq!(again, first);
}

fn assert_crlf_only(bytes: &[u8], what: &str) {
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' {
            assert!(i > 0 && bytes[i - 1] == b'\r', "bare LF at {i} in {what}");
        }
        if b == b'\r' {
            assert_eq!(bytes.get(i + 1), Some(&b'\n'), "bare CR at {i} in {what}");
        }
    }
}

#[test]
fn bigbox_messages_show_their_subject_and_number() {
    use crate::support::bigbox;
    let parser = mail_parser::MessageParser::default();
    for i in [1, 2, 99, 100_000] {
        let mut bytes = Vec::new();
        bigbox::write_message(&mut bytes, i).unwrap();
        assert!(bytes.len() < 600, "small: {} bytes", bytes.len());
        assert!(
            !String::from_utf8_lossy(&bytes)
                .replace("\r\n", "")
                .contains('\n')
        );
        let parsed = parser.parse(&bytes[..]).unwrap();
        assert_eq!(parsed.subject(), Some(bigbox::subject(i).as_str()));
        assert_eq!(
            parsed.message_id(),
            Some(format!("{i}.bench@popdoc.test").as_str())
        );
        assert!(parsed.date().is_some(), "message {i} has a valid Date");
    }
}

#[test]
fn bigbox_store_gives_numbers_in_order_with_their_subjects() {
    use crate::support::bigbox;
    let Some(d) = Dovecot::start() else { return };
    let u = d.add_user("bigbox", "Big-Box-1");
    bigbox::store(&u, 300);
    let octets: u64 = (1..=300)
        .map(|i| {
            let mut v = Vec::new();
            bigbox::write_message(&mut v, i).unwrap();
            v.len() as u64
        })
        .sum();
    let mut p = login(&d, &u);
    assert_eq!(stat(&mut p), (300, octets));
    for i in [1, 2, 150, 300] {
        let headers = p.multi(&format!("TOP {i} 0"));
        assert_eq!(
            header_value(&headers, "Subject"),
            Some(bigbox::subject(i)),
            "message {i}"
        );
    }
    p.cmd_ok("QUIT");
}
