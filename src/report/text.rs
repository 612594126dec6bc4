//! The check report as plain text for a support ticket: aligned sections
//! (Connection, TLS, Server, Login, Mailbox or Sending, Timings, Problems),
//! long sentences wrapped, and no escape sequences or control characters
//! whatever the server sent.

use std::fmt::Write as _;

use super::model::{Protocol, Report, Severity, Source, Step};
use crate::pop3::text::marked;
use crate::util::{human_size, wrap_words};

/// Width of the label column.
const LABEL: usize = 18;
/// Wrapped text keeps at least this many columns, however narrow the width.
const MIN_TEXT: usize = 20;

/// Renders the whole report, wrapped to `width` columns (a terminal's), or
/// not wrapped at all (`None`: piped output and files, where the reader's
/// width is unknown).
pub fn render(r: &Report, width: Option<usize>) -> String {
    let mut out = Text {
        s: String::new(),
        width,
    };
    header(&mut out, r);
    connection(&mut out, r);
    tls(&mut out, r);
    server(&mut out, r);
    login(&mut out, r);
    mailbox(&mut out, r);
    smtp(&mut out, r);
    timings(&mut out, r);
    problems(&mut out, r);
    out.s
}

struct Text {
    s: String,
    /// Columns to wrap to; None: no wrapping.
    width: Option<usize>,
}

impl Text {
    fn section(&mut self, title: &str) {
        if !self.s.is_empty() {
            self.s.push('\n');
        }
        self.s.push_str(title);
        self.s.push('\n');
    }

