//! Ending the process at once, from any thread, without `QUIT`: on
//! SIGTERM, SIGHUP (the terminal window closed), SIGINT (Ctrl-C outside
//! raw mode), or a terminal that can no longer be read. The terminal is
//! restored, the temporary files on `cleanup`'s list are removed, and the
//! process exits with 128 + the signal's number. The connection is simply
//! closed by the exit, so the server deletes nothing that was not
//! committed before.

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use crossterm::event as ct;
use crossterm::execute;

/// Set while popdoc holds the terminal in raw mode on the alternate screen.
static TERMINAL_TAKEN: AtomicBool = AtomicBool::new(false);

pub(super) fn terminal_taken() {
    TERMINAL_TAKEN.store(true, Ordering::SeqCst);
}

/// Raw mode off, the alternate screen left, the cursor shown, the mouse
/// released; only when popdoc took the terminal (so `popdoc list > file`
/// never gets escape codes), and only once.
/// Errors are ignored (never printed: after the window closed, printing
/// would fail, and a failed `eprintln!` panics).
pub fn restore_terminal() {
    if TERMINAL_TAKEN.swap(false, Ordering::SeqCst) {
        let _ = crossterm::terminal::disable_raw_mode();
        let _ = execute!(
            std::io::stdout(),
            ct::DisableMouseCapture,
            crossterm::terminal::LeaveAlternateScreen,
            crossterm::cursor::Show
        );
    }
}

/// Why the process ends early.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// A signal: its name and number.
    Signal(&'static str, i32),
    /// Reading the terminal failed (its window was closed).
    TerminalGone,
}

impl Stop {
    pub fn exit_code(self) -> i32 {
        match self {
            Stop::Signal(_, n) => 128 + n,
            // As if SIGHUP: the usual cause.
            Stop::TerminalGone => 128 + 1,
        }
    }

    pub fn sentence(self) -> String {
        let why = match self {
            Stop::Signal(name, _) => format!("popdoc was stopped by {name}"),
            Stop::TerminalGone => "popdoc stopped because its terminal was closed".to_string(),
        };
        format!(
            "{why}. It closed the connection without QUIT, so the server deleted nothing that was not committed before; partial files were removed."
        )
    }
}

/// Removes temporary files, restores the terminal, says why (ignoring a
/// closed stderr) and exits.
pub fn stop(why: Stop) -> ! {
    // Files first: restoring a terminal that is gone may fail.
    crate::cleanup::remove_all();
    restore_terminal();
    let _ = writeln!(std::io::stderr(), "popdoc: {}", why.sentence());
    std::process::exit(why.exit_code())
}

/// Waits for SIGTERM, SIGHUP or SIGINT, then [`stop`]s. Also takes
/// SIGXFSZ, so that a file-size limit (`ulimit -f`) makes a save fail with
/// a sentence (and its partial file removed) instead of killing popdoc.
#[cfg(unix)]
pub async fn stop_on_signals() {
    use rustix::process::Signal;
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup), Ok(mut int), Ok(mut xfsz)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
        signal(SignalKind::interrupt()),
        signal(SignalKind::from_raw(Signal::XFSZ.as_raw())),
    ) else {
        return;
    };
    let why = loop {
        tokio::select! {
            _ = term.recv() => break Stop::Signal("SIGTERM", Signal::TERM.as_raw()),
            _ = hup.recv() => break Stop::Signal("SIGHUP", Signal::HUP.as_raw()),
            _ = int.recv() => break Stop::Signal("SIGINT", Signal::INT.as_raw()),
            // The write that passed the limit fails with EFBIG; the save
            // reports it.
            _ = xfsz.recv() => continue,
        }
    };
    stop(why)
}

#[cfg(not(unix))]
pub async fn stop_on_signals() {
    if tokio::signal::ctrl_c().await.is_ok() {
        stop(Stop::Signal("Ctrl-C", 2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exit_code_names_the_signal_and_the_sentence_says_nothing_was_deleted() {
        let s = Stop::Signal("SIGTERM", 15);
        assert_eq!(s.exit_code(), 143);
        assert_eq!(Stop::TerminalGone.exit_code(), 129);
        for s in [s, Stop::TerminalGone] {
            let text = s.sentence();
            assert!(text.contains("without QUIT"), "{text}");
            assert!(!text.contains("Signal("), "no Debug print: {text}");
        }
    }
}
