//! The distance benchmark: popdoc against a raw pipelined reference client
//! in the same run, through a latency-injecting proxy in front of the
//! private Dovecot (see `docs/BENCHMARKS.md`). It prints figures (medians
//! with min–max, and the ratio to the reference) as a markdown table; it
//! asserts only that the work was done.
//!
//! `cargo bench --bench distance` runs every part; name parts to run only
//! those (`cargo bench --bench distance -- list1000 tui5000`): `list1000`,
//! `list5000`, `tui5000`, `big` (100,000 messages on loopback), `save`.
//! `POPDOC_BENCH_RUNS` sets the runs per figure (default 5; 3 for `big`),
//! `POPDOC_BENCH_IDLE_SECS` the idle CPU window (default 30),
//! `POPDOC_BENCH_BIN` another popdoc binary to measure.
//! Without Dovecot the benchmark says so and stops; without tmux the TUI
//! figures are skipped with a note.

#[path = "../../tests/it/support/mod.rs"]
#[allow(dead_code)]
mod support;

#[path = "../common/mod.rs"]
mod common;
mod proxy;
mod reference;
mod tui;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{measured, try_measured};
use proxy::Proxy;
use support::bigbox;
use support::dovecot::Dovecot;

const PASS: &str = "Bench-Distance-1";
const BIG: u64 = 50 * 1024 * 1024;
const PARTS: &[&str] = &["list1000", "list5000", "tui5000", "big", "save"];

/// Several runs of one figure.
#[derive(Default, Clone)]
struct Runs(Vec<f64>);

impl Runs {
    fn push(&mut self, v: f64) {
        self.0.push(v);
    }

    fn sorted(&self) -> Vec<f64> {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v
    }

    fn median(&self) -> Option<f64> {
        let v = self.sorted();
        match v.len() {
            0 => None,
            n if n % 2 == 1 => Some(v[n / 2]),
            n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
        }
    }

    /// `1.23 s (1.10–1.40)` with `unit` and `digits`.
    fn show(&self, unit: &str, digits: usize) -> String {
        let v = self.sorted();
        match (self.median(), v.first(), v.last()) {
            (Some(m), Some(lo), Some(hi)) if v.len() > 1 => {
                format!("{m:.digits$} {unit} ({lo:.digits$}–{hi:.digits$})")
            }
            (Some(m), _, _) => format!("{m:.digits$} {unit}"),
            _ => "—".into(),
        }
    }
}

fn ratio(a: &Runs, b: &Runs) -> String {
    match (a.median(), b.median()) {
        (Some(a), Some(b)) if b > 0.0 => format!("{:.2}×", a / b),
        _ => "—".into(),
    }
}

struct Bench {
    d: Dovecot,
    bin: String,
    runs: usize,
    rows: Vec<[String; 6]>,
    notes: Vec<String>,
}

impl Bench {
    fn row(
        &mut self,
        what: &str,
        popdoc: String,
        plain: Option<&Runs>,
        tls: Option<&Runs>,
        p: Option<&Runs>,
    ) {
        let (rp, xp) = match (plain, p) {
            (Some(r), Some(p)) => (r.show("s", 2), ratio(p, r)),
            _ => ("—".into(), "—".into()),
        };
        let (rt, xt) = match (tls, p) {
            (Some(r), Some(p)) => (r.show("s", 2), ratio(p, r)),
            _ => ("—".into(), "—".into()),
        };
        self.push([what.into(), popdoc, rp, xp, rt, xt]);
    }

    /// Adds a row to the table, and shows it at once on stderr.
    fn push(&mut self, row: [String; 6]) {
        eprintln!("| {} |", row.join(" | "));
        self.rows.push(row);
    }

