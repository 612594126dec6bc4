//! End to end: the real binary in a real terminal (tmux), against
//! `popdoc demo` and against Dovecot. Open, wait for all headers, sort by
//! size, save the largest (bytes compared with the stored file), mark two
//! messages, commit, and check that exactly those two are gone; and that
//! quitting with marks, "leave without deleting", deletes nothing. At 80
//! and 200 columns: rows appearing reply by reply on a slow server, `q`
//! closing the preview, a saved file's whole path; and the exit status
//! after a session that could not connect.

use std::path::{Path, PathBuf};

use crate::support::dovecot::Dovecot;
use crate::support::mailgen;
use crate::support::tmux::{Tmux, selected_line};

const BIN: &str = env!("CARGO_BIN_EXE_popdoc");

fn all_headers_loaded(count: usize) -> impl Fn(&str) -> bool {
    move |s: &str| s.contains(&format!("{count} msgs")) && !s.contains("headers ")
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn only_file(dir: &Path) -> PathBuf {
    let f = files(dir);
    assert_eq!(f.len(), 1, "one saved file: {f:?}");
    dir.join(&f[0])
}

/// Sort by size, largest first, select it and save it; returns the screen.
fn save_largest(t: &Tmux, largest_size: &str) {
    t.keys(&["o", "O"]);
    t.wait_for("the size sort, largest first", 10, |s| s.contains("Size▼"));
    t.keys(&["g"]);
    let s = t.screen();
    let line = selected_line(&s).unwrap_or_else(|| panic!("no selected row:\n{s}"));
    assert!(
        line.contains(largest_size),
        "the largest is on top: {line}\n{s}"
    );
    t.keys(&["s"]);
    t.wait_for("the save to finish", 60, |s| s.contains(" saved "));
    // Back to number order.
    t.keys(&["O", "o", "o", "o", "o"]);
    t.wait_for("number order", 10, |s| s.contains("#▲"));
}

/// Marks #1 and #3, commits, and waits for the server's confirmation.
fn mark_two_and_commit(t: &Tmux) {
    t.keys(&["g", "d", "j", "d"]);
    t.wait_for("two marks", 10, |s| s.contains("marked 2"));
    t.keys(&["c"]);
    let s = t.wait_for("the commit dialog", 10, |s| s.contains("Delete messages?"));
    assert!(s.contains("#1 ") && s.contains("#3 "), "{s}");
    t.keys(&["y"]);
    t.wait_for("the commit", 30, |s| s.contains("deleted 2 messages"));
}

fn leave_without_deleting(t: &Tmux) {
    t.keys(&["g", "d", "d"]);
    t.wait_for("two marks", 10, |s| s.contains("marked 2"));
    t.keys(&["q"]);
    t.wait_for("the quit dialog", 10, |s| {
        s.contains("leave without deleting")
    });
    t.keys(&["l"]);
    assert_eq!(t.wait_exit(20), 0);
}

#[test]
fn demo_save_mark_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let (mailbox, saves) = (tmp.path().join("mailbox"), tmp.path().join("saves"));
    let cmd = format!(
        "{BIN} demo --mailbox-dir {} --save-dir {}",
        mailbox.display(),
        saves.display()
    );
    let Some(t) = Tmux::start(&cmd, &[], 120, 40) else {
        return;
    };
    t.wait_for("all 40 headers", 30, all_headers_loaded(40));
    let before = files(&mailbox);
    assert_eq!(before.len(), 40);

    save_largest(&t, "6.3 MB");
    let saved = std::fs::read(only_file(&saves)).unwrap();
    let stored = std::fs::read(mailbox.join(&before[8])).unwrap();
    assert!(before[8].starts_with("09-"), "{}", before[8]);
    assert!(
        saved == stored,
        "the saved file is the stored message, byte for byte"
    );
    assert!(
        t.screen()
            .lines()
            .any(|l| l.contains(" S ") && l.contains("6.3 MB")),
        "S flag shown"
    );

    // After the marks (d moves on) the cursor is on #4, The Patch Ledger.
    mark_two_and_commit(&t);
    let after = files(&mailbox);
    let gone: Vec<&String> = before.iter().filter(|f| !after.contains(f)).collect();
    assert_eq!(gone.len(), 2, "{gone:?}");
    assert!(
        gone[0].starts_with("01-") && gone[1].starts_with("03-"),
        "{gone:?}"
    );
    let s = t.wait_for("the new listing", 20, |s| s.contains("38 msgs"));
    // The same message stays selected, although the server numbers it 2.
    let line = selected_line(&s).unwrap();
    assert!(
        line.starts_with(">    2 ") && line.contains("The Patch Ledger"),
        "the same message is selected: {line}\n{s}"
    );
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(20), 0);
}

