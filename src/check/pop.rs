//! The POP3 check: connect, log in, STAT, LIST, UIDL, `TOP n 0`, an
//! optional RETR into a scratch file, QUIT; K times with `--repeat`.
//! Figures come from the connection's own records (connect times, stages,
//! per-command timings), never from a second clock.
//!
//! Never sends DELE; `--retr` is skipped on a server that says `EXPIRE 0`
//! (its QUIT would delete what was retrieved).

use std::time::Duration;

use super::Diagnosis;
use super::retr::{RetrSample, fill_retr, retr_scratch};
use crate::account::Account;
use crate::client::log::Clock;
use crate::client::ops::{HEADER_LIMIT, Listing};
use crate::client::transport::CertCheck;
use crate::client::{Connection, Credentials, Error, Stage};
use crate::pop3::Command;
use crate::pop3::capa::Expire as CapaExpire;
use crate::pop3::reply::{parse_scan_listing, parse_uid_listing};
use crate::report::session::{
    conn_samples, connection_info, describe_server, finish, mailbox_info, stage_samples,
};
use crate::report::stats::Samples;
use crate::report::tls;
use crate::report::{LoginInfo, Problem, Protocol, Report, Severity, Source, Step, TopInfo};

/// What to do besides the standard steps.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// RETR this message into a scratch file.
    pub retr: Option<u32>,
    /// Run the whole check this many times (at least 1).
    pub repeat: u32,
}

struct Run {
    samples: Vec<(Step, Duration)>,
    retr: Option<RetrSample>,
    transcript: String,
    failed: bool,
}

/// Runs the check against `account`.
pub async fn check(account: &Account, opts: &CheckOptions) -> Diagnosis {
    let started = crate::util::rfc3339(crate::report::cert::now()).unwrap_or_default();
    let mut report = Report::new(Protocol::Pop3, Source::Check, &account.label, started);
    report.runs_requested = opts.repeat.max(1);
    report.connection = connection_info(account);
    // One clock for the whole transcript file, whatever the number of runs.
    let clock = Clock::now();
    let mut transcript = clock.header(&account.label);
    let (secret, token) = match crate::secret::obtain(account) {
        Ok(s) => s,
        Err(e) => {
            let message = format!("{e} popdoc did not connect to the server.");
            report.problem(Problem::new(
                Severity::Error,
                Some(Step::Login),
                message.clone(),
            ));
            report.fail(Some(Step::Login), message);
            return Diagnosis { report, transcript };
        }
    };
    let creds = account.credentials(secret, token);
    let mut samples = Samples::default();
    let mut retrs = Vec::new();
    let runs = opts.repeat.max(1);
    for run in 1..=runs {
        let r = one_run(account, &creds, opts, run, &mut report, &clock).await;
        samples.extend(&r.samples);
        retrs.extend(r.retr);
        if runs > 1 {
            transcript.push_str(&format!("# run {run} of {runs}\n"));
        }
        transcript.push_str(&r.transcript);
        if r.failed {
            break;
        }
        report.runs_completed += 1;
    }
    report.timings = samples.rows();
    fill_retr(&mut report, &retrs);
    finish(&mut report);
    Diagnosis { report, transcript }
}

/// The stage that failed, from the stage under way and the error.
fn open_step(stage: Stage, e: &Error) -> Step {
    match e {
        Error::Resolve { .. } => Step::Dns,
        Error::Tls { .. } | Error::CaFile { .. } => Step::Tls,
        _ => Step::from(stage),
    }
}

/// Records a failure: the error sentence, and the response code explained.
fn record_failure(report: &mut Report, step: Step, e: &Error, run: u32) {
    let mut p = report.run_failure(step, run, e);
    if let Some(code) = e.status().and_then(|s| s.code.as_ref()) {
        p.response_code = Some(code.to_string());
        p.explanation = Some(code.explain().to_string());
        if *code == crate::pop3::RespCode::LoginDelay && run > 1 {
            report.problem(Problem::new(
                Severity::Note,
                Some(step),
                "the server refused a login this soon after the previous run ([LOGIN-DELAY]); run the check again later, or with fewer --repeat",
            ));
        }
    }
    report.fail_with(p);
}