    fn user(&self, name: &str, count: usize) -> support::dovecot::User {
        let u = self.d.add_user(name, PASS);
        let start = Instant::now();
        bigbox::store(&u, count);
        // Dovecot indexes the new Maildir at the first session: not measured.
        let f = reference::fetch_headers(self.d.plain_port(), None, name, PASS, count);
        eprintln!(
            "stored {count} messages for {name} and let Dovecot index them in {:.1} s ({} bytes of headers)",
            start.elapsed().as_secs_f64(),
            f.bytes
        );
        u
    }

    /// The reference client, plain and TLS, through proxies of `rtt`
    /// (none: straight to Dovecot).
    fn reference(
        &self,
        rtt: Option<Duration>,
        user: &str,
        count: usize,
        plain: &mut Runs,
        tls: &mut Runs,
    ) {
        let (pp, tp) = self.ports(rtt);
        let config = self.d.tls_client_config();
        let f = reference::fetch_headers(pp.port(), None, user, PASS, count);
        plain.push(f.elapsed.as_secs_f64());
        let f = reference::fetch_headers(tp.port(), Some(config), user, PASS, count);
        tls.push(f.elapsed.as_secs_f64());
    }

    /// (plain, pop3s) ports, through proxies when `rtt` is given.
    fn ports(&self, rtt: Option<Duration>) -> (Port, Port) {
        match rtt {
            Some(rtt) => (
                Port::Proxy(Proxy::start(self.d.plain_port(), rtt)),
                Port::Proxy(Proxy::start(self.d.pop3s_port(), rtt)),
            ),
            None => (
                Port::Direct(self.d.plain_port()),
                Port::Direct(self.d.pop3s_port()),
            ),
        }
    }

    fn popdoc(&self, sub: Option<&str>, cache: &Path) -> Command {
        let mut c = Command::new(&self.bin);
        if let Some(sub) = sub {
            c.arg(sub);
        }
        c.env("POPDOC_PASSWORD", PASS)
            .env("XDG_CACHE_HOME", cache)
            .arg("--ca-file")
            .arg(self.d.ca_file());
        c
    }

    /// `popdoc list` of `count` messages, interleaved with the reference.
    fn list(&mut self, what: &str, user: &str, count: usize, rtt: Option<Duration>, runs: usize) {
        let (mut p, mut plain, mut tls, mut rss) = (
            Runs::default(),
            Runs::default(),
            Runs::default(),
            Runs::default(),
        );
        for _ in 0..runs {
            self.reference(rtt, user, count, &mut plain, &mut tls);
            let (_, port) = self.ports(rtt);
            let cache = tempfile::tempdir().unwrap();
            let mut c = self.popdoc(Some("list"), cache.path());
            c.arg(format!("pop3s://{user}@127.0.0.1:{}", port.port()));
            let (wall, peak, out) = measured(c);
            assert!(
                out.lines().count() >= count,
                "popdoc list printed {} lines for {count} messages",
                out.lines().count()
            );
            p.push(wall.as_secs_f64());
            if let Some(kb) = peak {
                rss.push(kb as f64 / 1024.0);
            }
        }
        self.row(what, p.show("s", 2), Some(&plain), Some(&tls), Some(&p));
        if !rss.0.is_empty() {
            self.push([
                format!("{what}: peak RSS"),
                rss.show("MB", 1),
                "—".into(),
                "—".into(),
                "—".into(),
                "—".into(),
            ]);
        }
    }