#[test]
fn demo_quit_leaving_without_deleting_deletes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let mailbox = tmp.path().join("mailbox");
    let cmd = format!("{BIN} demo --mailbox-dir {}", mailbox.display());
    let Some(t) = Tmux::start(&cmd, &[], 100, 30) else {
        return;
    };
    t.wait_for("all 40 headers", 30, all_headers_loaded(40));
    leave_without_deleting(&t);
    assert_eq!(files(&mailbox).len(), 40);
}

/// Message-file identities that survive Dovecot's renames (new/ → cur/).
fn ids(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .split(':')
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

fn dovecot_session(d: &Dovecot, user: &str, saves: &Path) -> Option<Tmux> {
    let cmd = format!(
        "{BIN} pop3s://{user}@127.0.0.1:{} --ca-file {} --save-dir {}",
        d.pop3s_port(),
        d.ca_file().display(),
        saves.display()
    );
    Tmux::start(&cmd, &[("POPDOC_PASSWORD", "E2e-Pass-1")], 120, 40)
}

#[test]
fn dovecot_save_mark_commit() {
    let Some(d) = Dovecot::start() else { return };
    let u = d.add_user("e2e", "E2e-Pass-1");
    let msgs = mailgen::mailbox(30, 21);
    let bytes: Vec<&[u8]> = msgs.iter().map(|m| m.bytes.as_slice()).collect();
    u.store(&bytes);
    let largest = (0..30).max_by_key(|&i| msgs[i].bytes.len()).unwrap();
    let largest_size = popdoc::util::human_size(msgs[largest].bytes.len() as u64);
    let tmp = tempfile::tempdir().unwrap();
    let Some(t) = dovecot_session(&d, "e2e", tmp.path()) else {
        return;
    };
    t.wait_for("all 30 headers", 30, all_headers_loaded(30));
    let before = ids(&u.message_files());

    save_largest(&t, &largest_size);
    let saved = std::fs::read(only_file(tmp.path())).unwrap();
    assert!(
        saved == msgs[largest].bytes,
        "the saved file is the stored message"
    );

    mark_two_and_commit(&t);
    let after = ids(&u.message_files());
    assert_eq!(after.len(), 28);
    let gone: Vec<&String> = before.iter().filter(|f| !after.contains(f)).collect();
    assert_eq!(
        gone,
        [&before[0], &before[2]],
        "exactly messages 1 and 3 are gone"
    );
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(20), 0);
}

#[test]
fn dovecot_quit_leaving_without_deleting_deletes_nothing() {
    let Some(d) = Dovecot::start() else { return };
    let u = d.add_user("e2e", "E2e-Pass-1");
    let msgs: Vec<Vec<u8>> = mailgen::mailbox(12, 5)
        .into_iter()
        .map(|m| m.bytes)
        .collect();
    u.store(&msgs);
    let tmp = tempfile::tempdir().unwrap();
    let Some(t) = dovecot_session(&d, "e2e", tmp.path()) else {
        return;
    };
    t.wait_for("all 12 headers", 30, all_headers_loaded(12));
    leave_without_deleting(&t);
    assert_eq!(u.message_files().len(), 12, "nothing deleted");
}

