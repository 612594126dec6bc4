//! The check report: plain data with stable serde field names (documented
//! field by field in docs/check-json.md), shared by `popdoc check` (POP3 and
//! SMTP), its text renderer and the TUI.
//!
//! Units: durations in milliseconds (numbers), sizes in bytes (numbers),
//! times as RFC 3339 strings in UTC. Nothing here does I/O, and nothing
//! here may ever hold a password or token.

use serde::Serialize;

/// Version of the JSON layout; raised when a field changes meaning or goes.
pub const FORMAT: u32 = 1;

/// Exit status when everything worked.
pub const EXIT_OK: i32 = 0;
/// Exit status for a failure outside the protocol steps (writing the
/// transcript, an internal error).
pub const EXIT_OTHER: i32 = 1;
/// Exit status for a usage error (as clap uses).
pub const EXIT_USAGE: i32 = 2;
/// DNS, TCP, TLS, greeting, CAPA, STLS / EHLO, STARTTLS.
pub const EXIT_CONNECT: i32 = 3;
/// Getting the password, login / AUTH, CAPA after login.
pub const EXIT_LOGIN: i32 = 4;
/// STAT, LIST, UIDL, TOP, QUIT.
pub const EXIT_MAILBOX: i32 = 5;
/// RETR.
pub const EXIT_RETR: i32 = 6;
/// SMTP MAIL FROM, RCPT TO, DATA.
pub const EXIT_SEND: i32 = 7;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Pop3,
    Smtp,
}

/// Where the figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// `popdoc check`: fresh connections made for the check.
    Check,
    /// Built from an open session (the TUI), without new traffic.
    Session,
}

/// One step of a check: a row of the timings and the stage named when
/// something fails. The serde names are the stable `stage` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Dns,
    Tcp,
    Tls,
    Greeting,
    Capa,
    Stls,
    Login,
    CapaAfterLogin,
    Stat,
    List,
    Uidl,
    Top,
    RetrFirstByte,
    Retr,
    Noop,
    Quit,
    Ehlo,
    Starttls,
    EhloAfterTls,
    Auth,
    MailFrom,
    RcptTo,
    Data,
    Message,
}

