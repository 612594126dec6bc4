//! A real-server test that cannot run says so in the default `cargo test`
//! output (not only with `--nocapture`), in one line, and fails instead when
//! its `POPDOC_REQUIRE_*` variable is `1`. Each harness is tried in a child
//! run of this test binary with its server made unavailable.

use std::process::{Command, Output};

use crate::support::dovecot::Dovecot;
use crate::support::mailutils::Mailutils;
use crate::support::smtp::SmtpServer;
use crate::support::tmux::Tmux;

#[test]
#[ignore = "run as a child by every_skip_is_a_note_in_the_default_output"]
fn child_dovecot() {
    assert!(Dovecot::start().is_none());
    assert!(Dovecot::start().is_none(), "a second skip adds no line");
}

#[test]
#[ignore = "run as a child by every_skip_is_a_note_in_the_default_output"]
fn child_smtp() {
    assert!(SmtpServer::start().is_none());
}

#[test]
#[ignore = "run as a child by every_skip_is_a_note_in_the_default_output"]
fn child_tmux() {
    assert!(Tmux::start("true", &[], 80, 24).is_none());
}

#[test]
#[ignore = "run as a child by every_skip_is_a_note_in_the_default_output"]
fn child_keyring() {
    assert!(!crate::support::skip::keyring_tools());
}

#[test]
#[ignore = "run as a child by every_skip_is_a_note_in_the_default_output"]
fn child_mailutils() {
    assert!(Mailutils::start().is_none());
}

const REQUIRE: [&str; 5] = [
    "POPDOC_REQUIRE_DOVECOT",
    "POPDOC_REQUIRE_SMTP",
    "POPDOC_REQUIRE_TMUX",
    "POPDOC_REQUIRE_KEYRING",
    "POPDOC_REQUIRE_MAILUTILS",
];

/// This test binary running one child test, without `--nocapture`.
fn child(name: &str, env: &[(&str, &str)], require: Option<&str>) -> (Output, String) {
    let mut c = Command::new(std::env::current_exe().unwrap());
    c.args([name, "--exact", "--ignored", "--test-threads=1"]);
    for v in REQUIRE {
        c.env_remove(v);
    }
    c.envs(env.iter().copied());
    if let Some(v) = require {
        c.env(v, "1");
    }
    let out = c.output().unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, all)
}

#[test]
fn every_skip_is_a_note_in_the_default_output() {
    let empty = tempfile::tempdir().unwrap();
    let no_path = empty.path().to_str().unwrap();
    let cases: [(&str, (&str, &str), &str, &str); 5] = [
        (
            "skip_offline::child_dovecot",
            ("POPDOC_DOVECOT_BIN", "/nonexistent/dovecot"),
            "POPDOC_REQUIRE_DOVECOT",
            "note: real-server (Dovecot) tests skipped: POPDOC_DOVECOT_BIN=/nonexistent/dovecot is not a file (set POPDOC_REQUIRE_DOVECOT=1 to make this an error)",
        ),
        (
            "skip_offline::child_smtp",
            ("POPDOC_EXIM_BIN", "/nonexistent/exim4"),
            "POPDOC_REQUIRE_SMTP",
            "note: real-server (SMTP/Exim) tests skipped: POPDOC_EXIM_BIN=/nonexistent/exim4 is not a file (set POPDOC_REQUIRE_SMTP=1 to make this an error)",
        ),
        (
            "skip_offline::child_tmux",
            ("PATH", no_path),
            "POPDOC_REQUIRE_TMUX",
            "note: terminal end-to-end tests skipped: tmux not found or not working (install tmux) (set POPDOC_REQUIRE_TMUX=1 to make this an error)",
        ),
        (
            "skip_offline::child_keyring",
            ("PATH", no_path),
            "POPDOC_REQUIRE_KEYRING",
            "note: keyring round trip test skipped: dbus-run-session not found in PATH (install dbus-daemon and gnome-keyring) (set POPDOC_REQUIRE_KEYRING=1 to make this an error)",
        ),
        (
            "skip_offline::child_mailutils",
            ("POPDOC_MAILUTILS_BIN", "/nonexistent/pop3d"),
            "POPDOC_REQUIRE_MAILUTILS",
            "note: real-server (GNU Mailutils) tests skipped: POPDOC_MAILUTILS_BIN=/nonexistent/pop3d is not a file (set POPDOC_REQUIRE_MAILUTILS=1 to make this an error)",
        ),
    ];
    for (name, env, require, note) in cases {
        let (out, all) = child(name, &[env], None);
        assert!(out.status.success(), "{name}: {all}");
        assert!(
            all.contains(&format!("test {name} ... ok")),
            "{name} ran: {all}"
        );
        let lines: Vec<&str> = all.lines().filter(|l| l.starts_with("note:")).collect();
        assert_eq!(lines, [note], "{name}: {all}");

        let (out, all) = child(name, &[env], Some(require));
        assert!(!out.status.success(), "{name} with {require}=1: {all}");
        assert!(
            all.contains(&format!("{require}=1 but the ")),
            "{name}: {all}"
        );
    }
}