async fn one_run(
    account: &Account,
    creds: &Credentials,
    opts: &CheckOptions,
    run: u32,
    report: &mut Report,
    clock: &Clock,
) -> Run {
    let first = run == 1;
    let mut current = Stage::Connect;
    let mut done: Vec<(Stage, Duration)> = Vec::new();
    let opened = {
        let mut on_stage = |s: Stage, d: &[(Stage, Duration)]| {
            current = s;
            done = d.to_vec();
        };
        match Connection::connect(account.endpoint(), account.timeout, &mut on_stage).await {
            Ok(mut c) => match c.greet(&mut on_stage).await {
                Ok(()) => Ok(c),
                Err(e) => Err((e, Some(c))),
            },
            Err(e) => Err((e, None)),
        }
    };
    let mut conn = match opened {
        Ok(c) => c,
        Err((e, partial)) => {
            let step = open_step(current, &e);
            // What the server said before the failure stays in the report.
            let greeted = partial.as_ref().filter(|c| c.greeting.ok);
            if first && let Some(c) = greeted {
                describe_server(c, report);
            }
            if first && step == Step::Tls {
                // A second look at the certificate only when one was refused.
                let details = if matches!(
                    e,
                    Error::Tls {
                        fingerprint: Some(_),
                        ..
                    }
                ) {
                    unverified_details(account).await
                } else {
                    None
                };
                tls::describe_failure(&e, details.as_ref(), report);
            }
            record_failure(report, step, &e, run);
            let transcript = match greeted {
                Some(c) => c.log.render(),
                None => format!("# the connection failed before a POP3 session existed: {e}\n"),
            };
            return Run {
                samples: stage_samples(&done),
                retr: None,
                transcript,
                failed: true,
            };
        }
    };
    if first {
        report.connection.address = conn.times.addr.map(|a| a.to_string());
        if let Some(info) = &conn.tls {
            tls::describe(info, &account.cert, report);
        }
        describe_server(&conn, report);
    }
    let mut retr = None;
    let failed = match session(&mut conn, account, creds, opts, run, report, &mut retr).await {
        Ok(()) => false,
        Err((step, e)) => {
            record_failure(report, step, &e, run);
            true
        }
    };
    if failed {
        conn.shutdown().await;
    }
    Run {
        samples: conn_samples(&conn),
        retr,
        transcript: conn.log.render_on(clock),
        failed,
    }
}

