//! The real binary's command line: values printed whole, save targets
//! checked before connecting, a mistyped command named, completions and
//! the man page, and `demo --serve` used by `list`.

use crate::support::cli::{Run, popdoc, write_config};
use crate::support::demo;

use popdoc::demo::{Mailbox, Server, ServerConfig};

const PASSWORD: &str = "cli-Secret-43";

/// A UIDL as GNU Mailutils makes them: 67 characters.
const LONG_UIDL: &str = "67ea8182e3dc7a5ac80948a3c1d2e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f";

async fn server(mailbox: Mailbox) -> Server {
    demo::start_with(
        ServerConfig {
            user: "ann".into(),
            password: PASSWORD.into(),
            ..Default::default()
        },
        mailbox,
    )
    .await
}

fn url(s: &Server) -> String {
    format!("pop3://ann@127.0.0.1:{}", s.port())
}

fn logged_in(s: &Server) -> bool {
    s.received()
        .iter()
        .any(|l| l.starts_with("USER") || l.starts_with("AUTH") || l.starts_with("APOP"))
}

#[tokio::test(flavor = "multi_thread")]
async fn long_values_are_printed_and_saved_whole_when_piped() {
    assert_eq!(LONG_UIDL.len(), 67);
    let mbox = tempfile::tempdir().unwrap();
    let from = "Someone With A Rather Long Display Name <someone.with.a.long.address@example.org>";
    let subject =
        "A subject that is much longer than any terminal is wide, so that a cut would show: "
            .repeat(3);
    std::fs::write(
        mbox.path().join(format!("{LONG_UIDL}.eml")),
        format!("From: {from}\r\nSubject: {subject}\r\n\r\nbody\r\n"),
    )
    .unwrap();
    let s = server(Mailbox::from_dir(mbox.path()).unwrap()).await;
    assert_eq!(s_uidls(mbox.path()), [LONG_UIDL]);

    // Standard output is a pipe here: nothing may be cut.
    let out = popdoc(Run::new(&["list", "--plaintext", &url(&s)]).password(PASSWORD)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains(LONG_UIDL), "{table}");
    assert!(
        table.contains("Someone With A Rather Long Display Name"),
        "{table}"
    );
    assert!(table.contains(subject.trim_end()), "{table}");
    assert!(!table.contains('…'), "{table}");

    // The printed UIDL can be pasted into save --uidl, and names the file whole.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let out = popdoc(
        Run::new(&[
            "save",
            "--plaintext",
            &url(&s),
            "--uidl",
            LONG_UIDL,
            "--dir",
            d,
        ])
        .password(PASSWORD),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(
        names[0].ends_with(&format!("_{LONG_UIDL}.eml")),
        "{names:?}"
    );
}

fn s_uidls(dir: &std::path::Path) -> Vec<String> {
    Mailbox::from_dir(dir).unwrap().uidls()
}

