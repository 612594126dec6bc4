//! The header cache through the real binary (`popdoc list`, `popdoc save`,
//! `popdoc cache`) against the built-in server: a reopen sends `TOP` only
//! for unknown or changed messages; a bad file is rebuilt; servers without
//! UIDL, `--no-cache` and `cache = false` write nothing; the file is
//! private and holds no password. Every run shares one `XDG_CACHE_HOME`.

use std::path::{Path, PathBuf};

use crate::support::cli::{Run, popdoc, write_config};
use crate::support::demo;

use popdoc::demo::{Faults, Mailbox, Server};

const PASSWORD: &str = "cache-Secret-77";

fn messages() -> Vec<Vec<u8>> {
    (1..=3)
        .map(|i| {
            format!("From: Ann {i} <ann{i}@example.org>\r\nSubject: report {i}\r\nDate: Fri, 20 Nov 2026 09:1{i}:00 +0000\r\n\r\nbody {i}\r\n")
                .into_bytes()
        })
        .collect()
}

async fn server(faults: Faults) -> Server {
    demo::start("ann", PASSWORD, faults, Mailbox::from_messages(messages())).await
}

fn url(s: &Server) -> String {
    format!("pop3://ann@127.0.0.1:{}", s.port())
}

/// `popdoc ARGS` with the shared cache folder, the password, and more env.
async fn run(cache: &Path, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut r = Run::new(args)
        .password(PASSWORD)
        .env("XDG_CACHE_HOME", cache.to_str().unwrap());
    for (k, v) in env {
        r = r.env(k, v);
    }
    let out = popdoc(r).await;
    assert!(
        out.status.success(),
        "popdoc {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `popdoc list --json`: (number, subject, size) of each message.
async fn list(cache: &Path, s: &Server, more: &[&str]) -> Vec<(u64, String, u64)> {
    let target = url(s);
    let mut args = vec!["list", "--json", "--plaintext", &target];
    args.extend_from_slice(more);
    let out = run(cache, &args, &[]).await;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            assert!(m["header_error"].is_null(), "{m}");
            (
                m["number"].as_u64().unwrap(),
                m["subject"].as_str().unwrap().to_string(),
                m["size"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// The `TOP` commands the server received since `from`.
fn tops(s: &Server, from: usize) -> Vec<String> {
    s.received()[from..]
        .iter()
        .filter(|l| l.starts_with("TOP "))
        .cloned()
        .collect()
}

/// Every file below `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn wanted() -> Vec<(u64, String, u64)> {
    messages()
        .iter()
        .enumerate()
        .map(|(i, m)| (i as u64 + 1, format!("report {}", i + 1), m.len() as u64))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cached_list_asks_only_for_new_or_changed_messages() {
    // Like GNU Mailutils: a message sent with RETR is stored again with
    // X-UIDL and Status headers, so its size changes and its UIDL stays.
    let mailbox = Mailbox::from_messages(messages());
    let s = demo::start("ann", PASSWORD, Faults::mailutils(), mailbox.clone()).await;
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    assert_eq!(list(c, &s, &[]).await, wanted());
    assert_eq!(tops(&s, 0).len(), 3, "the first run fetches every header");
    let stored = files(c);
    assert_eq!(stored.len(), 1, "one file for the account: {stored:?}");

    let before = s.received().len();
    assert_eq!(list(c, &s, &[]).await, wanted());
    assert_eq!(tops(&s, before), Vec::<String>::new(), "all known");

    // Message 2 is sent with RETR; the server stores it again, larger.
    let saves = tempfile::tempdir().unwrap();
    let target = url(&s);
    let dest = saves.path().join("m.eml");
    run(
        c,
        &[
            "save",
            "--plaintext",
            &target,
            "2",
            "-o",
            dest.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    // The server stores the message again when that session has ended.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while mailbox.is_locked() && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let before = s.received().len();
    let now = list(c, &s, &[]).await;
    assert_eq!(tops(&s, before), ["TOP 2 0"], "only the changed one");
    assert!(now[1].2 > wanted()[1].2, "{now:?}");
    assert_eq!(now[1].1, "report 2");
    assert_eq!((&now[0], &now[2]), (&wanted()[0], &wanted()[2]));

    // Private, and without the password or the user's name in it or in
    // its name.
    let file = &files(c)[0];
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(file), 0o600);
        assert_eq!(mode(file.parent().unwrap()), 0o700);
    }
    let bytes = std::fs::read(file).unwrap();
    let has = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
    assert!(has(b"report 1"), "the file holds the headers");
    assert!(!has(PASSWORD.as_bytes()), "no password in the cache");
    let name = file.to_str().unwrap();
    assert!(
        !name.contains("ann@") && !name.contains("127.0.0.1"),
        "{name}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_cache_file_is_rebuilt_and_never_shown() {
    let s = server(Faults::default()).await;
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    list(c, &s, &[]).await;
    let file = files(c).remove(0);
    let good = std::fs::read(&file).unwrap();
    // A subject changed (as a disk error would), cut short, another
    // version, something else entirely.
    let at = good.windows(8).position(|w| w == b"report 2").unwrap();
    let mut changed = good.clone();
    changed[at + 7] = b'9';
    let mut version = good.clone();
    version[8] = 99;
    for bad in [
        changed,
        good[..good.len() - 10].to_vec(),
        version,
        b"{}".to_vec(),
    ] {
        std::fs::write(&file, &bad).unwrap();
        let before = s.received().len();
        assert_eq!(list(c, &s, &[]).await, wanted(), "no wrong header");
        assert_eq!(tops(&s, before).len(), 3, "nothing used from a bad file");
        assert_eq!(std::fs::read(&file).unwrap(), good, "rebuilt");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn no_uidl_no_cache_flag_and_config_key_write_nothing() {
    let s = server(Faults {
        no_uidl: true,
        ..Faults::default()
    })
    .await;
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    list(c, &s, &[]).await;
    list(c, &s, &[]).await;
    assert_eq!(tops(&s, 0).len(), 6);
    assert_eq!(files(c), Vec::<PathBuf>::new(), "no UIDL, no cache");

    let s = server(Faults::default()).await;
    list(c, &s, &["--no-cache"]).await;
    list(c, &s, &["--no-cache"]).await;
    assert_eq!(tops(&s, 0).len(), 6, "--no-cache fetches every header");
    assert_eq!(files(c), Vec::<PathBuf>::new());

    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &format!(
            "[accounts.lab]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"ann\"\ntls = \"plaintext\"\ncache = false\n",
            s.port()
        ),
        0o600,
    );
    let env = [("POPDOC_CONFIG", config.to_str().unwrap())];
    let before = s.received().len();
    run(c, &["list", "lab"], &env).await;
    run(c, &["list", "lab"], &env).await;
    assert_eq!(
        tops(&s, before).len(),
        6,
        "cache = false fetches every header"
    );
    assert_eq!(files(c), Vec::<PathBuf>::new());
    // The same account with the cache on writes one.
    std::fs::write(
        &config,
        std::fs::read_to_string(&config)
            .unwrap()
            .replace("cache = false", "cache = true"),
    )
    .unwrap();
    run(c, &["list", "lab"], &env).await;
    assert_eq!(files(c).len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn cache_path_and_clear() {
    let s = server(Faults::default()).await;
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    let stdout = |o: std::process::Output| String::from_utf8(o.stdout).unwrap();
    let folder = c.join("popdoc");
    let out = run(c, &["cache", "path"], &[]).await;
    assert_eq!(stdout(out), format!("{}\n", folder.display()));

    let target = url(&s);
    let out = run(c, &["cache", "path", &target], &[]).await;
    let file = stdout(out).trim_end().to_string();
    assert!(Path::new(&file).starts_with(&folder), "{file}");
    assert!(!Path::new(&file).exists());

    list(c, &s, &[]).await;
    assert_eq!(files(c), [PathBuf::from(&file)], "the file it named");

    let out = run(c, &["cache", "clear", &target], &[]).await;
    assert_eq!(stdout(out), format!("removed {file}\n"));
    assert!(!Path::new(&file).exists());
    let out = run(c, &["cache", "clear"], &[]).await;
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(stdout(out), "");
    assert!(err.contains("nothing removed"), "{err}");

    // Clear without an account removes every account's file.
    list(c, &s, &[]).await;
    let out = run(c, &["cache", "clear"], &[]).await;
    assert_eq!(stdout(out), format!("removed {file}\n"));
    assert_eq!(files(c), Vec::<PathBuf>::new());
}