/// Login and the mailbox commands on an open connection.
async fn session(
    conn: &mut Connection,
    account: &Account,
    creds: &Credentials,
    opts: &CheckOptions,
    run: u32,
    report: &mut Report,
    retr: &mut Option<RetrSample>,
) -> Result<(), (Step, Error)> {
    let first = run == 1;
    let mut login_stage = Stage::Login;
    let login = conn
        .login(creds, account.login, &mut |s, _| login_stage = s)
        .await;
    if first {
        let mut info = LoginInfo {
            user: account.user.clone(),
            method: conn.method.clone(),
            ok: login.is_ok(),
            ..Default::default()
        };
        if let Err(e) = &login
            && let Some(status) = e.status()
        {
            info.reply = Some(status.to_string());
            if let Some(code) = &status.code {
                info.response_code = Some(code.to_string());
                info.explanation = Some(code.explain().to_string());
            }
        }
        report.login = Some(info);
    }
    login.map_err(|e| {
        let step = if login_stage == Stage::CapaAfterLogin {
            Step::CapaAfterLogin
        } else {
            Step::Login
        };
        (step, e)
    })?;
    if first {
        describe_server(conn, report);
    }

    let (messages, total) = conn.stat().await.map_err(|e| (Step::Stat, e))?;
    let list = conn
        .command(Command::List(None))
        .await
        .map_err(|e| (Step::List, e))?;
    let mut listing = Vec::new();
    for line in body_lines(list.body.as_deref().unwrap_or_default()) {
        let (number, size) = parse_scan_listing(line).map_err(|m| {
            (
                Step::List,
                Error::Malformed {
                    command: "LIST".into(),
                    detail: m.to_string(),
                },
            )
        })?;
        listing.push(Listing {
            number,
            size,
            uidl: None,
        });
    }

    let caps = conn.capabilities().cloned();
    let uidl_supported = if caps.as_ref().is_none_or(|c| c.uidl) {
        match conn.command(Command::Uidl(None)).await {
            Ok(reply) => {
                for line in body_lines(reply.body.as_deref().unwrap_or_default()) {
                    let (n, uid) = parse_uid_listing(line).map_err(|m| {
                        (
                            Step::Uidl,
                            Error::Malformed {
                                command: "UIDL".into(),
                                detail: m.to_string(),
                            },
                        )
                    })?;
                    if let Some(l) = listing.iter_mut().find(|l| l.number == n) {
                        l.uidl = Some(uid);
                    }
                }
                true
            }
            Err(Error::Refused { status, .. }) => {
                if first {
                    report.problem(Problem::new(
                        Severity::Warning,
                        Some(Step::Uidl),
                        format!("the server refused UIDL ({status}): mail clients cannot tell which messages they already have, and may download them again"),
                    ));
                }
                false
            }
            Err(e) => return Err((Step::Uidl, e)),
        }
    } else {
        if first {
            report.problem(Problem::new(
                Severity::Warning,
                Some(Step::Uidl),
                "the server does not offer UIDL: mail clients cannot tell which messages they already have",
            ));
        }
        false
    };

    let mut top = None;
    if let Some(l) = listing.first() {
        if caps.as_ref().is_none_or(|c| c.top) {
            let reply = conn
                .command(Command::Top {
                    msg: l.number,
                    lines: 0,
                    limit: HEADER_LIMIT,
                })
                .await
                .map_err(|e| (Step::Top, e))?;
            top = Some(TopInfo {
                message: l.number,
                header_bytes: reply.body.map_or(0, |b| b.len() as u64),
            });
        } else if first {
            report.problem(Problem::new(
                Severity::Note,
                Some(Step::Top),
                "the server does not offer TOP: headers can only be read by downloading whole messages",
            ));
        }
    } else if first {
        report.problem(Problem::new(
            Severity::Note,
            Some(Step::Top),
            "the mailbox is empty, so TOP was not tried",
        ));
    }

    if first {
        let mut mailbox = mailbox_info(&listing, uidl_supported);
        mailbox.messages = messages;
        mailbox.total_bytes = total;
        mailbox.top = top;
        if listing.len() as u64 != u64::from(messages) {
            report.problem(Problem::new(
                Severity::Warning,
                Some(Step::List),
                format!(
                    "STAT says {messages} messages but LIST lists {}",
                    listing.len()
                ),
            ));
        }
        report.mailbox = Some(mailbox);
    }

    let expire_zero = conn
        .capabilities()
        .and_then(|c| c.expire.as_ref())
        .is_some_and(|(e, _)| *e == CapaExpire::Days(0));
    if let Some(n) = opts.retr {
        let Some(entry) = listing.iter().find(|l| l.number == n).cloned() else {
            return Err((
                Step::Retr,
                Error::Invalid(format!(
                    "there is no message {n} on the server (it has {} messages), so --retr {n} cannot be done",
                    listing.len()
                )),
            ));
        };
        if expire_zero {
            if first {
                report.problem(Problem::new(
                    Severity::Warning,
                    Some(Step::Retr),
                    "the server says EXPIRE 0 (it deletes messages once retrieved), so --retr was skipped: the check must not delete mail",
                ));
            }
        } else {
            *retr = Some(retr_scratch(conn, &entry).await?);
        }
    }

    match conn.command(Command::Quit).await {
        Ok(_) => {}
        Err(e) => return Err((Step::Quit, e)),
    }
    conn.shutdown().await;
    Ok(())
}

/// Certificate details from a handshake that does not check the
/// certificate; only the greeting, CAPA (and STLS) are exchanged.
async fn unverified_details(account: &Account) -> Option<crate::client::transport::TlsInfo> {
    let mut ep = account.endpoint();
    ep.cert = CertCheck::NoVerify;
    let mut conn = Connection::open(ep, account.timeout, &mut |_, _| {})
        .await
        .ok()?;
    let info = conn.tls.clone();
    conn.shutdown().await;
    info
}

fn body_lines(body: &[u8]) -> impl Iterator<Item = &[u8]> {
    body.split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.trim_ascii().is_empty())
}
