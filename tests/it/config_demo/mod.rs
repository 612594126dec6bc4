//! The config file through the real binary: accounts by name against the
//! built-in server, invalid files (file, line and key in the message),
//! `popdoc config path`, password sources, and the example file; the
//! keyring fallback without a session bus, password commands and a real
//! keyring round trip when gnome-keyring is there are in `passwords`.

use crate::support::demo;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::support::cli::{Run, popdoc, write_config};
use crate::support::skip;
use popdoc::demo::{Mailbox, Server, ServerConfig};

const PASSWORD: &str = "cfg-Secret-73";

async fn server() -> Server {
    demo::start_with(
        ServerConfig {
            user: "ann".into(),
            password: PASSWORD.into(),
            ..Default::default()
        },
        Mailbox::from_messages(vec![
            b"Subject: one\r\n\r\nx\r\n".to_vec(),
            b"Subject: two\r\n\r\ny\r\n".to_vec(),
        ]),
    )
    .await
}

fn account(name: &str, s: &Server, extra: &str) -> String {
    format!(
        "[accounts.{name}]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"ann\"\ntls = \"plaintext\"\n{extra}\n",
        s.port()
    )
}

fn count(out: &Output) -> u64 {
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["count"].as_u64().unwrap()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn list_by_account_name_with_each_password_source() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let pw_file = dir.path().join("pw");
    std::fs::write(&pw_file, format!("{PASSWORD}\nsecond line\n")).unwrap();
    let text = [
        "default = \"cmd\"\n".to_string(),
        account(
            "cmd",
            &s,
            &format!("password-command = \"cat '{}'\"", pw_file.display()),
        ),
        account("env", &s, "password-env = \"ANN_POP_PW\"\nlogin = \"user\""),
        account(
            "inline",
            &s,
            &format!("password = \"{PASSWORD}\"\nlogin = \"plain\""),
        ),
        account("wrong", &s, "password-command = \"echo nope\""),
    ]
    .concat();
    let cfg = write_config(dir.path(), &text, 0o600);
    let c = cfg.to_str().unwrap();

    let out = popdoc(Run::new(&["list", "--json", "cmd", "--config", c])).await;
    assert_eq!(count(&out), 2);

    let out =
        popdoc(Run::new(&["list", "--json", "--config", c, "env"]).env("ANN_POP_PW", PASSWORD))
            .await;
    assert_eq!(count(&out), 2);
    let out = popdoc(Run::new(&["list", "--json", "--config", c, "env"])).await;
    assert_eq!(
        stderr(&out),
        "popdoc: the environment variable ANN_POP_PW is not set.\n"
    );

    // A password written in the file works, with a warning naming the line.
    let out = popdoc(Run::new(&["list", "--json", "--config", c, "inline"])).await;
    assert_eq!(count(&out), 2);
    let err = stderr(&out);
    let line = text
        .lines()
        .position(|l| l.starts_with("password ="))
        .unwrap()
        + 1;
    assert!(
        err.contains(&format!(
            "popdoc: warning: {c} line {line}: account \"inline\" has its password written in the config file"
        )),
        "{err}"
    );

    // Options on the command line override the account's.
    let out = popdoc(Run::new(&["list", "--json", "--config", c, "wrong"])).await;
    assert!(stderr(&out).contains("login failed"), "{}", stderr(&out));
    let cmd = format!("cat '{}'", pw_file.display());
    let out = popdoc(Run::new(&[
        "list",
        "--json",
        "--config",
        c,
        "wrong",
        "--password-command",
        &cmd,
    ]))
    .await;
    assert_eq!(count(&out), 2);
    let out = popdoc(Run::new(&[
        "list", "--config", c, "wrong", "--login", "apop",
    ]))
    .await;
    assert!(
        stderr(&out).contains("APOP"),
        "the account's login method was replaced: {}",
        stderr(&out)
    );

    // URLs keep working next to the config file.
    let url = format!("pop3://ann@127.0.0.1:{}", s.port());
    let out = popdoc(
        Run::new(&["list", "--json", "--plaintext", &url, "--config", c])
            .env("POPDOC_PASSWORD", PASSWORD),
    )
    .await;
    assert_eq!(count(&out), 2);

    // An account name that is not there.
    let out = popdoc(Run::new(&["list", "--config", c, "nope"])).await;
    assert_eq!(
        stderr(&out),
        format!("popdoc: {c}: no account \"nope\"; the config has: cmd, env, inline, wrong\n")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn save_uses_the_account() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let text = account("m", &s, "password-env = \"PW\"");
    let cfg = write_config(dir.path(), &text, 0o644);
    let out_file = dir.path().join("two.eml");
    let out = popdoc(
        Run::new(&[
            "save",
            "m",
            "2",
            "-o",
            out_file.to_str().unwrap(),
            "--config",
            cfg.to_str().unwrap(),
        ])
        .env("PW", PASSWORD),
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        std::fs::read(&out_file).unwrap(),
        b"Subject: two\r\n\r\ny\r\n"
    );
}

/// Each invalid file: the line and words the message must have.
const INVALID: &[(&str, usize, &str)] = &[
    (
        "[accounts.work]\nhost = \"h\"\nuser = \"u\"\nhots = \"x\"\n",
        4,
        "unknown key \"hots\" in [accounts.work] (did you mean \"host\"?); allowed: host, port, user,",
    ),
    (
        "# accounts\n\n[accounts.work]\nuser = \"u\"\n",
        3,
        "[accounts.work] has no \"host\"; it is required",
    ),
    (
        "[accounts.work]\nhost = \"h\"\nuser = \"u\"\nport = \"pop3\"\n",
        4,
        "\"port\" must be a number from 1 to 65535",
    ),
    (
        "[accounts.work]\nhost = \"h\"\nuser = \"u\"\ntls = \"ssl\"\n",
        4,
        "\"tls\" must be one of \"implicit\", \"starttls\", \"plaintext\", not \"ssl\"",
    ),
    (
        "[accounts.work]\nhost = \"h\"\nuser = \"u\"\nlogin = \"cram-md5\"\n",
        4,
        "\"login\" must be one of \"auto\", \"plain\", \"login\", \"user\", \"apop\", \"xoauth2\", \"oauthbearer\"",
    ),
    (
        "[accounts.work]\nhost = \"h\"\nuser = \"u\"\nkeyring = true\npassword-command = \"pass x\"\n",
        5,
        "\"password-command\" conflicts with \"keyring\" (line 4): give an account one source for its password or token",
    ),
    (
        "[accounts.work]\nhost = \"h\"\nuser = \"u\"\nfingerprint = \"12:34\"\n",
        4,
        "\"fingerprint\" must be a SHA-256 fingerprint",
    ),
    (
        "[accounts.work]\nhost = \"h\"\nuser = \"u\"\ntls = \"plaintext\"\ninsecure-no-verify = true\n",
        5,
        "\"insecure-no-verify\" has no effect with tls = \"plaintext\"",
    ),
    (
        "colour = \"blue\"\n[accounts.work]\nhost = \"h\"\nuser = \"u\"\n",
        1,
        "unknown key \"colour\" at the top level; allowed: default, accounts",
    ),
    (
        "default = \"home\"\n[accounts.work]\nhost = \"h\"\nuser = \"u\"\n",
        1,
        "\"default\" names \"home\", which is not an account here; the config has: work",
    ),
    (
        "[accounts.work]\nhost = \"h\"\nuser = \"u\"\nkeepalive = -5\n",
        4,
        "\"keepalive\" must be a number from 0 to 3600 seconds (0 turns it off)",
    ),
    (
        "[accounts.work]\nhost = \"h\"\nuser = \"u\"\nsave-dir = 3\n",
        4,
        "\"save-dir\" must be a string (in quotes), not a number",
    ),
    (
        "[accounts.work]\nhost = \"h\"\nuser = \"u\"\n\npreview-lines = 200\npreview-lines = 100\n",
        6,
        "this is not valid TOML: duplicate key preview-lines",
    ),
    ("[accounts.work]\nhost = h\n", 2, "this is not valid TOML"),
];

#[tokio::test(flavor = "multi_thread")]
async fn invalid_files_name_the_file_the_line_and_the_key() {
    let dir = tempfile::tempdir().unwrap();
    for (i, (text, line, words)) in INVALID.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.toml"));
        std::fs::write(&path, text).unwrap();
        let p = path.to_str().unwrap();
        for args in [
            vec!["list", "work", "--config", p],
            vec!["--config", p],
            vec!["config", "path", "--config", p],
        ] {
            let out = popdoc(Run::new(&args)).await;
            assert_eq!(out.status.code(), Some(1), "{text}");
            let err = stderr(&out);
            let prefix = format!("popdoc: {p} line {line}: ");
            let last = err.lines().last().unwrap_or("");
            assert!(
                last.starts_with(&prefix),
                "file {i}: want {prefix:?}\n got {err}"
            );
            assert!(last.contains(words), "file {i}: want {words:?}\n got {err}");
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_in_a_file_others_can_read_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[accounts.work]\nhost = \"h\"\nuser = \"u\"\npassword = \"Mode-Pw-5\"\n",
        0o644,
    );
    let c = cfg.to_str().unwrap();
    let out = popdoc(Run::new(&["list", "work", "--config", c])).await;
    let err = stderr(&out);
    assert_eq!(
        err,
        format!(
            "popdoc: {c} line 4: account \"work\" has its password written in this file, which others can read (mode 644); run `chmod 600 {c}`, or better, use password-command, password-env or keyring = true\n"
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn config_path_follows_flag_env_and_config_folder() {
    let home = tempfile::tempdir().unwrap();
    let xdg = home.path().join("xdg");
    let expected = xdg.join("popdoc").join("popdoc.toml");
    let xdg_s = xdg.to_str().unwrap();
    let out = popdoc(Run::new(&["config", "path"]).env("XDG_CONFIG_HOME", xdg_s)).await;
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{}\n", expected.display())
    );
    assert!(
        stderr(&out).contains("does not exist yet"),
        "{}",
        stderr(&out)
    );

    std::fs::create_dir_all(expected.parent().unwrap()).unwrap();
    std::fs::write(
        &expected,
        "default = \"b\"\n[accounts.a]\nhost = \"h\"\nuser = \"u\"\n[accounts.b]\nhost = \"h\"\nuser = \"u\"\n",
    )
    .unwrap();
    let out = popdoc(Run::new(&["config", "path"]).env("XDG_CONFIG_HOME", xdg_s)).await;
    assert_eq!(
        stderr(&out),
        "popdoc: the file exists and reads cleanly; accounts: a, b (default: b).\n"
    );
    // The default file is found without --config.
    let out = popdoc(Run::new(&["list", "c"]).env("XDG_CONFIG_HOME", xdg_s)).await;
    assert!(
        stderr(&out).contains("no account \"c\"; the config has: a, b"),
        "{}",
        stderr(&out)
    );

    let other = home.path().join("other.toml");
    let o = other.to_str().unwrap();
    let out = popdoc(
        Run::new(&["config", "path"])
            .env("XDG_CONFIG_HOME", xdg_s)
            .env("POPDOC_CONFIG", o),
    )
    .await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), format!("{o}\n"));
    assert!(stderr(&out).contains("(given by POPDOC_CONFIG)"));
    let out =
        popdoc(Run::new(&["config", "path", "--config", "/x/y.toml"]).env("POPDOC_CONFIG", o))
            .await;
    assert_eq!(String::from_utf8_lossy(&out.stdout), "/x/y.toml\n");

    // A name with no config file says what to do.
    let out = popdoc(Run::new(&["list", "work"]).env("POPDOC_CONFIG", o)).await;
    assert_eq!(
        stderr(&out),
        format!(
            "popdoc: \"work\" is not a URL, and there is no config file at {o} (from POPDOC_CONFIG) to look up an account of that name; pass a URL (pop3s://USER@HOST), or create the file: see `popdoc config path` and config/popdoc.example.toml\n"
        )
    );
}

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config/popdoc.example.toml")
}

