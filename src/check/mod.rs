//! `popdoc check ACCOUNT|URL`: a diagnostic report a support person can
//! paste into a ticket — the timing of every stage, TLS and certificate
//! details, what the server announces, the login, mailbox sanity, and every
//! refusal explained — as text or JSON (docs/check-json.md), for POP3
//! and for SMTP submission.
//!
//! The figures come from what the connection recorded. Nothing is ever
//! deleted, no mail is sent except the one test message asked for with
//! `--send-test`, and the transcript, report and errors never hold a
//! password or token. The report itself (model, text, and the same report
//! built from an open session for the TUI) is in [`crate::report`]; this
//! module runs the probes and writes what they found.

pub mod pop;
mod retr;
pub mod smtp;

use std::io::Write;

use crate::account::Account;
use crate::cli::{CheckArgs, ConnArgs};
use crate::report::{EXIT_OTHER, EXIT_USAGE, Report, render_text};

/// A finished check (POP3 or SMTP): the report and the transcript of
/// every run.
pub struct Diagnosis {
    pub report: Report,
    pub transcript: String,
}

/// Turns a POP3 account name or URL and the options into an [`Account`]
/// (the config file's lookup, or [`ConnArgs::account`] for URLs only).
pub type Resolve<'a> = dyn Fn(&str, &ConnArgs) -> Result<Account, String> + Sync + 'a;

/// The terminal's width when standard output is one; None when piped, so
/// that the text is not wrapped.
fn terminal_width() -> Option<usize> {
    if !std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        return None;
    }
    crossterm::terminal::size()
        .ok()
        .map(|(w, _)| usize::from(w))
        .filter(|w| *w > 0)
}

/// Runs `popdoc check` and returns the exit status (see [`report`]).
/// SMTP URLs are handled here; anything else goes through `resolve`.
pub async fn run(args: &CheckArgs, resolve: &Resolve<'_>) -> i32 {
    let usage = |msg: String| {
        let _ = writeln!(std::io::stderr(), "popdoc: {msg}");
        EXIT_USAGE
    };
    let (mut report, transcript) = if smtp::is_smtp_url(&args.target) {
        if args.retr.is_some() {
            return usage("--retr is for POP3; an SMTP check has no messages to fetch".into());
        }
        let t = match smtp::target(&args.target, &args.conn) {
            Ok(t) => t,
            Err(e) => return usage(e),
        };
        let send = match (&args.send_test, &args.from) {
            (Some(to), Some(from)) => {
                for a in [to, from] {
                    if let Err(e) = smtp::valid_address(a) {
                        return usage(e);
                    }
                }
                Some(smtp::SendOptions {
                    from: from.clone(),
                    to: to.clone(),
                })
            }
            _ => None,
        };
        let o = smtp::check(&t, send.as_ref(), args.repeat).await;
        (o.report, o.transcript)
    } else {
        if args.send_test.is_some() {
            return usage(
                "--send-test is for SMTP (smtp://HOST or smtps://HOST); a POP3 check sends no mail"
                    .into(),
            );
        }
        let account = match resolve(&args.target, &args.conn) {
            Ok(a) => a,
            Err(e) => return usage(e),
        };
        let opts = pop::CheckOptions {
            retr: args.retr,
            repeat: args.repeat,
        };
        let o = pop::check(&account, &opts).await;
        (o.report, o.transcript)
    };
    if let Some(path) = &args.transcript
        && let Err(e) = std::fs::write(path, transcript.as_bytes())
    {
        report.problem(crate::report::Problem::new(
            crate::report::Severity::Error,
            None,
            format!("could not write the transcript to {}: {e}", path.display()),
        ));
        if report.ok {
            report.fail(
                None,
                format!("could not write the transcript to {}: {e}", path.display()),
            );
        }
    }
    let out = if args.json {
        report.to_json() + "\n"
    } else {
        render_text(&report, terminal_width())
    };
    let mut stdout = std::io::stdout().lock();
    if let Err(e) = stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush())
        && e.kind() != std::io::ErrorKind::BrokenPipe
    {
        let _ = writeln!(std::io::stderr(), "popdoc: writing the report failed: {e}");
        return EXIT_OTHER;
    }
    report.exit_code
}
