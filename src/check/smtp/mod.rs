//! The SMTP check: `smtp://[USER@]HOST[:PORT]` (STARTTLS, port 587) and
//! `smtps://[USER@]HOST[:PORT]` (TLS, port 465). Greeting, EHLO, STARTTLS,
//! TLS details, AUTH when a user is given, and with `--send-test` one short
//! test message whose queue id is reported. Same report as the POP3 check.
//!
//! Sends no mail but that one test message, and no credentials before TLS
//! unless `--plaintext` was given.

pub mod client;
pub mod reply;
pub mod target;

use std::time::Duration;

use secrecy::SecretString;

use super::Diagnosis;
use crate::client::conn::LoginMethod;
use crate::client::log::Clock;
use crate::client::transport::CertCheck;
use crate::pop3::sasl::Mechanism;
use crate::report::stats::Samples;
use crate::report::{
    ConnectionInfo, LoginInfo, Problem, Protocol, Report, SendTest, Severity, SmtpInfo, Source,
    Step,
};
use crate::report::{session::security_name, tls};
use client::{SmtpConn, SmtpError};
use target::obtain_secret;
pub use target::{SendOptions, Target, is_smtp_url, target, valid_address};

/// The mechanism to use, from the option and what the server offers.
fn choose(method: LoginMethod, offered: &[String], token: bool) -> Result<Mechanism, String> {
    if let LoginMethod::Sasl(m) = method {
        return Ok(m);
    }
    let has = |m: Mechanism| offered.iter().any(|o| o.eq_ignore_ascii_case(m.name()));
    let order: &[Mechanism] = if token {
        &[Mechanism::XOAuth2, Mechanism::OAuthBearer]
    } else {
        &[Mechanism::Plain, Mechanism::Login]
    };
    order.iter().copied().find(|m| has(*m)).ok_or_else(|| {
        if offered.is_empty() {
            "the server offers no AUTH at all here, so popdoc cannot log in".to_string()
        } else {
            format!(
                "the server offers AUTH {} but none that popdoc can use with a {}",
                offered.join(" "),
                if token {
                    "token (XOAUTH2, OAUTHBEARER)"
                } else {
                    "password (PLAIN, LOGIN)"
                }
            )
        }
    })
}

/// The test message, CRLF line ends, not yet dot-stuffed.
pub fn test_message(from: &str, to: &str, now: jiff::Timestamp) -> Vec<u8> {
    let domain = from.rsplit_once('@').map_or("popdoc.invalid", |(_, d)| d);
    let date = now.strftime("%a, %d %b %Y %H:%M:%S +0000").to_string();
    let id = format!(
        "popdoc-check.{}.{}@{domain}",
        now.as_millisecond(),
        std::process::id()
    );
    format!(
        "From: <{from}>\r\n\
         To: <{to}>\r\n\
         Subject: popdoc check: test message\r\n\
         Date: {date}\r\n\
         Message-ID: <{id}>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         This is a test message sent by popdoc check, to see whether this server\r\n\
         accepts mail from {from} to {to}. It can be deleted.\r\n\
         \r\n\
         .This line starts with a dot, so it travels dot-stuffed (RFC 5321 4.5.2).\r\n"
    )
    .into_bytes()
}

/// Runs the SMTP check `repeat` times.
pub async fn check(t: &Target, send: Option<&SendOptions>, repeat: u32) -> Diagnosis {
    let started = crate::util::rfc3339(crate::report::cert::now()).unwrap_or_default();
    let mut report = Report::new(Protocol::Smtp, Source::Check, &t.label, started);
    report.runs_requested = repeat.max(1);
    report.connection = ConnectionInfo {
        host: t.host.clone(),
        port: t.port,
        address: None,
        security: security_name(t.security).into(),
        plaintext_by: (t.security == crate::client::Security::Plaintext)
            .then(|| "--plaintext".to_string()),
        user: t.user.clone(),
    };
    // One clock for the whole transcript file, whatever the number of runs.
    let clock = Clock::now();
    let mut transcript = clock.header(&t.host);
    let secret = match &t.user {
        Some(_) => match obtain_secret(t) {
            Ok(s) => Some(s),
            Err(e) => {
                report.fail(Some(Step::Auth), e);
                return Diagnosis { report, transcript };
            }
        },
        None => None,
    };
    let mut samples = Samples::default();
    let runs = repeat.max(1);
    for run in 1..=runs {
        let (steps, log, failed) =
            one_run(t, secret.as_ref(), send, run, &mut report, &clock).await;
        samples.extend(&steps);
        if runs > 1 {
            transcript.push_str(&format!("# run {run} of {runs}\n"));
        }
        transcript.push_str(&log);
        if failed {
            break;
        }
        report.runs_completed += 1;
    }
    report.timings = samples.rows();
    if report.connection.security == "plaintext" && report.login.as_ref().is_some_and(|l| l.ok) {
        report.problem(Problem::new(
            Severity::Warning,
            Some(Step::Auth),
            "the connection is not encrypted (--plaintext): the password crossed the network readable by anyone on the way",
        ));
    }
    Diagnosis { report, transcript }
}

