//! What the benchmarks share: running a command under `/usr/bin/time` for
//! its peak memory.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Runs a command under /usr/bin/time -f %M (peak RSS in kB) when it is
/// there; returns (wall time, peak kB, stdout). Panics with its stderr if
/// it fails.
pub fn measured(cmd: Command) -> (Duration, Option<u64>, String) {
    try_measured(cmd).unwrap_or_else(|e| panic!("{e}"))
}

/// [`measured`], with the command's failure (its stderr) as an error.
pub fn try_measured(cmd: Command) -> Result<(Duration, Option<u64>, String), String> {
    let time = std::path::Path::new("/usr/bin/time");
    let mut run = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-f")
            .arg("PEAK_KB=%M")
            .arg(cmd.get_program())
            .args(cmd.get_args());
        for (k, v) in cmd.get_envs() {
            if let Some(v) = v {
                c.env(k, v);
            }
        }
        if let Some(dir) = cmd.get_current_dir() {
            c.current_dir(dir);
        }
        c
    } else {
        cmd
    };
    let start = Instant::now();
    let out = run
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| format!("cannot run {:?}: {e}", run.get_program()))?;
    let wall = start.elapsed();
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        return Err(format!("{:?} failed: {stderr}", run.get_program()));
    }
    let peak = stderr
        .lines()
        .find_map(|l| l.strip_prefix("PEAK_KB="))
        .and_then(|v| v.trim().parse().ok());
    Ok((
        wall,
        peak,
        String::from_utf8_lossy(&out.stdout).into_owned(),
    ))
}
