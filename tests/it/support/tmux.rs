//! Drives the real binary in a real terminal: tmux `send-keys` and
//! `capture-pane`, one private tmux server per test. Skips (with one line
//! on stderr) when tmux is missing, unless `POPDOC_REQUIRE_TMUX=1`.

use std::process::Command;
use std::time::{Duration, Instant};

pub const REQUIRE_ENV: &str = "POPDOC_REQUIRE_TMUX";

pub struct Tmux {
    socket: String,
}

fn tmux_works() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Tmux {
    /// Runs `command` (a shell command line) in a detached session of
    /// `width`×`height` with `env` set. When the command ends, the pane
    /// shows `POPDOC-EXIT=<status>`.
    pub fn start(command: &str, env: &[(&str, &str)], width: u16, height: u16) -> Option<Tmux> {
        if !tmux_works() {
            super::skip::skip(
                REQUIRE_ENV,
                "terminal end-to-end tests",
                "tmux not found or not working (install tmux)",
            );
            return None;
        }
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let socket = format!(
            "popdoc-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        );
        let mut cmd = Command::new("tmux");
        cmd.args([
            "-L",
            &socket,
            "-f",
            "/dev/null",
            "new-session",
            "-d",
            "-s",
            "t",
        ])
        .args(["-x", &width.to_string(), "-y", &height.to_string()]);
        for (k, v) in env {
            cmd.arg("-e").arg(format!("{k}={v}"));
        }
        cmd.arg(format!("{command}; echo POPDOC-EXIT=$?; sleep 600"));
        let out = cmd.output().expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Tmux { socket })
    }

    fn tmux(&self, args: &[&str]) -> String {
        let out = Command::new("tmux")
            .args(["-L", &self.socket])
            .args(args)
            .output()
            .expect("tmux runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Sends keys by tmux name (`Enter`, `Escape`, `j`, `G`); `-l`
    /// before a key sends it as literal text.
    pub fn keys(&self, keys: &[&str]) {
        let mut literal = false;
        for k in keys {
            if *k == "-l" {
                literal = true;
                continue;
            }
            if literal {
                self.tmux(&["send-keys", "-t", "t", "-l", k]);
            } else {
                self.tmux(&["send-keys", "-t", "t", k]);
            }
            literal = false;
            std::thread::sleep(Duration::from_millis(40));
        }
    }

    /// A tmux format of the pane (`#{pane_pid}`, `#{alternate_on}`,
    /// `#{pane_tty}`), as tmux prints it.
    pub fn pane(&self, format: &str) -> String {
        self.tmux(&["display-message", "-p", "-t", "t", format])
            .trim()
            .to_string()
    }

    /// Closes the window, as a user closes a terminal window: the
    /// programs in it get SIGHUP and lose their terminal.
    pub fn close_window(&self) {
        self.tmux(&["kill-server"]);
    }

    pub fn screen(&self) -> String {
        self.tmux(&["capture-pane", "-p", "-t", "t"])
    }

    /// Waits until `pred` holds for the screen; panics with the screen
    /// after `secs`.
    pub fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for {what}; the screen shows:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Waits for the program to end and returns its exit status.
    pub fn wait_exit(&self, secs: u64) -> i32 {
        let s = self.wait_for("popdoc to exit", secs, |s| s.contains("POPDOC-EXIT="));
        let tail = s.split("POPDOC-EXIT=").nth(1).unwrap_or("");
        tail.split_whitespace()
            .next()
            .unwrap_or("")
            .parse()
            .unwrap_or(-1)
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["-L", &self.socket, "kill-server"])
            .output();
    }
}

/// The screen's line for the selected row (marked `>` by popdoc).
pub fn selected_line(screen: &str) -> Option<&str> {
    screen.lines().find(|l| l.starts_with('>'))
}