    /// `  Label            value`, the value wrapped under itself when it
    /// is too long (a value that fits keeps its spacing).
    fn field(&mut self, label: &str, value: &str) {
        let indent = 2 + LABEL + 1;
        let value = marked(value);
        let lines = match self.width.map(|w| w.saturating_sub(indent).max(MIN_TEXT)) {
            Some(width) if value.chars().count() > width => wrap_words(&value, width),
            _ => vec![value],
        };
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                let _ = writeln!(self.s, "  {:<LABEL$} {line}", marked(label));
            } else {
                let _ = writeln!(self.s, "{:indent$}{line}", "");
            }
        }
        if lines.is_empty() {
            let _ = writeln!(self.s, "  {}", marked(label));
        }
    }

    /// One value per line under a label (capability lists).
    fn list(&mut self, label: &str, values: &[String]) {
        if values.is_empty() {
            self.field(label, "(none)");
            return;
        }
        for (i, v) in values.iter().enumerate() {
            self.field(if i == 0 { label } else { "" }, v);
        }
    }

    fn para(&mut self, indent: usize, first: &str, text: &str) {
        let width = self.width.map_or(usize::MAX, |w| {
            w.saturating_sub(indent + first.len()).max(MIN_TEXT)
        });
        let lines = wrap_words(&marked(text), width);
        for (i, line) in lines.iter().enumerate() {
            if i == 0 {
                let _ = writeln!(self.s, "{:indent$}{first}{line}", "");
            } else {
                let _ = writeln!(self.s, "{:w$}{line}", "", w = indent + first.len());
            }
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn bytes(n: u64) -> String {
    if n < 1000 {
        format!("{n} bytes")
    } else {
        format!("{} ({n} bytes)", human_size(n))
    }
}

fn header(out: &mut Text, r: &Report) {
    let what = match r.protocol {
        Protocol::Pop3 => "POP3",
        Protocol::Smtp => "SMTP",
    };
    out.section(&format!("popdoc check ({what}) {}", r.target));
    out.field(
        "Started",
        &format!("{} (popdoc {})", r.started_at, r.popdoc_version),
    );
    if r.source == Source::Session {
        out.field(
            "Source",
            "the open session (no new connection; figures as recorded so far)",
        );
    }
    let runs = if r.runs_requested > 1 {
        format!(" ({} of {} runs)", r.runs_completed, r.runs_requested)
    } else {
        String::new()
    };
    if r.ok {
        out.field("Result", &format!("OK{runs}"));
    } else {
        // Failing at login without a login (no password to send) means
        // nothing was connected to.
        let stage = match r.failed_stage {
            Some(Step::Login) if r.login.is_none() && r.server.greeting.is_none() => {
                "before connecting".to_string()
            }
            Some(s) => format!("at {}", s.label()),
            None => "at setup".to_string(),
        };
        out.field(
            "Result",
            &format!("FAILED {stage} (exit status {}){runs}", r.exit_code),
        );
        if let Some(e) = &r.error {
            out.field("", e);
        }
    }
}

fn connection(out: &mut Text, r: &Report) {
    let c = &r.connection;
    out.section("Connection");
    out.field("Server", &format!("{}:{}", c.host, c.port));
    if let Some(a) = &c.address {
        out.field("Address", a);
    }
    let security = match (r.protocol, c.security.as_str()) {
        (_, "tls") => "TLS from the first byte".to_string(),
        (Protocol::Pop3, "starttls") => "STLS (plain connection, then TLS)".to_string(),
        (Protocol::Smtp, "starttls") => "STARTTLS (plain connection, then TLS)".to_string(),
        _ => format!(
            "NONE (plaintext, chosen by {})",
            c.plaintext_by
                .as_deref()
                .unwrap_or("the account's settings")
        ),
    };
    out.field("Security", &security);
    if let Some(u) = &c.user {
        out.field("User", u);
    }
}

fn tls(out: &mut Text, r: &Report) {
    let Some(t) = &r.tls else { return };
    out.section("TLS");
    if let Some(v) = &t.version {
        out.field("Version", v);
    }
    if let Some(c) = &t.cipher {
        out.field("Cipher suite", c);
    }
    let no_certificate = t.verified_by.is_none() && t.sha256.is_none() && t.certificate.is_none();
    match (&t.verified_by, &t.error) {
        (None, Some(e)) if no_certificate => {
            out.field(
                "Certificate",
                "none received: the handshake failed before the server sent one",
            );
            out.field("Failed", e);
        }
        (Some(by), _) => out.field("Verified", &format!("yes ({by})")),
        (None, Some(e)) => out.field("Verified", &format!("NO: {e}")),
        (None, None) => out.field("Verified", "NO (not checked: --insecure-no-verify)"),
    }
    if t.details_from_unverified_handshake {
        out.field(
            "",
            "(details below from a second handshake that skipped the check; no credentials were sent)",
        );
    }
    if let Some(c) = &t.certificate {
        out.field("Subject", &c.subject);
        out.field("Issuer", &c.issuer);
        out.field("Names", &c.names.join(", "));
        out.field("Valid from", &c.not_before);
        let left = if c.days_left < 0 {
            format!("EXPIRED {} days ago", -c.days_left)
        } else {
            format!("{} days left", c.days_left)
        };
        out.field("Valid until", &format!("{} ({left})", c.not_after));
        if c.self_signed {
            out.field("Self-signed", "yes");
        }
    }
    if let Some(fp) = &t.sha256 {
        out.field("SHA-256", fp);
    }
    if t.chain_length > 0 {
        out.field("Chain", &format!("{} certificate(s) sent", t.chain_length));
    }
}

fn server(out: &mut Text, r: &Report) {
    let s = &r.server;
    if s.greeting.is_none() && r.smtp.is_none() {
        return;
    }
    out.section("Server");
    if let Some(g) = &s.greeting {
        out.field("Greeting", g);
    }
    if let Some(i) = &s.implementation {
        out.field("Implementation", i);
    }
    match r.protocol {
        Protocol::Pop3 => {
            match &s.capabilities_before_login {
                Some(c) => out.list("CAPA before login", c),
                None if s.greeting.is_some() => {
                    out.field("CAPA before login", "(no CAPA: the server refused it)")
                }
                None => {}
            }
            if let Some(c) = &s.capabilities_after_login {
                out.list("CAPA after login", c);
            }
            out.field(
                "LOGIN-DELAY",
                s.login_delay
                    .as_ref()
                    .map_or("(not announced)", |d| &d.words),
            );
            out.field(
                "EXPIRE",
                s.expire.as_ref().map_or("(not announced)", |e| &e.words),
            );
        }
        Protocol::Smtp => {
            if let Some(m) = &r.smtp {
                if let Some(before) = &m.ehlo_before_tls {
                    out.list("EHLO before TLS", before);
                }
                out.list(
                    if m.ehlo_before_tls.is_some() {
                        "EHLO after TLS"
                    } else {
                        "EHLO"
                    },
                    &m.ehlo,
                );
                out.field("STARTTLS offered", yes_no(m.starttls_offered));
                if let Some(size) = m.size_limit {
                    let v = if size == 0 {
                        "announced without a number".to_string()
                    } else {
                        bytes(size)
                    };
                    out.field("Size limit", &v);
                }
            }
        }
    }
}

fn login(out: &mut Text, r: &Report) {
    let Some(l) = &r.login else { return };
    out.section("Login");
    out.field("User", &l.user);
    if let Some(m) = &l.method {
        out.field("Method", m);
    }
    out.field("Result", if l.ok { "logged in" } else { "REFUSED" });
    if let Some(reply) = &l.reply {
        out.field("Server said", reply);
    }
    if let (Some(code), Some(ex)) = (&l.response_code, &l.explanation) {
        out.field("Meaning", &format!("[{code}] {ex}"));
    }
}

fn mailbox(out: &mut Text, r: &Report) {
    let Some(m) = &r.mailbox else { return };
    out.section("Mailbox");
    out.field(
        "Messages",
        &format!("{}, {}", m.messages, bytes(m.total_bytes)),
    );
    if let (Some(n), Some(b)) = (m.listed_messages, m.listed_bytes)
        && (n != m.messages || b != m.total_bytes)
    {
        out.field("LIST says", &format!("{n} messages, {}", bytes(b)));
    }
    for (i, l) in m.largest.iter().enumerate() {
        let uidl = l
            .uidl
            .as_deref()
            .map(|u| format!("  UIDL {u}"))
            .unwrap_or_default();
        out.field(
            if i == 0 { "Largest" } else { "" },
            &format!("#{:<5} {:>10}{uidl}", l.number, human_size(l.size)),
        );
    }
    if let Some(u) = &m.uidl {
        let v = if !u.supported {
            "not supported by the server".to_string()
        } else if u.clean() {
            format!("{} checked: unique, valid length and characters", u.checked)
        } else {
            format!(
                "{} checked: {} duplicated, {} too long, {} with bad characters, {} missing (see Problems)",
                u.checked,
                u.duplicates.len(),
                u.too_long.len(),
                u.bad_characters.len(),
                u.missing.len()
            )
        };
        out.field("UIDL", &v);
    }
    if let Some(t) = &m.top {
        out.field(
            &format!("TOP {} 0", t.message),
            &format!("header block of {}", bytes(t.header_bytes)),
        );
    }
    if let Some(x) = &m.retr {
        out.field(
            &format!("RETR {}", x.message),
            &format!(
                "{} bytes received, LIST said {}: {}",
                x.bytes_received,
                x.list_size,
                if x.size_matches {
                    "sizes match"
                } else {
                    "sizes DIFFER"
                }
            ),
        );
        let rate = match &x.bytes_per_second {
            Some(r) => format!("{}/s", human_size(r.median as u64)),
            None => "too fast to measure throughput".into(),
        };
        out.field(
            "",
            &format!(
                "first byte after {:.2} ms, {rate} (median)",
                x.first_byte_ms.median
            ),
        );
        out.field("", "the scratch file was deleted");
    }
}

fn smtp(out: &mut Text, r: &Report) {
    let Some(t) = r.smtp.as_ref().and_then(|s| s.send_test.as_ref()) else {
        return;
    };
    out.section("Sending");
    out.field("From", &t.from);
    out.field("To", &t.to);
    for (label, reply) in [
        ("MAIL FROM", &t.mail_from_reply),
        ("RCPT TO", &t.rcpt_to_reply),
        ("DATA", &t.data_reply),
        ("Message", &t.reply),
    ] {
        if let Some(reply) = reply {
            out.field(label, reply);
        }
    }
    out.field("Result", if t.ok { "accepted" } else { "NOT accepted" });
    if let Some(id) = &t.queue_id {
        out.field("Queue id", id);
    }
    if t.message_bytes > 0 {
        out.field("Size sent", &bytes(t.message_bytes));
    }
}

fn timings(out: &mut Text, r: &Report) {
    if r.timings.is_empty() {
        return;
    }
    let many = r.timings.iter().any(|t| t.samples > 1);
    if many {
        out.section("Timings (milliseconds: min / median / max, samples)");
    } else {
        out.section("Timings (milliseconds)");
    }
    for t in &r.timings {
        if many {
            let _ = writeln!(
                out.s,
                "  {:<LABEL$} {:>10.2} {:>10.2} {:>10.2}   {}",
                t.label, t.min_ms, t.median_ms, t.max_ms, t.samples
            );
        } else {
            let _ = writeln!(out.s, "  {:<LABEL$} {:>10.2}", t.label, t.median_ms);
        }
    }
}

fn problems(out: &mut Text, r: &Report) {
    out.section("Problems");
    if r.problems.is_empty() {
        match (&r.error, r.ok) {
            (Some(e), false) => out.para(2, "- ", &format!("ERROR: {e}")),
            _ => out.s.push_str("  none found\n"),
        }
        return;
    }
    for p in &r.problems {
        let tag = match p.severity {
            Severity::Error => "ERROR",
            Severity::Warning => "WARNING",
            Severity::Note => "note",
        };
        let stage = p
            .stage
            .map(|s| format!(" ({})", s.label()))
            .unwrap_or_default();
        out.para(2, "- ", &format!("{tag}{stage}: {}", p.message));
        if let (Some(code), Some(ex)) = (&p.response_code, &p.explanation) {
            out.para(4, "", &format!("[{code}] means: {ex}"));
        }
    }
}

#[cfg(test)]
#[path = "tests/text.rs"]
pub(crate) mod tests;