#[test]
fn dovecot_password_typed_in_the_interface() {
    let Some(d) = Dovecot::start() else { return };
    let u = d.add_user("typed", "Typed-Pass-9");
    u.store(&[mailgen::mailbox(1, 2)[0].bytes.clone()]);
    let tmp = tempfile::tempdir().unwrap();
    let cmd = format!(
        "{BIN} pop3s://typed@127.0.0.1:{} --ca-file {} --save-dir {}",
        d.pop3s_port(),
        d.ca_file().display(),
        tmp.path().display()
    );
    let Some(t) = Tmux::start(&cmd, &[("POPDOC_PASSWORD", "")], 100, 30) else {
        return;
    };
    t.wait_for("the password dialog", 20, |s| {
        s.contains("Password for typed@127.0.0.1")
    });
    t.keys(&["-l", "wrong-one", "Enter"]);
    let s = t.wait_for("the refusal", 30, |s| {
        s.contains("[AUTH]") && s.contains("Password for")
    });
    assert!(
        !s.contains("wrong-one"),
        "the password is never shown:\n{s}"
    );
    t.keys(&["-l", "Typed-Pass-9"]);
    let s = t.screen();
    assert!(
        s.contains("************") && !s.contains("Typed-Pass-9"),
        "{s}"
    );
    t.keys(&["Enter"]);
    t.wait_for("the list", 30, all_headers_loaded(1));
    t.keys(&["q"]);
    assert_eq!(t.wait_exit(20), 0);
}

/// The status lines (above the key hints) joined, without the spaces the
/// wrapping put in or took out.
fn status_text(screen: &str, lines: usize) -> String {
    let rows: Vec<&str> = screen.lines().collect();
    let end = rows.len().saturating_sub(1);
    rows[end.saturating_sub(lines)..end]
        .iter()
        .map(|l| l.trim())
        .collect::<String>()
        .replace(' ', "")
}

#[test]
fn demo_slow_rows_arrive_one_by_one_and_q_closes_the_preview() {
    for (w, h) in [(80, 24), (200, 50)] {
        let tmp = tempfile::tempdir().unwrap();
        let saves = tmp.path().join("a-folder-named-by-the-user");
        let cmd = format!("{BIN} demo --slow --save-dir {}", saves.display());
        let Some(t) = Tmux::start(&cmd, &[], w, h) else {
            return;
        };
        // About 150 ms a reply: the counter moves before the end.
        let s = t.wait_for("headers arriving one by one", 30, |s| {
            (1..40).any(|k| s.contains(&format!("headers {k}/40")))
        });
        assert!(s.contains("40 msgs"), "{s}");
        t.wait_for("all 40 headers", 60, all_headers_loaded(40));

        t.keys(&["j", "Enter"]);
        t.wait_for("the preview", 20, |s| s.contains("── text"));
        t.keys(&["q"]);
        let s = t.wait_for("the preview to close", 10, |s| !s.contains("── text"));
        assert!(
            !s.contains("POPDOC-EXIT"),
            "q in the preview does not quit:\n{s}"
        );

        t.keys(&["s"]);
        let s = t.wait_for("the save", 60, |s| s.contains(" saved to "));
        let file = only_file(&saves);
        let shown = status_text(&s, 4);
        assert!(
            shown.contains(&file.display().to_string().replace(' ', "")),
            "the whole path of {} at {w} columns:\n{s}",
            file.display()
        );
        t.keys(&["q"]);
        assert_eq!(t.wait_exit(20), 0);
    }
}

#[test]
fn the_tui_exits_non_zero_when_it_could_not_connect() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for (w, h) in [(80, 24), (200, 50)] {
        let cmd = format!("{BIN} pop3s://nobody@127.0.0.1:{port}");
        let Some(t) = Tmux::start(&cmd, &[("POPDOC_PASSWORD", "unused")], w, h) else {
            return;
        };
        t.wait_for("the failure", 30, |s| s.contains("✗"));
        t.keys(&["q"]);
        let code = t.wait_exit(20);
        assert_ne!(code, 0, "{}", t.screen());
        let s = t.screen();
        assert!(s.contains("popdoc: the session failed: "), "{s}");
    }
}
