//! The real binary against a real Dovecot: `popdoc list` on 1000 messages
//! and `popdoc save` of a 50 MB message, byte-exact and in flat memory.

use std::process::{Command, Stdio};
use std::time::Duration;

use crate::support::cli::Run;
use crate::support::dovecot::Dovecot;
use crate::support::mailgen;

/// `popdoc SUBCOMMAND --ca-file CA ARGS...` with the password.
fn popdoc(d: &Dovecot, password: &str, subcommand: &str, args: &[&str]) -> Run {
    let mut all = vec![subcommand, "--ca-file", d.ca_file().to_str().unwrap()];
    all.extend_from_slice(args);
    Run::new(&all).password(password)
}

#[test]
fn list_shows_every_message_of_a_1000_message_mailbox() {
    let Some(d) = Dovecot::start() else { return };
    let u = d.add_user("list", "List-Pass-1000");
    let msgs = mailgen::mailbox(1000, 11);
    let bytes: Vec<&[u8]> = msgs.iter().map(|m| m.bytes.as_slice()).collect();
    u.store(&bytes);
    let url = format!("pop3s://list@127.0.0.1:{}", d.pop3s_port());
    let out = popdoc(&d, "List-Pass-1000", "list", &["--json", &url])
        .command()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["count"], 1000);
    let total: u64 = msgs.iter().map(|m| m.bytes.len() as u64).sum();
    assert_eq!(v["total_size"], total);
    for (i, (e, m)) in v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&msgs)
        .enumerate()
    {
        let what = format!("message {} ({})", i + 1, m.kind);
        assert_eq!(e["number"], i + 1, "{what}");
        assert_eq!(e["size"], m.bytes.len(), "{what}");
        assert_eq!(
            e["subject"],
            m.subject.clone().unwrap_or_default(),
            "{what}"
        );
        assert_eq!(e["from"], m.from.clone().unwrap_or_default(), "{what}");
        assert_eq!(e["message_id"], m.message_id, "{what}");
        match m.date {
            Some(t) => assert_eq!(e["date"], popdoc::util::rfc3339(t).unwrap(), "{what}"),
            None => assert!(e["date"].is_null(), "{what}"),
        }
        assert!(e["uidl"].as_str().is_some_and(|u| u.len() == 16), "{what}");
        assert!(e["header_error"].is_null(), "{what}");
    }
    // The table form has a line per message and a total.
    let out = popdoc(&d, "List-Pass-1000", "list", &[&url])
        .command()
        .output()
        .unwrap();
    let table = String::from_utf8(out.stdout).unwrap();
    assert_eq!(table.lines().count(), 1002);
    assert!(table.lines().last().unwrap().starts_with("1000 messages"));
}

/// Peak resident memory of a child, in kB, by polling /proc until it ends.
fn run_measuring(mut cmd: Command) -> (std::process::Output, u64) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            for line in s.lines() {
                if let Some(v) = line.strip_prefix("VmHWM:") {
                    let kb: u64 = v.trim().trim_end_matches("kB").trim().parse().unwrap_or(0);
                    peak = peak.max(kb);
                }
            }
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    (child.wait_with_output().unwrap(), peak)
}

#[test]
fn save_writes_a_50_mb_message_byte_exact_in_flat_memory() {
    let Some(d) = Dovecot::start() else { return };
    let u = d.add_user("big", "Big-Pass-50");
    u.store(&[mailgen::mailbox(1, 1)[0].bytes.clone()]);
    u.store_with(|w| mailgen::write_big_message(w, 50 * 1024 * 1024, 5).map(|_| ()));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.eml");
    let url = format!("pop3://big@127.0.0.1:{}", d.plain_port());
    let run = popdoc(
        &d,
        "Big-Pass-50",
        "save",
        &[&url, "2", "-o", file.to_str().unwrap()],
    );
    let (out, peak_kb) = run_measuring(run.command());
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        d.log()
    );
    let saved = std::fs::read(&file).unwrap();
    // RETR moves the file from new/ to cur/: find it again.
    let original = std::fs::read(&u.message_files()[1]).unwrap();
    assert_eq!(saved.len(), 50 * 1024 * 1024);
    assert!(
        saved == original,
        "the saved file is byte-for-byte the stored message"
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(&original)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert!(stdout.contains(&sha), "{stdout}");
    // The message never sits in memory whole: the process stays far below
    // its size (the benchmark records the release figure).
    assert!(peak_kb > 0 && peak_kb < 30 * 1024, "peak RSS {peak_kb} kB");
    eprintln!("popdoc save 50 MB: peak RSS {peak_kb} kB");
}
