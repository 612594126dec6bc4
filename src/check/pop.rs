//! The POP3 check: connect, log in, STAT, LIST, UIDL, `TOP n 0`, an
//! optional RETR into a scratch file, QUIT; K times with `--repeat`.
//! Figures come from the connection's own records (connect times, stages,
//! per-command timings), never from a second clock.
//!
//! Also [`report_from_session`]: the same report from a connection that is
//! already open and logged in (the TUI), without sending anything.
//!
//! Never sends DELE; QUIT after RETR is skipped on a server that says
//! `EXPIRE 0` (it would delete what was retrieved).

use std::time::Duration;

use super::report::{
    ConnectionInfo, Expire, LoginDelay, LoginInfo, MailboxInfo, MessageInfo, Problem, Protocol,
    Report, RetrInfo, Severity, Source, Step, TopInfo,
};
use super::stats::{Samples, spread};
use super::{tls, uidl};
use crate::account::Account;
use crate::pop3::Command;
use crate::pop3::capa::Expire as CapaExpire;
use crate::pop3::reply::{parse_scan_listing, parse_uid_listing};
use crate::worker::ops::{HEADER_LIMIT, Listing};
use crate::worker::transport::{CertCheck, Security};
use crate::worker::{Connection, Credentials, Error, Stage};

/// What to do besides the standard steps.
#[derive(Debug, Clone)]
pub struct Options {
    /// RETR this message into a scratch file.
    pub retr: Option<u32>,
    /// Run the whole check this many times (at least 1).
    pub repeat: u32,
}

/// A finished check: the report and the transcript of every run.
pub struct Outcome {
    pub report: Report,
    pub transcript: String,
}

/// How many of the largest messages the report names.
const LARGEST: usize = 5;

/// One RETR's figures.
#[derive(Debug, Clone, Copy)]
struct RetrSample {
    message: u32,
    list_size: u64,
    bytes: u64,
    wire_bytes: u64,
    first_byte: Duration,
    transfer: Duration,
}

struct Run {
    samples: Vec<(Step, Duration)>,
    retr: Option<RetrSample>,
    transcript: String,
    failed: bool,
}

pub fn security_name(s: Security) -> &'static str {
    match s {
        Security::Implicit => "tls",
        Security::StartTls => "starttls",
        Security::Plaintext => "plaintext",
    }
}

fn connection_info(account: &Account) -> ConnectionInfo {
    ConnectionInfo {
        host: account.host.clone(),
        port: account.port,
        address: None,
        security: security_name(account.security).into(),
        user: Some(account.user.clone()),
    }
}

