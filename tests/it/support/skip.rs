//! The one way a real-server test says that it cannot run: a one-line note
//! in the default `cargo test` output, or a failure when the environment
//! variable that requires the server is `1` (CI).
//!
//! libtest captures what `print!`/`eprint!` write, and shows it only for
//! failing tests or with `--nocapture`; a write to `std::io::stderr()` itself
//! is not captured, so the note is written that way. Each note is written
//! once per test process.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Mutex;

/// Panics when `require_env` is `1`; otherwise writes, once per `what` in
/// this process, `note: WHAT skipped: WHY (set REQUIRE_ENV=1 to make this an
/// error)` straight to stderr. `why` is cut to its first line.
pub fn skip(require_env: &str, what: &str, why: &str) {
    let first = why.lines().next().unwrap_or("").trim();
    if std::env::var(require_env).as_deref() == Ok("1") {
        panic!("{require_env}=1 but the {what} cannot run: {why}");
    }
    static NOTED: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let first_time = NOTED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(what.to_owned());
    if first_time {
        let _ = writeln!(
            std::io::stderr().lock(),
            "note: {what} skipped: {first} (set {require_env}=1 to make this an error)"
        );
    }
}

/// The first of `commands` that is not an executable file in a folder of
/// PATH, as an error naming it and the packages that provide them.
pub fn commands_on_path(commands: &[&str], packages: &str) -> Result<(), String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
    for c in commands {
        let found = dirs.iter().any(|d| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(d.join(c))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        });
        if !found {
            return Err(format!("{c} not found in PATH (install {packages})"));
        }
    }
    Ok(())
}

/// `1` makes a missing keyring (see [`keyring_tools`]) a failure.
pub const KEYRING_ENV: &str = "POPDOC_REQUIRE_KEYRING";

/// Whether the keyring round trip can run: `dbus-run-session`, `dbus-send`
/// and `gnome-keyring-daemon` are in PATH. Otherwise it skips (see [`skip`]).
pub fn keyring_tools() -> bool {
    match commands_on_path(
        &["dbus-run-session", "dbus-send", "gnome-keyring-daemon"],
        "dbus-daemon and gnome-keyring",
    ) {
        Ok(()) => true,
        Err(why) => {
            skip(KEYRING_ENV, "keyring round trip test", &why);
            false
        }
    }
}
