//! The config file through the real binary: accounts by name against the
//! built-in server, invalid files (file, line and key in the message),
//! `popdoc config path`, password sources, the keyring fallback without a
//! session bus, and a real keyring round trip when gnome-keyring is there.

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

#[tokio::test(flavor = "multi_thread")]
async fn without_a_session_bus_the_keyring_falls_back_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[accounts.work]\nhost = \"127.0.0.1\"\nport = 9\nuser = \"u\"\ntls = \"plaintext\"\nkeyring = true\n",
        0o600,
    );
    let c = cfg.to_str().unwrap();
    // Reading: a warning, then the prompt, which has no terminal here.
    let out = popdoc(Run::new(&["list", "work", "--config", c])).await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("popdoc: warning: the system keyring is not available: there is no D-Bus session bus (DBUS_SESSION_BUS_ADDRESS is not set)"),
        "{err}"
    );
    assert!(
        err.contains("; asking for the password instead.\n"),
        "{err}"
    );
    assert!(err.contains("no terminal to ask on"), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    // Storing: one clear sentence, without reading the password first.
    let out =
        popdoc(Run::new(&["password", "set", "work", "--config", c]).stdin(b"Never-Read-1\n"))
            .await;
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.starts_with("popdoc: cannot store the password: the system keyring is not available: there is no D-Bus session bus"),
        "{err}"
    );
    assert!(
        err.trim_end()
            .ends_with("; use password-command (e.g. \"pass show mail/work\") or password-env in the account instead"),
        "{err}"
    );
    let out = popdoc(Run::new(&["password", "delete", "work", "--config", c])).await;
    assert!(
        stderr(&out)
            .starts_with("popdoc: cannot remove the password: the system keyring is not available"),
        "{}",
        stderr(&out)
    );
    let out = popdoc(Run::new(&["password", "set", "nope", "--config", c])).await;
    assert!(
        stderr(&out).contains("no account \"nope\"; the config has: work"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn password_command_failures_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write_config(
        dir.path(),
        "[accounts.fails]\nhost = \"127.0.0.1\"\nport = 9\nuser = \"u\"\ntls = \"plaintext\"\npassword-command = \"echo 'gpg: decryption failed' >&2; exit 2\"\n[accounts.silent]\nhost = \"127.0.0.1\"\nport = 9\nuser = \"u\"\ntls = \"plaintext\"\npassword-command = \"true\"\n",
        0o600,
    );
    let c = cfg.to_str().unwrap();
    let out = popdoc(Run::new(&["list", "fails", "--config", c])).await;
    assert_eq!(
        stderr(&out),
        "popdoc: the password command `echo 'gpg: decryption failed' >&2; exit 2` failed (exit status: 2): gpg: decryption failed.\n"
    );
    let out = popdoc(Run::new(&["list", "silent", "--config", c])).await;
    assert_eq!(
        stderr(&out),
        "popdoc: the password command `true` printed nothing.\n"
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

/// A real Secret Service: a private D-Bus session with gnome-keyring.
/// Runs where `dbus-run-session` and `gnome-keyring-daemon` are installed
/// (Debian: dbus-daemon, gnome-keyring); elsewhere it says so in one line
/// of the default test output and passes, unless POPDOC_REQUIRE_KEYRING=1.
#[tokio::test(flavor = "multi_thread")]
async fn keyring_round_trip_with_gnome_keyring() {
    if !skip::keyring_tools() {
        return;
    }
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let cfg = write_config(dir.path(), &account("kr", &s, "keyring = true"), 0o600);
    let pw = dir.path().join("pw");
    std::fs::write(&pw, format!("{PASSWORD}\n")).unwrap();
    let bin = env!("CARGO_BIN_EXE_popdoc");
    let script = format!(
        "printf 'unlock-pw' | gnome-keyring-daemon --unlock --components=secrets >/dev/null 2>&1
# Wait until the unlocked daemon owns the Secret Service name: asked too
# early, D-Bus would start a second, locked one.
i=0
until dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \\
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'; do
  i=$((i+1)); [ $i -gt 200 ] && exit 9; sleep 0.05
done
'{bin}' password set kr --config '{c}' < '{pw}' || exit 10
'{bin}' list --json kr --config '{c}' > '{d}/list.json' 2> '{d}/list.err' || exit 11
'{bin}' password delete kr --config '{c}' || exit 12
'{bin}' list --json kr --config '{c}' > /dev/null 2> '{d}/after.err'
exit 0",
        c = cfg.display(),
        pw = pw.display(),
        d = dir.path().display(),
    );
    let out = tokio::process::Command::new("setsid")
        .args(["-w", "dbus-run-session", "--", "sh", "-c", &script])
        .env("HOME", &home)
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("XDG_RUNTIME_DIR")
        .env_remove("XDG_DATA_HOME")
        .env_remove("POPDOC_PASSWORD")
        .stdin(std::process::Stdio::null())
        .output()
        .await
        .unwrap();
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("Stored the password for \"kr\" in the system keyring."),
        "{all}"
    );
    assert!(
        all.contains("Removed the password for \"kr\" from the system keyring."),
        "{all}"
    );
    let listed: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("list.json")).unwrap()).unwrap();
    assert_eq!(listed["count"], 2, "logged in with the stored password");
    let after = std::fs::read_to_string(dir.path().join("after.err")).unwrap();
    assert!(
        after.starts_with(
            "popdoc: warning: the keyring has no password for \"kr\" (store one with `popdoc password set kr`); asking for the password instead."
        ),
        "{after}"
    );
}
