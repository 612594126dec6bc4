//! Benchmarks that print figures (not timed tests):
//! - the reply reader on a 50 MB dot-stuffed body (target ≥ 500 MB/s);
//! - `popdoc list` wall time for 1000 messages from Dovecot;
//! - `popdoc save` throughput and peak memory for a 50 MB message
//!   (targets ≥ 100 MB/s and ≤ 20 MB peak RSS for the whole process).
//!
//! Run with `cargo bench --bench engine`. The Dovecot parts need Dovecot
//! (see README); without it they are skipped with a note.

// The bench uses only the Dovecot harness and the message generator.
#[path = "../tests/it/support/mod.rs"]
#[allow(dead_code)]
mod support;

mod common;
use common::measured;

use std::process::Command;
use std::time::{Duration, Instant};

use popdoc::pop3::stuff::stuff;
use popdoc::pop3::{Expect, ReadEvent, Reader};

const MB: f64 = 1_000_000.0;
const BIG: u64 = 50 * 1024 * 1024;

fn reader_throughput() {
    let mut body = Vec::with_capacity(BIG as usize);
    support::mailgen::write_big_message(&mut body, BIG, 9).unwrap();
    let mut wire = b"+OK message follows\r\n".to_vec();
    wire.extend(stuff(&body));
    let dots = wire.windows(3).filter(|w| w == b"\n..").count();
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let start = Instant::now();
        let mut r = Reader::new();
        r.expect(Expect::Multi { limit: None });
        let mut got = 0usize;
        for chunk in wire.chunks(64 * 1024) {
            r.feed(chunk);
            while let Some(e) = r.next_event().unwrap() {
                if let ReadEvent::Data(d) = e {
                    got += d.len();
                }
            }
        }
        let t = start.elapsed();
        assert_eq!(got, body.len());
        best = best.min(t);
    }
    println!(
        "reader: 50 MiB body ({} stuffed lines) in {:.1} ms = {:.0} MB/s (best of 5, 64 KiB chunks)",
        dots,
        best.as_secs_f64() * 1000.0,
        wire.len() as f64 / MB / best.as_secs_f64()
    );
}

fn popdoc(d: &support::dovecot::Dovecot, pass: &str, sub: &str) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_popdoc"));
    c.env("POPDOC_PASSWORD", pass)
        .arg(sub)
        .arg("--ca-file")
        .arg(d.ca_file());
    c
}

fn list_1000(d: &support::dovecot::Dovecot) {
    let u = d.add_user("benchlist", "Bench-1");
    let msgs = support::mailgen::mailbox(1000, 4);
    let bytes: Vec<&[u8]> = msgs.iter().map(|m| m.bytes.as_slice()).collect();
    u.store(&bytes);
    let url = format!("pop3s://benchlist@127.0.0.1:{}", d.pop3s_port());
    let mut times = Vec::new();
    for _ in 0..5 {
        let mut c = popdoc(d, "Bench-1", "list");
        c.args(["--json", &url]);
        let (wall, _, out) = measured(c);
        assert!(out.contains("\"count\": 1000"));
        times.push(wall);
    }
    times.sort();
    println!(
        "popdoc list: 1000 messages from Dovecot (pop3s, loopback): median {:.0} ms, min {:.0} ms, max {:.0} ms (5 runs, whole process)",
        times[2].as_secs_f64() * 1000.0,
        times[0].as_secs_f64() * 1000.0,
        times[4].as_secs_f64() * 1000.0
    );
}

fn save_50mb(d: &support::dovecot::Dovecot) {
    let u = d.add_user("benchsave", "Bench-2");
    u.store_with(|w| support::mailgen::write_big_message(w, BIG, 5).map(|_| ()));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("pop3s://benchsave@127.0.0.1:{}", d.pop3s_port());
    let mut results = Vec::new();
    for i in 0..3 {
        let file = dir.path().join(format!("big{i}.eml"));
        let mut c = popdoc(d, "Bench-2", "save");
        c.args([&url, "1", "-o"]).arg(&file);
        let (wall, peak, out) = measured(c);
        assert_eq!(std::fs::metadata(&file).unwrap().len(), BIG);
        let reported = out
            .lines()
            .find(|l| l.contains("bytes in"))
            .unwrap_or("")
            .trim()
            .to_string();
        results.push((wall, peak, reported));
    }
    for (wall, peak, reported) in &results {
        println!(
            "popdoc save: 50 MiB from Dovecot (pop3s, loopback): process {:.0} ms = {:.0} MB/s end to end; peak RSS {}; popdoc reports: {}",
            wall.as_secs_f64() * 1000.0,
            BIG as f64 / MB / wall.as_secs_f64(),
            peak.map(|k| format!("{:.1} MB", k as f64 / 1024.0))
                .unwrap_or_else(|| "unknown (no /usr/bin/time)".into()),
            reported
        );
    }
}

fn main() {
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing.
    println!(
        "popdoc benchmarks ({} build)",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        }
    );
    reader_throughput();
    match support::dovecot::Dovecot::start() {
        Some(d) => {
            list_1000(&d);
            save_50mb(&d);
        }
        None => println!("Dovecot could not be started: the list and save benchmarks were skipped"),
    }
}