impl Step {
    /// How the text report names the step.
    pub fn label(self) -> &'static str {
        match self {
            Step::Dns => "DNS lookup",
            Step::Tcp => "TCP connect",
            Step::Tls => "TLS handshake",
            Step::Greeting => "greeting",
            Step::Capa => "CAPA",
            Step::Stls => "STLS",
            Step::Login => "login",
            Step::CapaAfterLogin => "CAPA after login",
            Step::Stat => "STAT",
            Step::List => "LIST",
            Step::Uidl => "UIDL",
            Step::Top => "TOP n 0",
            Step::RetrFirstByte => "RETR first byte",
            Step::Retr => "RETR whole",
            Step::Noop => "NOOP",
            Step::Quit => "QUIT",
            Step::Ehlo => "EHLO",
            Step::Starttls => "STARTTLS",
            Step::EhloAfterTls => "EHLO after TLS",
            Step::Auth => "AUTH",
            Step::MailFrom => "MAIL FROM",
            Step::RcptTo => "RCPT TO",
            Step::Data => "DATA",
            Step::Message => "message + reply",
        }
    }

    /// The exit status of a check that failed at this step.
    pub fn exit_code(self) -> i32 {
        match self {
            Step::Dns
            | Step::Tcp
            | Step::Tls
            | Step::Greeting
            | Step::Capa
            | Step::Stls
            | Step::Ehlo
            | Step::Starttls
            | Step::EhloAfterTls => EXIT_CONNECT,
            Step::Login | Step::CapaAfterLogin | Step::Auth => EXIT_LOGIN,
            Step::Stat | Step::List | Step::Uidl | Step::Top | Step::Noop | Step::Quit => {
                EXIT_MAILBOX
            }
            Step::RetrFirstByte | Step::Retr => EXIT_RETR,
            Step::MailFrom | Step::RcptTo | Step::Data | Step::Message => EXIT_SEND,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub format: u32,
    pub popdoc_version: String,
    pub protocol: Protocol,
    pub source: Source,
    /// The account name or URL as given (never with a password).
    pub target: String,
    /// When the (first) connection started, RFC 3339 UTC.
    pub started_at: String,
    pub runs_requested: u32,
    pub runs_completed: u32,
    pub ok: bool,
    pub exit_code: i32,
    pub failed_stage: Option<Step>,
    /// The failure as a sentence, when there was one.
    pub error: Option<String>,
    pub connection: ConnectionInfo,
    pub tls: Option<TlsReport>,
    pub server: ServerInfo,
    pub login: Option<LoginInfo>,
    pub mailbox: Option<MailboxInfo>,
    pub smtp: Option<SmtpInfo>,
    pub timings: Vec<TimingRow>,
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ConnectionInfo {
    pub host: String,
    pub port: u16,
    /// The address connected to, `IP:port`.
    pub address: Option<String>,
    /// `tls` (from the first byte), `starttls` (STLS / STARTTLS) or `plaintext`.
    pub security: String,
    /// With `plaintext`: what chose it, in words (the `--plaintext` flag,
    /// the config file, the built-in demo server).
    pub plaintext_by: Option<String>,
    pub user: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TlsReport {
    /// E.g. "TLS 1.3"; None when the handshake failed.
    pub version: Option<String>,
    pub cipher: Option<String>,
    /// Whether the certificate was accepted by the check in force.
    pub verified: bool,
    /// How: "system roots", "CA file PATH", "pinned fingerprint", or the
    /// opt-out; None when it was not accepted.
    pub verified_by: Option<String>,
    /// Why the handshake failed, when it did.
    pub error: Option<String>,
    /// SHA-256 of the server's certificate (DER), 64 lowercase hex digits
    /// (the form `--fingerprint` takes).
    pub sha256: Option<String>,
    pub certificate: Option<CertSummary>,
    /// Certificates the server sent, its own first.
    pub chain_length: usize,
    /// The certificate details come from a second handshake that did not
    /// check the certificate and over which nothing but the protocol's
    /// greeting was exchanged (the verified one had failed).
    pub details_from_unverified_handshake: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CertSummary {
    pub subject: String,
    pub issuer: String,
    /// DNS names and IP addresses it covers (subjectAltName; else the CN).
    pub names: Vec<String>,
    pub not_before: String,
    pub not_after: String,
    /// Whole days from the check until `not_after` (negative: expired).
    pub days_left: i64,
    pub self_signed: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ServerInfo {
    /// The greeting line as sent (control characters made visible).
    pub greeting: Option<String>,
    pub implementation: Option<String>,
    /// POP3: CAPA before login (after STLS); SMTP: EHLO keywords offered
    /// before AUTH (after STARTTLS). None when the server had none.
    pub capabilities_before_login: Option<Vec<String>>,
    /// POP3: CAPA after login. None for SMTP or when there was none.
    pub capabilities_after_login: Option<Vec<String>>,
    pub pipelining: bool,
    pub sasl_mechanisms: Vec<String>,
    pub login_delay: Option<LoginDelay>,
    pub expire: Option<ExpireInfo>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LoginDelay {
    pub seconds: u32,
    pub per_user: bool,
    pub words: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExpireInfo {
    /// None means NEVER.
    pub days: Option<u32>,
    pub per_user: bool,
    pub words: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct LoginInfo {
    pub user: String,
    /// The method that worked ("SASL PLAIN", "USER/PASS", "APOP", "AUTH LOGIN").
    pub method: Option<String>,
    pub ok: bool,
    /// The server's refusal, when it refused.
    pub reply: Option<String>,
    pub response_code: Option<String>,
    pub explanation: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct MailboxInfo {
    /// From STAT (else from LIST).
    pub messages: u32,
    pub total_bytes: u64,
    /// LIST lines and their sum, when LIST was done.
    pub listed_messages: Option<u32>,
    pub listed_bytes: Option<u64>,
    /// Up to five, largest first.
    pub largest: Vec<MessageInfo>,
    pub uidl: Option<UidlReport>,
    pub top: Option<TopInfo>,
    pub retr: Option<RetrInfo>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageInfo {
    pub number: u32,
    pub size: u64,
    pub uidl: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct UidlReport {
    /// The server answered UIDL.
    pub supported: bool,
    /// Messages with a UIDL.
    pub checked: usize,
    /// UIDLs that more than one message has.
    pub duplicates: Vec<DuplicateUidl>,
    /// Messages whose UIDL is longer than 70 characters (RFC 1939 §7).
    pub too_long: Vec<u32>,
    /// Messages whose UIDL has characters outside 0x21-0x7E.
    pub bad_characters: Vec<u32>,
    /// Messages in LIST without a UIDL.
    pub missing: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DuplicateUidl {
    pub uidl: String,
    pub messages: Vec<u32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopInfo {
    pub message: u32,
    /// Bytes of the header block the server sent.
    pub header_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct RetrInfo {
    pub message: u32,
    /// The size LIST gave.
    pub list_size: u64,
    /// Message bytes received (after removing dot-stuffing), last run.
    pub bytes_received: u64,
    pub size_matches: bool,
    pub first_byte_ms: Spread,
    /// From the first to the last byte of the reply.
    pub transfer_ms: Spread,
    /// Bytes on the wire (status line and dot-stuffing included) per
    /// second from the first to the last byte; None when the whole reply
    /// arrived at once, too fast to measure.
    pub bytes_per_second: Option<Spread>,
    /// The scratch file was removed afterwards.
    pub scratch_deleted: bool,
}

/// Minimum, median and maximum of the samples of several runs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SmtpInfo {
    /// EHLO keywords before STARTTLS (smtp://); None with smtps://.
    pub ehlo_before_tls: Option<Vec<String>>,
    /// EHLO keywords in force (after STARTTLS when there was one).
    pub ehlo: Vec<String>,
    pub starttls_offered: bool,
    /// The SIZE limit, bytes (0: no limit announced as a number).
    pub size_limit: Option<u64>,
    pub send_test: Option<SendTest>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SendTest {
    pub from: String,
    pub to: String,
    pub ok: bool,
    pub mail_from_reply: Option<String>,
    pub rcpt_to_reply: Option<String>,
    pub data_reply: Option<String>,
    /// The server's final reply to the message.
    pub reply: Option<String>,
    /// The queue id found in that reply, when one was found.
    pub queue_id: Option<String>,
    /// Bytes of the message as sent (dot-stuffed, with the final dot).
    pub message_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TimingRow {
    pub stage: Step,
    pub label: String,
    /// How many measurements (one per run; more from a session).
    pub samples: usize,
    pub min_ms: f64,
    pub median_ms: f64,
    pub max_ms: f64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub severity: Severity,
    pub stage: Option<Step>,
    pub message: String,
    /// A POP3 response code (`IN-USE`) or an SMTP reply code (`535 5.7.8`).
    pub response_code: Option<String>,
    /// What the code means, in plain words.
    pub explanation: Option<String>,
}

impl Problem {
    pub fn new(severity: Severity, stage: Option<Step>, message: impl Into<String>) -> Problem {
        Problem {
            severity,
            stage,
            message: message.into(),
            response_code: None,
            explanation: None,
        }
    }
}

impl Report {
    /// An empty report for `target`, before anything happened.
    pub fn new(protocol: Protocol, source: Source, target: &str, started_at: String) -> Report {
        Report {
            format: FORMAT,
            popdoc_version: env!("CARGO_PKG_VERSION").to_string(),
            protocol,
            source,
            target: target.to_string(),
            started_at,
            runs_requested: 1,
            runs_completed: 0,
            ok: true,
            exit_code: EXIT_OK,
            failed_stage: None,
            error: None,
            connection: ConnectionInfo::default(),
            tls: None,
            server: ServerInfo::default(),
            login: None,
            mailbox: None,
            smtp: None,
            timings: Vec::new(),
            problems: Vec::new(),
        }
    }

    /// Records the failure that ended the check (the first one counts).
    pub fn fail(&mut self, stage: Option<Step>, error: impl Into<String>) {
        if !self.ok {
            return;
        }
        self.ok = false;
        self.exit_code = stage.map_or(EXIT_OTHER, Step::exit_code);
        self.failed_stage = stage;
        self.error = Some(error.into());
    }

    pub fn problem(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// The problem for an error that ended run `run` at `step`; with
    /// several runs, the sentence says which run. Record it with
    /// [`Report::fail_with`] once its code is filled in.
    pub fn run_failure(&self, step: Step, run: u32, error: &dyn std::fmt::Display) -> Problem {
        let runs = self.runs_requested;
        let message = if runs > 1 {
            format!("run {run} of {runs}: {error}")
        } else {
            error.to_string()
        };
        Problem::new(Severity::Error, Some(step), message)
    }

    /// Records `p` as a problem and as the failure that ended the check.
    pub fn fail_with(&mut self, p: Problem) {
        let (stage, message) = (p.stage, p.message.clone());
        self.problem(p);
        self.fail(stage, message);
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

#[cfg(test)]
#[path = "tests/model.rs"]
mod tests;
