//! Local faults, end to end in a real terminal (tmux): `popdoc demo` and
//! the TUI on the built-in server ended by SIGTERM, SIGHUP and a closed
//! window. Each must end the process with the terminal restored (raw mode
//! off, the alternate screen left), its temporary mailbox copy removed
//! (the demo puts it in `TMPDIR`), and no `QUIT` sent, so nothing marked is
//! deleted.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use popdoc::demo::{Faults, Mailbox};

use crate::support::demo;
use crate::support::tmux::Tmux;

const BIN: &str = env!("CARGO_BIN_EXE_popdoc");
const PASSWORD: &str = "tmux-Secret-7";

fn demo_copies(tmp: &Path) -> Vec<String> {
    std::fs::read_dir(tmp)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("popdoc-demo-"))
        .collect()
}

/// The pid of popdoc: the child of the pane's shell.
fn popdoc_pid(t: &Tmux) -> String {
    let shell = t.pane("#{pane_pid}");
    let out = Command::new("pgrep").args(["-P", &shell]).output().unwrap();
    let pids = String::from_utf8_lossy(&out.stdout);
    let pid = pids.split_whitespace().next();
    pid.unwrap_or_else(|| panic!("no popdoc under the pane's shell {shell}"))
        .to_string()
}

fn signal(pid: &str, name: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{name}"), pid])
        .status()
        .unwrap();
    assert!(ok.success());
}

/// Ended: gone, or a zombie no one reaps.
fn ended(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z')),
    }
}

/// Raw mode off: the pane's terminal echoes and reads lines again.
fn assert_terminal_restored(t: &Tmux) {
    assert_eq!(
        t.pane("#{alternate_on}"),
        "0",
        "the alternate screen was left"
    );
    let tty = t.pane("#{pane_tty}");
    let out = Command::new("stty")
        .args(["-a", "-F", &tty])
        .output()
        .unwrap();
    let modes = String::from_utf8_lossy(&out.stdout);
    let words: Vec<&str> = modes.split([' ', ';', '\n']).collect();
    assert!(
        words.contains(&"icanon") && words.contains(&"echo"),
        "raw mode is off: {modes}"
    );
}

/// `popdoc demo` with its temporary copy in a folder of the test's own.
fn start_demo(tmp: &Path) -> Option<Tmux> {
    let temp = tmp.join("t");
    std::fs::create_dir(&temp).unwrap();
    let cmd = format!("{BIN} demo --save-dir {}", tmp.join("saves").display());
    let t = Tmux::start(&cmd, &[("TMPDIR", &temp.to_string_lossy())], 120, 40)?;
    t.wait_for("the demo's headers", 30, |s| s.contains("40 msgs"));
    assert_eq!(demo_copies(&temp).len(), 1, "the demo made its copy here");
    Some(t)
}

/// SIGTERM: exit status 143, the terminal restored, the copy removed.
#[test]
fn demo_stopped_by_sigterm_restores_the_terminal_and_removes_its_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(t) = start_demo(tmp.path()) else {
        return;
    };
    assert_eq!(t.pane("#{alternate_on}"), "1");
    signal(&popdoc_pid(&t), "TERM");
    assert_eq!(t.wait_exit(20), 143);
    assert_terminal_restored(&t);
    assert!(t.screen().contains("stopped by SIGTERM"), "{}", t.screen());
    assert_eq!(demo_copies(&tmp.path().join("t")), Vec::<String>::new());
}

/// The terminal window closed (the tmux server killed): popdoc ends and
/// the 11 MB mailbox copy does not stay behind.
#[test]
fn demo_in_a_closed_window_ends_and_removes_its_copy() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(t) = start_demo(tmp.path()) else {
        return;
    };
    let pid = popdoc_pid(&t);
    t.close_window();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ended(&pid) {
        assert!(Instant::now() < deadline, "popdoc {pid} still runs");
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(demo_copies(&tmp.path().join("t")), Vec::<String>::new());
}

/// The TUI on a test server with a message marked, then SIGHUP: exit
/// status 129, no QUIT (nor DELE) on the wire, every message still there.
#[tokio::test(flavor = "multi_thread")]
async fn tui_hung_up_with_a_mark_sends_no_quit() {
    let mailbox = Mailbox::from_messages(
        (1..=3)
            .map(|i| format!("Subject: m{i}\r\n\r\nbody {i}\r\n").into_bytes())
            .collect(),
    );
    let server = demo::start("u", PASSWORD, Faults::default(), mailbox.clone()).await;
    let home = tempfile::tempdir().unwrap();
    let cmd = format!("{BIN} --plaintext pop3://u@127.0.0.1:{}", server.port());
    let (h, c) = (
        home.path().to_string_lossy().into_owned(),
        home.path().join("c").to_string_lossy().into_owned(),
    );
    let env = [
        ("POPDOC_PASSWORD", PASSWORD),
        ("HOME", h.as_str()),
        ("XDG_CONFIG_HOME", c.as_str()),
    ];
    let Some(t) = Tmux::start(&cmd, &env, 120, 30) else {
        return;
    };
    t.wait_for("the headers", 30, |s| {
        s.contains("3 msgs") && s.contains("m3")
    });
    t.keys(&["g", "d"]);
    t.wait_for("a mark", 10, |s| s.contains("marked 1"));
    signal(&popdoc_pid(&t), "HUP");
    assert_eq!(t.wait_exit(20), 129);
    assert_terminal_restored(&t);
    let received = server.received();
    assert!(
        received
            .iter()
            .all(|c| c != "QUIT" && !c.starts_with("DELE")),
        "{received:?}"
    );
    assert_eq!(mailbox.len(), 3, "nothing deleted");
}