    /// The TUI: first rows and all headers, cold (empty cache directory
    /// each run) and warm (one cache directory, filled by a run first).
    fn tui(&mut self, user: &str, count: usize, rtt: Option<Duration>) {
        let (mut plain, mut tls) = (Runs::default(), Runs::default());
        let (mut cold_first, mut cold_all) = (Runs::default(), Runs::default());
        let (mut warm_first, mut warm_all) = (Runs::default(), Runs::default());
        let warm_cache = tempfile::tempdir().unwrap();
        if self.tui_run(user, count, rtt, warm_cache.path()).is_none() {
            self.notes
                .push("tmux is not available: the TUI figures were skipped".into());
            return;
        }
        for _ in 0..self.runs {
            self.reference(rtt, user, count, &mut plain, &mut tls);
            let cold = tempfile::tempdir().unwrap();
            if let Some((f, a)) = self.tui_run(user, count, rtt, cold.path()) {
                cold_first.push(f);
                cold_all.push(a);
            }
            if let Some((f, a)) = self.tui_run(user, count, rtt, warm_cache.path()) {
                warm_first.push(f);
                warm_all.push(a);
            }
        }
        let at = rtt.map_or("loopback".into(), |r| format!("RTT {} ms", r.as_millis()));
        let n = thousands(count);
        self.row(
            &format!("TUI, {n} msgs, {at}, cold: first rows"),
            cold_first.show("s", 2),
            None,
            None,
            None,
        );
        self.row(
            &format!("TUI, {n} msgs, {at}, cold: all headers"),
            cold_all.show("s", 2),
            Some(&plain),
            Some(&tls),
            Some(&cold_all),
        );
        self.row(
            &format!("TUI, {n} msgs, {at}, warm: first rows"),
            warm_first.show("s", 2),
            None,
            None,
            None,
        );
        self.row(
            &format!("TUI, {n} msgs, {at}, warm: all headers"),
            warm_all.show("s", 2),
            Some(&plain),
            Some(&tls),
            Some(&warm_all),
        );
    }

    /// One TUI run: (first rows, all headers) in seconds.
    fn tui_run(
        &self,
        user: &str,
        count: usize,
        rtt: Option<Duration>,
        cache: &Path,
    ) -> Option<(f64, f64)> {
        let (o, _port) = self.tui_open(user, count, rtt, cache)?;
        let r = (o.first_rows.as_secs_f64(), o.all_headers.as_secs_f64());
        tui::quit(o);
        Some(r)
    }

    /// Opens the TUI; the proxy (if any) comes back with it, to be kept
    /// for as long as the session runs.
    fn tui_open(
        &self,
        user: &str,
        count: usize,
        rtt: Option<Duration>,
        cache: &Path,
    ) -> Option<(tui::Opened, Port)> {
        let (_, port) = self.ports(rtt);
        let saves = tempfile::tempdir().unwrap();
        let config = tempfile::tempdir().unwrap();
        let args = vec![
            format!("pop3s://{user}@127.0.0.1:{}", port.port()),
            "--ca-file".into(),
            self.d.ca_file().display().to_string(),
        ];
        let cache = cache.display().to_string();
        let config_home = config.path().display().to_string();
        let env = [
            ("POPDOC_PASSWORD", PASS),
            ("XDG_CACHE_HOME", cache.as_str()),
            ("XDG_CONFIG_HOME", config_home.as_str()),
        ];
        let first = bigbox::subject(1);
        let first = &first[..20];
        let o = tui::open(
            &self.bin,
            &args,
            &env,
            saves.path(),
            first,
            count,
            Duration::from_secs(180),
        )?;
        Some((o, port))
    }