/// Runs the check against `account`.
pub async fn check(account: &Account, opts: &Options) -> Outcome {
    let started = crate::util::rfc3339(super::cert::now()).unwrap_or_default();
    let mut report = Report::new(Protocol::Pop3, Source::Check, &account.label, started);
    report.runs_requested = opts.repeat.max(1);
    report.connection = connection_info(account);
    let mut transcript = String::new();
    let (secret, token) = match crate::secret::obtain(account) {
        Ok(s) => s,
        Err(e) => {
            report.fail(Some(Step::Login), e.to_string());
            return Outcome { report, transcript };
        }
    };
    let creds = Credentials {
        user: account.user.clone(),
        secret,
        token,
    };
    let mut samples = Samples::default();
    let mut retrs = Vec::new();
    let runs = opts.repeat.max(1);
    for run in 1..=runs {
        let r = one_run(account, &creds, opts, run, &mut report).await;
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
    Outcome { report, transcript }
}

/// The stage that failed, from the stage under way and the error.
fn open_step(stage: Stage, e: &Error) -> Step {
    match e {
        Error::Resolve { .. } => Step::Dns,
        Error::Tls { .. } | Error::CaFile { .. } => Step::Tls,
        _ => match stage {
            Stage::Connect => Step::Tcp,
            Stage::Tls => Step::Tls,
            Stage::Greeting => Step::Greeting,
            Stage::Capa => Step::Capa,
            Stage::Stls => Step::Stls,
            Stage::Login => Step::Login,
            Stage::CapaAfterLogin => Step::CapaAfterLogin,
        },
    }
}

/// Records a failure: the error sentence, and the response code explained.
fn record_failure(report: &mut Report, step: Step, e: &Error, run: u32) {
    let runs = report.runs_requested;
    let prefix = if runs > 1 {
        format!("run {run} of {runs}: ")
    } else {
        String::new()
    };
    let message = format!("{prefix}{e}");
    let mut p = Problem::new(Severity::Error, Some(step), message.clone());
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
    report.problem(p);
    report.fail(Some(step), message);
}

async fn one_run(
    account: &Account,
    creds: &Credentials,
    opts: &Options,
    run: u32,
    report: &mut Report,
) -> Run {
    let first = run == 1;
    let mut current = Stage::Connect;
    let mut done: Vec<(Stage, Duration)> = Vec::new();
    let opened = {
        let mut on_stage = |s: Stage, d: &[(Stage, Duration)]| {
            current = s;
            done = d.to_vec();
        };
        Connection::open(account.endpoint(), account.timeout, &mut on_stage).await
    };
    let mut conn = match opened {
        Ok(c) => c,
        Err(e) => {
            let step = open_step(current, &e);
            if first && step == Step::Tls {
                let details = if matches!(e, Error::Tls { .. }) {
                    unverified_details(account).await
                } else {
                    None
                };
                tls::describe_failure(&e, details.as_ref(), report);
            }
            record_failure(report, step, &e, run);
            return Run {
                samples: stage_samples(&done),
                retr: None,
                transcript: format!("# the connection failed before a POP3 session existed: {e}\n"),
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
        transcript: conn.log.render(),
        failed,
    }
}

/// Login and the mailbox commands on an open connection.
async fn session(
    conn: &mut Connection,
    account: &Account,
    creds: &Credentials,
    opts: &Options,
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
        if let Err(e) = &login {
            if let Some(status) = e.status() {
                info.reply = Some(status.to_string());
                if let Some(code) = &status.code {
                    info.response_code = Some(code.to_string());
                    info.explanation = Some(code.explain().to_string());
                }
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

/// RETR into an unnamed temporary file, which disappears when closed.
async fn retr_scratch(conn: &mut Connection, entry: &Listing) -> Result<RetrSample, (Step, Error)> {
    let scratch = tempfile::tempfile().map_err(|e| {
        (
            Step::Retr,
            Error::Write {
                what: "the scratch file for RETR".into(),
                reason: e.to_string(),
            },
        )
    })?;
    let mut file = tokio::fs::File::from_std(scratch);
    let bytes = conn
        .retr_to(entry.number, &mut file, &mut |_| {}, None)
        .await
        .map_err(|e| (Step::Retr, e))?;
    drop(file);
    let name = format!("RETR {}", entry.number);
    let t = conn
        .log
        .timings()
        .rev()
        .find(|t| t.command == name)
        .cloned();
    let (first_byte, transfer, wire_bytes) = match t {
        Some(t) => (
            t.latency().unwrap_or_default(),
            t.last_byte
                .zip(t.first_byte)
                .map(|(l, f)| l.saturating_sub(f))
                .unwrap_or_default(),
            t.bytes_in,
        ),
        None => (Duration::ZERO, Duration::ZERO, bytes),
    };
    Ok(RetrSample {
        message: entry.number,
        list_size: entry.size,
        bytes,
        wire_bytes,
        first_byte,
        transfer,
    })
}

fn fill_retr(report: &mut Report, retrs: &[RetrSample]) {
    let Some(last) = retrs.last() else { return };
    let first_byte: Vec<f64> = retrs
        .iter()
        .map(|r| super::stats::ms(r.first_byte))
        .collect();
    let transfer: Vec<f64> = retrs.iter().map(|r| super::stats::ms(r.transfer)).collect();
    let rate: Vec<f64> = retrs
        .iter()
        .filter(|r| !r.transfer.is_zero())
        .map(|r| (r.wire_bytes as f64 / r.transfer.as_secs_f64()).round())
        .collect();
    let zero = super::report::Spread {
        min: 0.0,
        median: 0.0,
        max: 0.0,
    };
    let matches = retrs.iter().all(|r| r.bytes == r.list_size);
    if !matches {
        report.problem(Problem::new(
            Severity::Note,
            Some(Step::Retr),
            format!(
                "LIST said message {} has {} bytes; RETR delivered {}. Servers often count differently (a missing final line break, rewritten headers); mail clients should not rely on LIST sizes",
                last.message, last.list_size, last.bytes
            ),
        ));
    }
    if let Some(m) = report.mailbox.as_mut() {
        m.retr = Some(RetrInfo {
            message: last.message,
            list_size: last.list_size,
            bytes_received: last.bytes,
            size_matches: matches,
            first_byte_ms: spread(&first_byte).unwrap_or(zero),
            transfer_ms: spread(&transfer).unwrap_or(zero),
            bytes_per_second: spread(&rate),
            scratch_deleted: true,
        });
    }
}

/// Certificate details from a handshake that does not check the
/// certificate; only the greeting, CAPA (and STLS) are exchanged.
async fn unverified_details(account: &Account) -> Option<crate::worker::transport::TlsInfo> {
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

/// Samples from stages completed before a failed open (no DNS/TCP split).
fn stage_samples(done: &[(Stage, Duration)]) -> Vec<(Step, Duration)> {
    let mut out = Vec::new();
    let mut capa_seen = false;
    for (stage, d) in done {
        let step = match stage {
            Stage::Greeting => Step::Greeting,
            Stage::Capa if !capa_seen => {
                capa_seen = true;
                Step::Capa
            }
            Stage::Login => Step::Login,
            Stage::CapaAfterLogin => Step::CapaAfterLogin,
            _ => continue,
        };
        out.push((step, *d));
    }
    out
}

/// Every figure the connection recorded, in the order things happened:
/// connect times, stages, and the per-command timings of the session log.
fn conn_samples(conn: &Connection) -> Vec<(Step, Duration)> {
    let mut out = vec![(Step::Dns, conn.times.dns), (Step::Tcp, conn.times.tcp)];
    let stls = conn.endpoint().security == Security::StartTls;
    if !stls {
        out.extend(conn.times.tls.map(|t| (Step::Tls, t)));
    }
    let stage = |s: Stage| conn.stages.iter().find(|(x, _)| *x == s).map(|(_, d)| *d);
    out.extend(stage(Stage::Greeting).map(|d| (Step::Greeting, d)));
    out.extend(stage(Stage::Capa).map(|d| (Step::Capa, d)));
    let timed = |name: &str| {
        conn.log
            .timings()
            .find(|t| t.command == name)
            .and_then(|t| t.total())
    };
    if stls {
        out.extend(timed("STLS").map(|d| (Step::Stls, d)));
        out.extend(conn.times.tls.map(|t| (Step::Tls, t)));
    }
    out.extend(stage(Stage::Login).map(|d| (Step::Login, d)));
    out.extend(stage(Stage::CapaAfterLogin).map(|d| (Step::CapaAfterLogin, d)));
    for t in conn.log.timings() {
        let c = t.command.as_str();
        let step = match c {
            "STAT" => Step::Stat,
            "LIST" => Step::List,
            "UIDL" => Step::Uidl,
            "NOOP" => Step::Noop,
            "QUIT" => Step::Quit,
            _ if c.starts_with("TOP ") => Step::Top,
            _ if c.starts_with("RETR ") => {
                if let Some(l) = t.latency() {
                    out.push((Step::RetrFirstByte, l));
                }
                Step::Retr
            }
            _ => continue,
        };
        if let Some(total) = t.total() {
            out.push((step, total));
        }
    }
    out
}

/// The server section: greeting, CAPA before and after login, and what
/// they say.
fn describe_server(conn: &Connection, report: &mut Report) {
    let s = &mut report.server;
    s.greeting = Some(conn.greeting.to_string());
    s.capabilities_before_login = conn.caps_before.as_ref().map(|c| c.raw.clone());
    s.capabilities_after_login = conn.caps.as_ref().map(|c| c.raw.clone());
    let now = conn.capabilities();
    s.implementation = now
        .and_then(|c| c.implementation.clone())
        .or_else(|| conn.caps_before.as_ref()?.implementation.clone());
    s.pipelining = now.is_some_and(|c| c.pipelining);
    s.sasl_mechanisms = conn
        .caps_before
        .as_ref()
        .map(|c| c.sasl.clone())
        .unwrap_or_default();
    s.login_delay = now.and_then(|c| {
        let (seconds, per_user) = c.login_delay?;
        Some(LoginDelay {
            seconds,
            per_user,
            words: c.login_delay_words()?,
        })
    });
    s.expire = now.and_then(|c| {
        let (e, per_user) = c.expire.as_ref()?;
        Some(Expire {
            days: match e {
                CapaExpire::Never => None,
                CapaExpire::Days(d) => Some(*d),
            },
            per_user: *per_user,
            words: c.expire_words()?,
        })
    });
}

/// Notes that follow from the server section alone.
fn server_problems(report: &mut Report) {
    if report.server.greeting.is_some() && report.server.capabilities_before_login.is_none() {
        report.problem(Problem::new(
            Severity::Note,
            Some(Step::Capa),
            "the server has no CAPA (RFC 2449): clients must guess what it supports; popdoc logged in with USER/PASS",
        ));
    }
    if report.connection.security == "plaintext" && report.login.as_ref().is_some_and(|l| l.ok) {
        report.problem(Problem::new(
            Severity::Warning,
            Some(Step::Login),
            "the connection is not encrypted (--plaintext): the password crossed the network readable by anyone on the way",
        ));
    }
}

/// Count, size, the largest messages and UIDL sanity of a listing.
fn mailbox_info(listing: &[Listing], uidl_supported: bool) -> MailboxInfo {
    let mut largest: Vec<&Listing> = listing.iter().collect();
    largest.sort_by(|a, b| b.size.cmp(&a.size).then(a.number.cmp(&b.number)));
    let bytes: u64 = listing.iter().map(|l| l.size).sum();
    MailboxInfo {
        messages: listing.len() as u32,
        total_bytes: bytes,
        listed_messages: Some(listing.len() as u32),
        listed_bytes: Some(bytes),
        largest: largest
            .into_iter()
            .take(LARGEST)
            .map(|l| MessageInfo {
                number: l.number,
                size: l.size,
                uidl: l.uidl.clone(),
            })
            .collect(),
        uidl: Some(uidl::check(listing, uidl_supported)),
        top: None,
        retr: None,
    }
}

fn uidl_problems(report: &mut Report) {
    let Some(u) = report.mailbox.as_ref().and_then(|m| m.uidl.clone()) else {
        return;
    };
    let list = |v: &[u32]| {
        let shown: Vec<String> = v.iter().take(10).map(u32::to_string).collect();
        let more = if v.len() > 10 {
            format!(" and {} more", v.len() - 10)
        } else {
            String::new()
        };
        format!("{}{more}", shown.join(", "))
    };
    for d in &u.duplicates {
        report.problem(Problem::new(
            Severity::Warning,
            Some(Step::Uidl),
            format!(
                "messages {} share the UIDL {}: clients will treat them as one message",
                list(&d.messages),
                d.uidl
            ),
        ));
    }
    if !u.too_long.is_empty() {
        report.problem(Problem::new(
            Severity::Warning,
            Some(Step::Uidl),
            format!(
                "messages {} have a UIDL longer than 70 characters (RFC 1939 allows 70)",
                list(&u.too_long)
            ),
        ));
    }
    if !u.bad_characters.is_empty() {
        report.problem(Problem::new(
            Severity::Warning,
            Some(Step::Uidl),
            format!(
                "messages {} have a UIDL with characters outside 0x21-0x7E (RFC 1939 §7)",
                list(&u.bad_characters)
            ),
        ));
    }
    if !u.missing.is_empty() {
        report.problem(Problem::new(
            Severity::Warning,
            Some(Step::Uidl),
            format!("messages {} have no UIDL", list(&u.missing)),
        ));
    }
}

/// The report from an open, logged-in session (the TUI): what the
/// connection already recorded and the listing it already has. Sends
/// nothing and logs in to nothing (servers lock the mailbox).
pub fn report_from_session(conn: &Connection, listing: &[Listing], account: &Account) -> Report {
    let started = crate::util::rfc3339(
        conn.log
            .started_at()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64),
    )
    .unwrap_or_default();
    let mut report = Report::new(Protocol::Pop3, Source::Session, &account.label, started);
    report.runs_completed = 1;
    report.connection = connection_info(account);
    report.connection.address = conn.times.addr.map(|a| a.to_string());
    if let Some(info) = &conn.tls {
        tls::describe(info, &conn.endpoint().cert, &mut report);
    }
    describe_server(conn, &mut report);
    report.login = Some(LoginInfo {
        user: account.user.clone(),
        method: conn.method.clone(),
        ok: conn.method.is_some(),
        ..Default::default()
    });
    let uidl_supported = listing.iter().any(|l| l.uidl.is_some());
    report.mailbox = Some(mailbox_info(listing, uidl_supported));
    let mut samples = Samples::default();
    samples.extend(&conn_samples(conn));
    report.timings = samples.rows();
    if let Some(why) = conn.broken() {
        report.problem(Problem::new(
            Severity::Warning,
            None,
            format!("the connection is no longer usable ({why}); reconnect to go on"),
        ));
    }
    finish(&mut report);
    report
}

/// Problems derived from the sections, once, at the end.
pub(super) fn finish(report: &mut Report) {
    uidl_problems(report);
    server_problems(report);
}
