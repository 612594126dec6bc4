//! The report's sections from what a POP3 [`Connection`] already holds:
//! connect times, stages, per-command timings, TLS, CAPA, and a listing.
//! Shared by the check and by [`report_from_session`] for the TUI.
//!
//! Only reads: it must not send anything or log in (servers lock the
//! mailbox while a session is open).

use std::time::Duration;

use super::model::{
    ConnectionInfo, ExpireInfo, LoginDelay, LoginInfo, MailboxInfo, MessageInfo, Problem, Protocol,
    Report, Severity, Source, Step,
};
use super::stats::Samples;
use super::{tls, uidl};
use crate::account::Account;
use crate::client::ops::Listing;
use crate::client::transport::Security;
use crate::client::{Connection, Stage};
use crate::pop3::capa::Expire as CapaExpire;

/// How many of the largest messages the report names.
const LARGEST: usize = 5;

/// The `connection.security` value of a report.
pub fn security_name(s: Security) -> &'static str {
    match s {
        Security::Implicit => "tls",
        Security::StartTls => "starttls",
        Security::Plaintext => "plaintext",
    }
}

pub(crate) fn connection_info(account: &Account) -> ConnectionInfo {
    ConnectionInfo {
        host: account.host.clone(),
        port: account.port,
        address: None,
        security: security_name(account.security).into(),
        plaintext_by: (account.security == Security::Plaintext).then(|| {
            account
                .plaintext_by
                .unwrap_or("the account's settings")
                .to_string()
        }),
        user: Some(account.user.clone()),
    }
}

/// The report's step for a stage of opening a session: the one mapping.
impl From<Stage> for Step {
    fn from(stage: Stage) -> Step {
        match stage {
            Stage::Connect => Step::Tcp,
            Stage::Tls => Step::Tls,
            Stage::Greeting => Step::Greeting,
            Stage::Capa => Step::Capa,
            Stage::Stls => Step::Stls,
            Stage::Login => Step::Login,
            Stage::CapaAfterLogin => Step::CapaAfterLogin,
        }
    }
}

/// Samples from stages completed before a failed open (no DNS/TCP split).
pub(crate) fn stage_samples(done: &[(Stage, Duration)]) -> Vec<(Step, Duration)> {
    let mut out = Vec::new();
    let mut capa_seen = false;
    for (stage, d) in done {
        let step = Step::from(*stage);
        let keep = match step {
            Step::Greeting | Step::Login | Step::CapaAfterLogin => true,
            Step::Capa => !std::mem::replace(&mut capa_seen, true),
            _ => false,
        };
        if keep {
            out.push((step, *d));
        }
    }
    out
}

/// Every figure the connection recorded, in the order things happened:
/// connect times, stages, and the per-command timings of the session log.
pub(crate) fn conn_samples(conn: &Connection) -> Vec<(Step, Duration)> {
    let mut out = vec![(Step::Dns, conn.times.dns), (Step::Tcp, conn.times.tcp)];
    let stls = conn.endpoint().security == Security::StartTls;
    if !stls {
        out.extend(conn.times.tls.map(|t| (Step::Tls, t)));
    }
    let stage = |s: Stage| {
        conn.stages
            .iter()
            .find(|(x, _)| *x == s)
            .map(|(_, d)| (Step::from(s), *d))
    };
    out.extend(stage(Stage::Greeting));
    out.extend(stage(Stage::Capa));
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
    out.extend(stage(Stage::Login));
    out.extend(stage(Stage::CapaAfterLogin));
    for t in conn.log.timings() {
        let c = t.command.as_str();
        let step = match c {
            "STAT" => Step::Stat,
            "LIST" => Step::List,
            "UIDL" => Step::Uidl,
            "NOOP" => Step::Noop,
            "QUIT" => Step::Quit,
            // Header fetches only; a preview (`TOP n 200`) is not one.
            _ if c.starts_with("TOP ") && c.ends_with(" 0") => Step::Top,
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
pub(crate) fn describe_server(conn: &Connection, report: &mut Report) {
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
        Some(ExpireInfo {
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
        let by = report
            .connection
            .plaintext_by
            .clone()
            .unwrap_or_else(|| "the account's settings".into());
        report.problem(Problem::new(
            Severity::Warning,
            Some(Step::Login),
            format!("the connection is not encrypted (chosen by {by}): the password crossed the network readable by anyone on the way"),
        ));
    }
}

/// Count, size, the largest messages and UIDL sanity of a listing.
pub(crate) fn mailbox_info(listing: &[Listing], uidl_supported: bool) -> MailboxInfo {
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
pub(crate) fn finish(report: &mut Report) {
    uidl_problems(report);
    server_problems(report);
}