#[tokio::test(flavor = "multi_thread")]
async fn the_example_file_documents_every_key_and_loads() {
    let text = std::fs::read_to_string(example()).unwrap();
    let assigned: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|l| l.split_once(" = ").map(|(k, _)| k.trim()))
        .collect();
    for key in popdoc::config::schema::ACCOUNT_KEYS.iter().chain(
        popdoc::config::schema::TOP_KEYS
            .iter()
            .filter(|k| **k != "accounts"),
    ) {
        assert!(assigned.contains(key), "the example never sets {key}");
        assert!(
            text.lines().any(|l| l.starts_with(&format!("# {key}: "))),
            "the example has no \"# {key}: ...\" comment"
        );
    }

    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(dir.path(), &text, 0o600);
    let c = cfg.to_str().unwrap();
    let out = popdoc(Run::new(&["config", "path", "--config", c])).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out)
            .contains("reads cleanly; accounts: work, office, nas, gmail, lab (default: work)"),
        "{}",
        stderr(&out)
    );

    let location = popdoc::config::Location {
        path: cfg.clone(),
        origin: popdoc::config::Origin::Flag,
    };
    let config = popdoc::config::load(&location).unwrap();
    assert_eq!(config.accounts.len(), 5);
    for a in &config.accounts {
        let r = popdoc::config::resolve(
            Some(&a.label),
            &popdoc::cli::ConnArgs::default(),
            Some(&cfg),
        )
        .unwrap();
        match r.resolved {
            popdoc::config::Resolved::One(got) => assert_eq!(got.label, a.label),
            other => panic!("{other:?}"),
        }
    }
    let r = popdoc::config::resolve(None, &popdoc::cli::ConnArgs::default(), Some(&cfg)).unwrap();
    assert!(matches!(r.resolved, popdoc::config::Resolved::One(a) if a.label == "work"));
}

mod passwords;