#[tokio::test(flavor = "multi_thread")]
async fn save_targets_are_checked_before_connecting() {
    let s = server(Mailbox::from_messages(vec![
        b"Subject: x\r\n\r\nx\r\n".to_vec(),
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();

    // A mistyped folder for -o: refused, not created, no login.
    let typo = dir.path().join("no-such-folder");
    let file = typo.join("one.eml");
    let out = popdoc(
        Run::new(&[
            "save",
            "--plaintext",
            &url(&s),
            "1",
            "-o",
            file.to_str().unwrap(),
        ])
        .password(PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("does not exist"), "{err}");
    assert!(err.contains("no-such-folder"), "{err}");
    assert!(!typo.exists(), "the folder was created");
    assert!(!logged_in(&s), "{:?}", s.received());

    // The same for --dir.
    let out = popdoc(
        Run::new(&[
            "save",
            "--plaintext",
            &url(&s),
            "1",
            "--dir",
            typo.to_str().unwrap(),
        ])
        .password(PASSWORD),
    )
    .await;
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("does not exist"), "{err}");
    assert!(!typo.exists());
    assert!(!logged_in(&s), "{:?}", s.received());

    // An existing -o file: refused before connecting, left untouched.
    let taken = dir.path().join("taken.eml");
    std::fs::write(&taken, b"keep me").unwrap();
    let out = popdoc(
        Run::new(&[
            "save",
            "--plaintext",
            &url(&s),
            "1",
            "-o",
            taken.to_str().unwrap(),
        ])
        .password(PASSWORD),
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("already exists; popdoc never overwrites"),
        "{err}"
    );
    assert!(!logged_in(&s), "{:?}", s.received());
    assert_eq!(std::fs::read(&taken).unwrap(), b"keep me");
}

/// `check --repeat --transcript`: one header, one clock; the second run's
/// times go on from the first's instead of restarting at 0.
#[tokio::test(flavor = "multi_thread")]
async fn check_transcript_has_one_clock() {
    let s = server(Mailbox::from_messages(vec![
        b"Subject: x\r\n\r\nx\r\n".to_vec(),
    ]))
    .await;
    let dir = tempfile::tempdir().unwrap();
    let tr = dir.path().join("t.txt");
    let out = popdoc(
        Run::new(&[
            "check",
            "--plaintext",
            "--repeat",
            "2",
            "--transcript",
            tr.to_str().unwrap(),
            &url(&s),
        ])
        .password(PASSWORD),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = std::fs::read_to_string(&tr).unwrap();
    let headers: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("# popdoc transcript"))
        .collect();
    assert_eq!(headers.len(), 1, "{text}");
    assert!(text.starts_with(headers[0]), "{text}");
    assert!(
        headers[0].contains("one clock for the whole file"),
        "{text}"
    );
    let mut last = 0.0f64;
    let mut runs = 0;
    for l in text.lines() {
        if l.starts_with("# run ") {
            runs += 1;
        }
        if l.starts_with('#') {
            continue;
        }
        let t: f64 = l.split_whitespace().next().unwrap().parse().unwrap();
        assert!(t >= last, "times went back from {last} to {t}:\n{text}");
        last = t;
    }
    assert_eq!(runs, 2, "{text}");
}

/// `popdoc lsit URL`: the nearest command is named, unless the word is an
/// account in the config file.
#[tokio::test(flavor = "multi_thread")]
async fn a_mistyped_command_is_named() {
    let url = "pop3s://ann@127.0.0.1:9";
    for args in [
        &["lsit", url][..],
        &["lsit"],
        &["--timeout", "5", "sav", url, "1"],
    ] {
        let out = popdoc(Run::new(args)).await;
        let err = String::from_utf8(out.stderr).unwrap();
        let meant = if args.contains(&"sav") {
            "save"
        } else {
            "list"
        };
        assert!(
            err.starts_with(&format!(
                "popdoc: '{}' is not a command; did you mean '{meant}'?",
                if meant == "save" { "sav" } else { "lsit" }
            )),
            "{args:?}: {err}"
        );
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!err.contains("cannot be used with"), "{err}");
    }

    // A word far from every command is still taken for an account.
    let out = popdoc(Run::new(&["office"])).await;
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("\"office\" is not a URL"), "{err}");

    // An account of that name is opened, not corrected.
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[accounts.lsit]\nhost = \"127.0.0.1\"\nport = 9\nuser = \"u\"\n",
        0o600,
    );
    let out = popdoc(Run::new(&[
        "list",
        "lsit",
        "--config",
        cfg.to_str().unwrap(),
    ]))
    .await;
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("did you mean"), "{err}");
    let out = popdoc(Run::new(&["--config", cfg.to_str().unwrap(), "lsit", url])).await;
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("did you mean"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_name_the_commands() {
    for shell in ["bash", "zsh", "fish"] {
        let out = popdoc(Run::new(&["completions", shell])).await;
        assert!(
            out.status.success(),
            "{shell}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let script = String::from_utf8(out.stdout).unwrap();
        for word in [
            "popdoc",
            "list",
            "save",
            "check",
            "demo",
            "plaintext",
            "uidl",
            "cache",
            "no-cache",
        ] {
            assert!(script.contains(word), "{shell} lacks {word}");
        }
    }
    let out = popdoc(Run::new(&["completions", "tcsh"])).await;
    assert_eq!(out.status.code(), Some(2));
}

/// The man page is roff that groff renders without complaint, with the
/// options of the command and of each subcommand.
#[tokio::test(flavor = "multi_thread")]
async fn the_man_page_renders_with_the_options() {
    let out = popdoc(Run::new(&["man"])).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let roff = String::from_utf8(out.stdout).unwrap();
    assert!(roff.contains(".TH popdoc 1"), "{roff}");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("popdoc.1");
    std::fs::write(&file, &roff).unwrap();
    // groff comes with Debian's groff-base (.ci/packages-man).
    let shown = std::process::Command::new("groff")
        .args(["-man", "-Tutf8", "-P-c"])
        .arg(&file)
        .env("GROFF_NO_SGR", "1")
        .output()
        .expect("groff (Debian: groff-base) renders the man page");
    assert!(shown.status.success());
    assert_eq!(String::from_utf8_lossy(&shown.stderr), "", "groff warnings");
    // Strip overstrikes (bold, underline) to compare plain text.
    let text: String = String::from_utf8_lossy(&shown.stdout)
        .split('\u{8}')
        .enumerate()
        .map(|(i, part)| {
            if i == 0 {
                part
            } else {
                &part[part.chars().next().map_or(0, char::len_utf8)..]
            }
        })
        .collect();
    let text = text.replace(['\u{2010}', '\u{2212}'], "-");
    for want in [
        "--plaintext",
        "--ca-file",
        "POPDOC LIST",
        "POPDOC SAVE",
        "--uidl",
        "POPDOC CHECK",
        "--transcript",
        "POPDOC DEMO",
        "--serve",
        "POPDOC CACHE",
        "--no-cache",
    ] {
        assert!(text.contains(want), "the man page lacks {want}:\n{text}");
    }
}

/// `popdoc demo --serve`: the URL and password it prints work for `list`;
/// SIGINT stops it cleanly and removes its mailbox copy.
#[tokio::test(flavor = "multi_thread")]
async fn demo_serve_serves_list_until_interrupted() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    let run = Run::new(&["demo", "--serve"]);
    let mut child = tokio::process::Command::from(run.command())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let (mut url, mut password, mut copy) = (None, None, None);
    let mut printed = String::new();
    while password.is_none() || copy.is_none() || url.is_none() {
        let mut line = String::new();
        let n = tokio::time::timeout(
            std::time::Duration::from_secs(20),
            stdout.read_line(&mut line),
        )
        .await
        .expect("demo --serve prints its URL and password")
        .unwrap();
        assert!(n > 0, "ended early: {printed}");
        printed.push_str(&line);
        let line = line.trim_end();
        if line.starts_with("pop3://demo@127.0.0.1:") {
            url = Some(line.to_string());
        } else if let Some(p) = line.strip_prefix("password: ") {
            password = Some(p.to_string());
        } else if let Some(p) = line.strip_prefix("mailbox copy: ") {
            copy = Some(std::path::PathBuf::from(p));
        }
    }
    let (url, password, copy) = (url.unwrap(), password.unwrap(), copy.unwrap());
    assert!(password.len() >= 16, "{password}");
    assert!(copy.is_dir());

    let out = popdoc(Run::new(&["list", "--plaintext", &url]).password(&password)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(
        table.lines().last().unwrap().contains(" messages, "),
        "{table}"
    );
    let out = popdoc(Run::new(&["list", "--plaintext", &url]).password("demo")).await;
    assert!(
        !out.status.success(),
        "the fixed demo password must not work"
    );

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), child.wait())
        .await
        .expect("demo --serve stops on SIGINT")
        .unwrap();
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).await.unwrap();
    assert!(status.success(), "{status:?}: {rest}");
    assert!(rest.contains("stopped"), "{rest}");
    assert!(!copy.exists(), "the mailbox copy is removed");
}
