//! Tests of the text report: sections, wrapping, no escapes; and the wide
//! report that the app's tests use too.

use super::*;
use crate::report::{Problem, Step};

#[test]
fn marks_control_characters() {
    assert_eq!(marked("ok\x1b[31m\x07"), "ok?[31m?");
}

#[test]
fn failure_report_has_every_section_and_no_escapes() {
    let mut r = Report::new(
        Protocol::Pop3,
        Source::Check,
        "pop3s://a@h",
        "2026-01-01T00:00:00Z".into(),
    );
    r.server.greeting = Some("+OK hi \u{1b}[2J".into());
    let mut p = Problem::new(
        Severity::Error,
        Some(Step::Login),
        "login failed: -ERR [IN-USE] x",
    );
    p.response_code = Some("IN-USE".into());
    p.explanation = Some("another client holds the mailbox lock".into());
    r.problem(p);
    r.fail(Some(Step::Login), "login failed: -ERR [IN-USE] x");
    let t = render(&r, Some(78));
    assert!(t.contains("FAILED at login (exit status 4)"), "{t}");
    assert!(
        t.contains("[IN-USE] means: another client holds the mailbox lock"),
        "{t}"
    );
    assert!(t.contains("\nServer\n"), "{t}");
    assert!(!t.contains('\x1b'));
    assert!(t.lines().all(|l| l.chars().count() <= 78 + 10), "{t}");
}

/// A report from a session with long UIDLs in the Largest table and
/// long sentences, as the TUI's `i` shows.
pub(crate) fn wide_report() -> Report {
    use crate::report::{MailboxInfo, MessageInfo};
    let mut r = Report::new(
        Protocol::Pop3,
        Source::Session,
        "pop3s://ann@mail.example.org",
        "2026-01-01T00:00:00Z".into(),
    );
    r.mailbox = Some(MailboxInfo {
        messages: 3,
        total_bytes: 3_000_000,
        largest: (1..=3)
            .map(|n| MessageInfo {
                number: n,
                size: 1_000_000 * u64::from(n),
                uidl: Some(format!(
                    "{n}7ea8182e3dc7a5ac80948a5c0e1f2d3b4a5968778695a4b3c2d1e0f1a2b3c4d5e"
                )),
            })
            .collect(),
        ..Default::default()
    });
    r.problem(Problem::new(
        Severity::Warning,
        Some(Step::Login),
        "the connection is not encrypted (--plaintext): the password crossed the network readable by anyone on the way",
    ));
    r
}

fn words(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

#[test]
fn wraps_to_the_width_given_and_loses_no_word() {
    let r = wide_report();
    let flat = render(&r, None);
    for width in [70, 80, 150] {
        let t = render(&r, Some(width));
        assert_eq!(words(&t), words(&flat), "width {width}:\n{t}");
        for line in t.lines() {
            // Only a single word longer than the width may overflow.
            assert!(
                line.chars().count() <= width || !line.trim().contains(' '),
                "width {width}: {line:?}"
            );
        }
    }
    // At 150 columns each row of the Largest table is one line.
    let t = render(&r, Some(150));
    for n in 1..=3 {
        let row = t.lines().find(|l| l.contains(&format!("#{n} "))).unwrap();
        assert!(row.contains(&format!("UIDL {n}7ea8182e3dc7a5ac")), "{t}");
        assert!(row.ends_with("3c4d5e"), "{t}");
    }
    // At 70 the source line wraps between words, not through them.
    let t = render(&r, Some(70));
    assert!(t.contains("figures as"), "{t}");
    assert!(
        t.lines()
            .all(|l| l.chars().count() <= 70 || !l.trim().contains(' ')),
        "{t}"
    );
}

#[test]
fn unwrapped_output_keeps_each_value_on_one_line() {
    let t = render(&wide_report(), None);
    assert!(
        t.lines().any(|l| l.contains(
            "the connection is not encrypted (--plaintext): the password crossed the network readable by anyone on the way"
        )),
        "{t}"
    );
    assert!(
        t.lines()
            .any(|l| l.contains("(no new connection; figures as recorded so far)"))
    );
}