    /// 100,000 messages on loopback: reference, `popdoc list` (time, RSS),
    /// the TUI (all headers, RSS, idle CPU).
    fn big(&mut self) {
        let count = 100_000;
        self.user("big", count);
        let runs = std::env::var("POPDOC_BENCH_RUNS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(3);
        self.list(
            "`popdoc list`, 100,000 msgs, loopback",
            "big",
            count,
            None,
            runs,
        );
        let (mut plain, mut tls, mut all, mut rss) = (
            Runs::default(),
            Runs::default(),
            Runs::default(),
            Runs::default(),
        );
        let idle_secs: u64 = std::env::var("POPDOC_BENCH_IDLE_SECS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(30);
        let mut idle = None;
        for i in 0..runs {
            self.reference(None, "big", count, &mut plain, &mut tls);
            let cache = tempfile::tempdir().unwrap();
            let Some((o, _port)) = self.tui_open("big", count, None, cache.path()) else {
                self.notes
                    .push("tmux is not available: the TUI figures were skipped".into());
                return;
            };
            all.push(o.all_headers.as_secs_f64());
            if i + 1 == runs
                && let Some(pid) = o.pid
            {
                let t0 = tui::cpu_ticks(pid);
                std::thread::sleep(Duration::from_secs(idle_secs));
                let t1 = tui::cpu_ticks(pid);
                if let (Some(a), Some(b)) = (t0, t1) {
                    idle = Some((b - a) as f64 / tui::ticks_per_sec() as f64);
                }
            }
            if let Some(kb) = o.pid.and_then(tui::peak_rss_kb) {
                rss.push(kb as f64 / 1024.0);
            }
            tui::quit(o);
        }
        self.row(
            "TUI, 100,000 msgs, loopback, cold: all headers",
            all.show("s", 2),
            Some(&plain),
            Some(&tls),
            Some(&all),
        );
        self.push([
            "TUI, 100,000 msgs: peak RSS".into(),
            rss.show("MB", 1),
            "—".into(),
            "—".into(),
            "—".into(),
            "—".into(),
        ]);
        let idle = idle.map_or("—".into(), |c| format!("{c:.2} s CPU in {idle_secs} s"));
        self.push([
            "TUI, 100,000 msgs: idle CPU after loading".into(),
            idle,
            "—".into(),
            "—".into(),
            "—".into(),
            "—".into(),
        ]);
    }

    /// A 50 MiB save over plain POP3 and POP3S, beside mpop when installed.
    fn save(&mut self) {
        let u = self.d.add_user("bigsave", PASS);
        u.store_with(|w| support::mailgen::write_big_message(w, BIG, 5).map(|_| ()));
        let mut mpop = Command::new("mpop")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !mpop {
            self.notes
                .push("mpop is not installed: the save figures have no mpop beside them".into());
        }
        let runs = self.runs.min(3);
        for tls in [false, true] {
            let (mut p, mut prss, mut m, mut mrss) = (
                Runs::default(),
                Runs::default(),
                Runs::default(),
                Runs::default(),
            );
            for _ in 0..runs {
                let dir = tempfile::tempdir().unwrap();
                let file = dir.path().join("big.eml");
                let mut c = self.popdoc(Some("save"), dir.path());
                if tls {
                    c.arg(format!("pop3s://bigsave@127.0.0.1:{}", self.d.pop3s_port()));
                } else {
                    c.arg(format!("pop3://bigsave@127.0.0.1:{}", self.d.plain_port()))
                        .arg("--plaintext");
                }
                c.args(["1", "-o"]).arg(&file);
                let (wall, peak, _) = measured(c);
                assert_eq!(std::fs::metadata(&file).unwrap().len(), BIG);
                p.push(BIG as f64 / 1e6 / wall.as_secs_f64());
                if let Some(kb) = peak {
                    prss.push(kb as f64 / 1024.0);
                }
                if mpop {
                    match self.mpop(tls, dir.path()) {
                        Ok((wall, peak)) => {
                            m.push(BIG as f64 / 1e6 / wall.as_secs_f64());
                            if let Some(kb) = peak {
                                mrss.push(kb as f64 / 1024.0);
                            }
                        }
                        Err(e) => {
                            self.notes.push(format!("mpop failed: {}", e.trim()));
                            mpop = false;
                        }
                    }
                }
            }
            let how = if tls { "TLS (pop3s)" } else { "plain" };
            let x = ratio(&p, &m);
            self.push([
                format!("save 50 MiB, {how}: throughput (whole process)"),
                p.show("MB/s", 0),
                format!("mpop {}", m.show("MB/s", 0)),
                x,
                "—".into(),
                "—".into(),
            ]);
            self.push([
                format!("save 50 MiB, {how}: peak RSS"),
                prss.show("MB", 1),
                format!("mpop {}", mrss.show("MB", 1)),
                "—".into(),
                "—".into(),
                "—".into(),
            ]);
        }
    }

    fn mpop(&self, tls: bool, dir: &Path) -> Result<(Duration, Option<u64>), String> {
        let mbox = dir.join("mpop.mbox");
        let mut c = Command::new("mpop");
        c.arg("--host=127.0.0.1")
            .arg(format!(
                "--port={}",
                if tls {
                    self.d.pop3s_port()
                } else {
                    self.d.plain_port()
                }
            ))
            .arg("--user=bigsave")
            .arg(format!("--passwordeval=echo {PASS}"))
            .arg("--auth=user")
            .arg(format!("--tls={}", if tls { "on" } else { "off" }))
            .arg("--tls-starttls=off")
            .arg(format!("--tls-trust-file={}", self.d.ca_file().display()))
            .arg("--keep=on")
            .arg("--only-new=off")
            .arg(format!("--uidls-file={}", dir.join("uidls").display()))
            .arg(format!("--delivery=mbox,{}", mbox.display()));
        let (wall, peak, _) = try_measured(c)?;
        let size = std::fs::metadata(&mbox).map(|m| m.len()).unwrap_or(0);
        // The mbox holds LF line ends (the message's CRLF less one byte a
        // line) and a `From ` line: about 1 % less than the message.
        if size < BIG / 100 * 98 {
            return Err(format!("mpop delivered {size} bytes of {BIG}"));
        }
        Ok((wall, peak))
    }
}

/// A port to connect to; a proxy stops when this is dropped.
enum Port {
    Direct(u16),
    Proxy(Proxy),
}

impl Port {
    fn port(&self) -> u16 {
        match self {
            Port::Direct(p) => *p,
            Port::Proxy(p) => p.port(),
        }
    }
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn main() {
    // `cargo bench` passes --bench; parts are the other words.
    let mut parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if let Some(bad) = parts.iter().find(|p| !PARTS.contains(&p.as_str())) {
        eprintln!("unknown part {bad:?}: the parts are {}", PARTS.join(", "));
        std::process::exit(2);
    }
    if parts.is_empty() {
        parts = PARTS.iter().map(|p| p.to_string()).collect();
    }
    let bin = std::env::var("POPDOC_BENCH_BIN")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_popdoc").to_string());
    let runs = std::env::var("POPDOC_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5usize)
        .max(1);
    let Some(d) = Dovecot::start() else {
        println!(
            "Dovecot could not be started: the distance benchmark needs it (see the README's setup); nothing was measured"
        );
        return;
    };
    let started = Instant::now();
    let mut b = Bench {
        d,
        bin,
        runs,
        rows: Vec::new(),
        notes: Vec::new(),
    };
    let ms = Duration::from_millis;
    if parts.iter().any(|p| p == "list1000") {
        b.user("m1000", 1000);
        b.list(
            "`popdoc list`, 1,000 msgs, RTT 20 ms",
            "m1000",
            1000,
            Some(ms(20)),
            runs,
        );
    }
    if parts.iter().any(|p| p == "list5000" || p == "tui5000") {
        b.user("m5000", 5000);
    }
    if parts.iter().any(|p| p == "list5000") {
        b.list(
            "`popdoc list`, 5,000 msgs, RTT 100 ms",
            "m5000",
            5000,
            Some(ms(100)),
            runs,
        );
    }
    if parts.iter().any(|p| p == "tui5000") {
        b.tui("m5000", 5000, Some(ms(100)));
    }
    if parts.iter().any(|p| p == "big") {
        b.big();
    }
    if parts.iter().any(|p| p == "save") {
        b.save();
    }
    println!();
    println!(
        "popdoc distance benchmark ({} build, {} runs per figure, parts: {}), {:.0} s",
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
        runs,
        parts.join(" "),
        started.elapsed().as_secs_f64()
    );
    println!();
    println!("| what | popdoc | reference, plain | ratio | reference, TLS | ratio |");
    println!("|---|---|---|---|---|---|");
    for r in &b.rows {
        println!("| {} |", r.join(" | "));
    }
    for n in &b.notes {
        println!("\nNote: {n}");
    }
}