fn record_failure(report: &mut Report, step: Step, e: &SmtpError, run: u32) {
    let mut p = report.run_failure(step, run, e);
    if let Some(reply) = e.reply() {
        p.response_code = Some(reply.code_text());
        p.explanation = reply.explain().map(str::to_string);
    }
    report.fail_with(p);
}

async fn one_run(
    t: &Target,
    secret: Option<&(SecretString, bool)>,
    send: Option<&SendOptions>,
    run: u32,
    report: &mut Report,
    clock: &Clock,
) -> (Vec<(Step, Duration)>, String, bool) {
    let first = run == 1;
    let mut current = Step::Tcp;
    let opened = SmtpConn::open(t.endpoint(), t.timeout, &mut |s| current = s).await;
    let mut conn = match opened {
        Ok(c) => c,
        Err(e) => {
            let step = match &e {
                SmtpError::Transport(crate::client::Error::Resolve { .. }) => Step::Dns,
                SmtpError::Transport(crate::client::Error::Tls { .. }) => Step::Tls,
                SmtpError::NoStarttls => Step::Starttls,
                _ => current,
            };
            if first && step == Step::Tls {
                let details = match &e {
                    SmtpError::Transport(crate::client::Error::Tls { .. }) => {
                        unverified_details(t).await
                    }
                    _ => None,
                };
                if let SmtpError::Transport(te) = &e {
                    tls::describe_failure(te, details.as_ref(), report);
                }
            }
            record_failure(report, step, &e, run);
            return (
                Vec::new(),
                format!("# the connection failed before an SMTP session was usable: {e}\n"),
                true,
            );
        }
    };
    if first {
        report.connection.address = conn.times.addr.map(|a| a.to_string());
        if let Some(info) = &conn.tls {
            tls::describe(info, &t.cert, report);
        }
        describe(&conn, report);
    }
    let result = session(&mut conn, t, secret, send, first, report).await;
    let failed = match result {
        Ok(()) => false,
        Err((step, e)) => {
            record_failure(report, step, &e, run);
            conn.shutdown().await;
            true
        }
    };
    (conn.steps.clone(), conn.log.render_on(clock), failed)
}

async fn session(
    conn: &mut SmtpConn,
    t: &Target,
    secret: Option<&(SecretString, bool)>,
    send: Option<&SendOptions>,
    first: bool,
    report: &mut Report,
) -> Result<(), (Step, SmtpError)> {
    if let (Some(user), Some((secret, token))) = (&t.user, secret) {
        let mechanism = choose(t.login, &conn.mechanisms(), *token)
            .map_err(|e| (Step::Auth, SmtpError::NoMethod(e)))?;
        let r = conn.auth(mechanism, user, secret.clone()).await;
        if first {
            let mut info = LoginInfo {
                user: user.clone(),
                method: Some(format!("AUTH {}", mechanism.name())),
                ok: r.is_ok(),
                ..Default::default()
            };
            if let Some(reply) = r.as_ref().err().and_then(SmtpError::reply) {
                info.reply = Some(reply.one_line());
                info.response_code = Some(reply.code_text());
                info.explanation = reply.explain().map(str::to_string);
            }
            report.login = Some(info);
        }
        r.map_err(|e| (Step::Auth, e))?;
    } else if first {
        report.problem(Problem::new(
            Severity::Note,
            Some(Step::Auth),
            "no user in the URL (smtp://USER@HOST), so AUTH was not tried",
        ));
    }
    if let Some(s) = send {
        let mut test = SendTest {
            from: s.from.clone(),
            to: s.to.clone(),
            ..Default::default()
        };
        let r = send_test(conn, s, &mut test).await;
        test.ok = r.is_ok();
        if first && let Some(m) = report.smtp.as_mut() {
            m.send_test = Some(test);
        }
        r?;
    }
    conn.quit().await.map_err(|e| (Step::Quit, e))?;
    Ok(())
}

async fn send_test(
    conn: &mut SmtpConn,
    s: &SendOptions,
    test: &mut SendTest,
) -> Result<(), (Step, SmtpError)> {
    let r = conn
        .expect(
            Step::MailFrom,
            "MAIL FROM",
            &format!("MAIL FROM:<{}>", s.from),
            |r| r.positive(),
        )
        .await;
    test.mail_from_reply = reply_text(&r);
    r.map_err(|e| (Step::MailFrom, e))?;
    let r = conn
        .expect(
            Step::RcptTo,
            "RCPT TO",
            &format!("RCPT TO:<{}>", s.to),
            |r| r.positive(),
        )
        .await;
    test.rcpt_to_reply = reply_text(&r);
    r.map_err(|e| (Step::RcptTo, e))?;
    let r = conn
        .expect(Step::Data, "DATA", "DATA", |r| r.code == 354)
        .await;
    test.data_reply = reply_text(&r);
    r.map_err(|e| (Step::Data, e))?;
    let body = test_message(&s.from, &s.to, jiff::Timestamp::now());
    let stuffed = crate::pop3::stuff::stuff(&body);
    test.message_bytes = stuffed.len() as u64;
    let r = conn.message(&stuffed).await;
    test.reply = reply_text(&r);
    let reply = r.map_err(|e| (Step::Message, e))?;
    test.queue_id = reply::queue_id(&reply);
    Ok(())
}

