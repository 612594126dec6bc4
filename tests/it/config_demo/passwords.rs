//! Password sources through the real binary that need more than a file:
//! the keyring without a session bus (falls back and says so), failing
//! password commands, and a real keyring round trip with gnome-keyring.
use super::*;

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
