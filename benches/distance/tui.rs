//! The TUI in tmux (the tests' `support::tmux`), watched from outside:
//! the screen is captured every few milliseconds for the first row's
//! subject ("first rows") and for the title's `N msgs` with the status
//! bar's `headers n/N` counter gone ("all headers"); memory and CPU come
//! from /proc/<pid>/status (VmHWM) and /proc/<pid>/stat (utime + stime).

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::tmux::Tmux;

/// Screen polls: fine enough for figures of a tenth of a second and more.
const POLL: Duration = Duration::from_millis(10);

pub struct Opened {
    pub first_rows: Duration,
    pub all_headers: Duration,
    pub tmux: Tmux,
    pub pid: Option<u32>,
}

/// Starts `popdoc <args>` in a 120×40 tmux pane with `env`; waits (at most
/// `limit`) for the first row's subject and then for all `count` headers.
/// `save_dir` must be unique to this run: it finds the process.
pub fn open(
    bin: &str,
    args: &[String],
    env: &[(&str, &str)],
    save_dir: &Path,
    first_subject: &str,
    count: usize,
    limit: Duration,
) -> Option<Opened> {
    let mut cmd = bin.to_string();
    for a in args {
        cmd.push(' ');
        cmd.push_str(a);
    }
    cmd.push_str(&format!(" --save-dir {}", save_dir.display()));
    let start = Instant::now();
    let tmux = Tmux::start(&cmd, env, 120, 40)?;
    let msgs = format!("{count} msgs");
    let mut first_rows = None;
    loop {
        let s = tmux.screen();
        let elapsed = start.elapsed();
        if first_rows.is_none() && s.contains(first_subject) {
            first_rows = Some(elapsed);
        }
        if let Some(first_rows) = first_rows
            && s.contains(&msgs)
            && !s.contains("headers ")
        {
            return Some(Opened {
                first_rows,
                all_headers: elapsed,
                pid: find_pid(bin, save_dir),
                tmux,
            });
        }
        assert!(
            elapsed < limit,
            "the TUI did not load {count} headers in {limit:?}; the screen shows:\n{s}"
        );
        std::thread::sleep(POLL);
    }
}

/// The process of `bin` whose command line names `save_dir` (unique per
/// run).
fn find_pid(bin: &str, save_dir: &Path) -> Option<u32> {
    let needle = save_dir.to_string_lossy().into_owned();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: u32 = e.file_name().to_str()?.parse().ok()?;
        let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        let is_popdoc = *args.first()? == bin.as_bytes();
        (is_popdoc && args.contains(&needle.as_bytes())).then_some(pid)
    })
}

/// Peak resident memory (VmHWM) of `pid`, in kB.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// CPU time (user + system) of `pid` so far, in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3.
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// Clock ticks per second (`getconf CLK_TCK`, 100 when unknown).
pub fn ticks_per_sec() -> u64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100)
}

/// Quits with `q` and waits for the exit (so a header cache is written as
/// on a normal quit); the tmux server goes when `Opened` is dropped.
pub fn quit(o: Opened) {
    o.tmux.keys(&["q"]);
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| o.tmux.wait_exit(30)));
}