fn reply_text(r: &Result<reply::SmtpReply, SmtpError>) -> Option<String> {
    match r {
        Ok(reply) => Some(reply.one_line()),
        Err(e) => e.reply().map(reply::SmtpReply::one_line),
    }
}

fn describe(conn: &SmtpConn, report: &mut Report) {
    report.server.greeting = conn.greeting.as_ref().map(reply::SmtpReply::one_line);
    report.server.capabilities_before_login = Some(conn.ehlo.clone());
    report.server.pipelining = conn.offers("PIPELINING");
    report.server.sasl_mechanisms = conn.mechanisms();
    let size_limit = conn.keyword("SIZE").map(|s| s.parse().unwrap_or(0));
    report.smtp = Some(SmtpInfo {
        ehlo_before_tls: conn.ehlo_before_tls.clone(),
        ehlo: conn.ehlo.clone(),
        starttls_offered: conn
            .ehlo_before_tls
            .as_ref()
            .unwrap_or(&conn.ehlo)
            .iter()
            .any(|k| k.eq_ignore_ascii_case("STARTTLS")),
        size_limit,
        send_test: None,
    });
    if let Some(before) = &conn.ehlo_before_tls
        && before
            .iter()
            .any(|k| k.to_ascii_uppercase().starts_with("AUTH"))
    {
        report.problem(Problem::new(
                Severity::Note,
                Some(Step::Ehlo),
                "the server offers AUTH before STARTTLS; popdoc only logs in after TLS, but other clients might send passwords unencrypted",
            ));
    }
}

/// Certificate details from a handshake that does not check the
/// certificate; nothing but the greeting, EHLO and STARTTLS are exchanged.
async fn unverified_details(t: &Target) -> Option<crate::client::transport::TlsInfo> {
    let mut ep = t.endpoint();
    ep.cert = CertCheck::NoVerify;
    let mut conn = SmtpConn::open(ep, t.timeout, &mut |_| {}).await.ok()?;
    let info = conn.tls.clone();
    let _ = conn.quit().await;
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mechanism_choice() {
        let offered = vec!["LOGIN".to_string(), "PLAIN".into(), "XOAUTH2".into()];
        assert_eq!(
            choose(LoginMethod::Auto, &offered, false),
            Ok(Mechanism::Plain)
        );
        assert_eq!(
            choose(LoginMethod::Auto, &offered, true),
            Ok(Mechanism::XOAuth2)
        );
        assert_eq!(
            choose(LoginMethod::Auto, &["LOGIN".to_string()], false),
            Ok(Mechanism::Login)
        );
        assert!(
            choose(LoginMethod::Auto, &["CRAM-MD5".to_string()], false)
                .unwrap_err()
                .contains("CRAM-MD5")
        );
        assert!(
            choose(LoginMethod::Auto, &[], false)
                .unwrap_err()
                .contains("no AUTH")
        );
        assert_eq!(
            choose(LoginMethod::Sasl(Mechanism::Login), &[], false),
            Ok(Mechanism::Login)
        );
    }

    #[test]
    fn test_message_is_dot_stuffed_for_data() {
        let now = jiff::Timestamp::from_second(1_795_316_415).unwrap();
        let m = test_message("a@example.test", "b@example.net", now);
        let text = String::from_utf8(m.clone()).unwrap();
        assert!(
            text.contains("Date: Sun, 22 Nov 2026 03:00:15 +0000\r\n"),
            "{text}"
        );
        assert!(
            text.contains("Message-ID: <popdoc-check.1795316415000."),
            "{text}"
        );
        assert!(!text.replace("\r\n", "").contains('\n'), "CRLF only");
        let stuffed = crate::pop3::stuff::stuff(&m);
        let s = String::from_utf8(stuffed).unwrap();
        assert!(s.contains("\r\n..This line starts with a dot"), "{s}");
        assert!(s.ends_with("(RFC 5321 4.5.2).\r\n.\r\n"), "{s}");
        assert!(valid_address("a@b").is_ok());
        assert!(valid_address("a b@c").is_err());
        assert!(valid_address("a@b>\r\nRCPT TO:<x@y").is_err());
        assert!(valid_address("nobody").is_err());
    }
}
