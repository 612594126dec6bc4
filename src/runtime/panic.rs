//! The panic hook: a bug must not leave the terminal in raw mode, delete
//! anything, or print a secret. It prints a fixed sentence with the place
//! of the panic and never its message (which could hold anything, even a
//! password), restores the terminal, removes temporary files, and ends the
//! process at once, so that no task goes on to send `QUIT`.

use std::io::Write;
use std::path::{Path, PathBuf};

/// The exit status after a panic (as Rust's default).
pub const PANIC_EXIT: i32 = 101;

/// Installs the hook. `log` is the `--log` file, named in the sentence
/// as where to look (the log holds what popdoc did before, not the
/// panic's message).
pub fn install_panic_hook(log: Option<PathBuf>) {
    std::panic::set_hook(Box::new(move |info| {
        // A panic that `util::contained` catches (a parser of server
        // input) is that input's fault, not the end of popdoc.
        if crate::util::panic_is_contained() {
            return;
        }
        crate::cleanup::remove_all();
        super::restore_terminal();
        let location = info
            .location()
            .map(|l| format!("{}:{}:{}", l.file(), l.line(), l.column()));
        tracing::error!(
            "panic at {}",
            location.as_deref().unwrap_or("an unknown place")
        );
        let _ = writeln!(
            std::io::stderr(),
            "{}",
            panic_text(location.as_deref(), log.as_deref())
        );
        std::process::exit(PANIC_EXIT);
    }));
}

/// What the user reads after a panic: what happened, that nothing was
/// deleted, and what to do. Built from the place only.
pub fn panic_text(location: Option<&str>, log: Option<&Path>) -> String {
    let at = location.map(|l| format!(" (at {l})")).unwrap_or_default();
    let report = match log {
        Some(p) => format!(
            " The log {} shows what popdoc did before it stopped.",
            p.display()
        ),
        None => {
            " Running it again with --log FILE records what popdoc does, for the report.".into()
        }
    };
    format!(
        "popdoc: popdoc stopped on an internal error{at}. It closed the connection without QUIT, so the server deleted nothing that was not committed before; partial files were removed. This is a bug: please report it with what you did.{report}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_names_the_place_and_the_log() {
        let t = panic_text(Some("src/x.rs:1:2"), Some(Path::new("p.log")));
        assert!(
            t.contains("(at src/x.rs:1:2)") && t.contains("The log p.log"),
            "{t}"
        );
        let t = panic_text(None, None);
        assert!(t.contains("--log FILE") && !t.contains("(at"), "{t}");
    }
}
