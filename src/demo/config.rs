//! What the demo server offers ([`ServerConfig`]) and how it misbehaves on
//! purpose ([`Faults`]). Plain data: no I/O here.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// How the built-in server behaves.
#[derive(Clone)]
pub struct ServerConfig {
    pub user: String,
    /// Also used for APOP and SASL PLAIN/LOGIN.
    pub password: String,
    /// When set, XOAUTH2 and OAUTHBEARER are offered and accept this bearer token.
    pub oauth_token: Option<String>,
    /// SASL mechanisms offered (RFC 5034). Supported: PLAIN, LOGIN, XOAUTH2,
    /// OAUTHBEARER; others are ignored.
    pub mechanisms: Vec<String>,
    /// `USER`/`PASS` allowed (RFC 1939 section 7).
    pub user_pass: bool,
    /// The greeting carries an APOP timestamp and `APOP` is accepted (RFC 1939 section 7).
    pub apop: bool,
    pub tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
    /// With `tls`: TLS from the first byte (pop3s). Without: `STLS` is offered (RFC 2595).
    pub implicit_tls: bool,
    /// The `IMPLEMENTATION` capability (RFC 2449 section 6.9).
    pub implementation: String,
    /// A connection silent this long is closed without deleting anything
    /// (RFC 1939 section 3: at least 10 minutes).
    pub idle_timeout: Duration,
    pub faults: Faults,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            user: "demo".into(),
            password: "demo".into(),
            oauth_token: None,
            mechanisms: vec!["PLAIN".into()],
            user_pass: true,
            apop: false,
            tls: None,
            implicit_tls: false,
            implementation: "popdoc-demo".into(),
            idle_timeout: Duration::from_secs(600),
            faults: Faults::default(),
        }
    }
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("user", &self.user)
            .field("mechanisms", &self.mechanisms)
            .field("user_pass", &self.user_pass)
            .field("apop", &self.apop)
            .field("tls", &self.tls.is_some())
            .field("implicit_tls", &self.implicit_tls)
            .field("faults", &self.faults)
            .finish_non_exhaustive()
    }
}

/// Misbehaviour on purpose, for tests of how a client copes. All off by default.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// `CAPA` answers `-ERR`.
    pub no_capa: bool,
    /// `UIDL` answers `-ERR` and is not in `CAPA`.
    pub no_uidl: bool,
    /// `TOP` answers `-ERR` and is not in `CAPA`.
    pub no_top: bool,
    /// `PIPELINING` is not in `CAPA` (the server still reads ahead).
    pub no_pipelining: bool,
    /// Every `+OK`/`-ERR` line has no text (`+OK\r\n`), greeting included.
    pub bare_status: bool,
    /// A login with the right credentials is answered `-ERR [IN-USE] ...`.
    pub in_use: bool,
    /// Like GNU Mailutils with an mbox (see `quirks.rs`): after `UIDL`, a
    /// message is sent with an `X-UIDL` header its `LIST` size does not
    /// count; when the session ends, the messages sent with `RETR` get
    /// `X-UIDL` and `Status: RO` stored, so later sessions list other sizes
    /// (same UIDLs).
    pub mailutils_rewrite: bool,
    /// `CAPA` lists `LOGIN-DELAY n` (RFC 2449 section 6.5).
    pub login_delay: Option<u32>,
    /// A login with the right credentials is answered `-ERR [LOGIN-DELAY] ...`.
    pub reject_login_delay: bool,
    /// `CAPA` lists `EXPIRE` with this value, e.g. "NEVER" or "30" (RFC 2449 section 6.7).
    pub expire: Option<String>,
    /// `RETR` sends its `+OK` line and this many bytes of the (dot-stuffed)
    /// body, then closes the connection. Nothing is deleted.
    pub drop_in_retr_after: Option<u64>,
    /// This command verb (e.g. "RETR") is never answered; the socket stays open
    /// and later input is ignored until the client closes it.
    pub stall_on: Option<String>,
    /// Wait this long before answering each command.
    pub reply_delay: Option<Duration>,
    /// Wait this long before the greeting.
    pub greeting_delay: Option<Duration>,
    /// Send `RETR` bodies at about this many bytes per second.
    pub retr_bytes_per_sec: Option<u64>,
    /// This verb is answered `HELLO garbage\r\n` (neither `+OK` nor `-ERR`).
    pub garbage_on: Option<String>,
    /// This verb is answered with a `+OK` status line of 100 000 bytes (CRLF included).
    pub huge_line_on: Option<String>,
    /// `STLS` is answered `+OK Begin TLS\r\n+OK injected\r\n` in one write, as
    /// a man in the middle would inject a reply before the handshake.
    pub stls_inject: bool,
    /// Courier's UTF8 quirk (RFC 6856): `CAPA` lists `UTF8 USER`, `UTF8` is
    /// accepted before login, and a session that logs in without it sees
    /// every message with 8-bit bytes replaced by a small "Cannot display
    /// Unicode content" placeholder (with the placeholder's own size).
    pub utf8_placeholder: bool,
    /// `DELE n` answers `-ERR` for these message numbers.
    pub refuse_dele: Vec<u32>,
    /// `QUIT` in the TRANSACTION state closes the connection without an answer
    /// and without deleting anything.
    pub drop_on_quit: bool,
    // Header pipeline faults (a stalled last TOP).
    /// This exact command line (e.g. "TOP 3000 0", case-insensitive) is
    /// never answered; the server goes on reading (and recording) what
    /// follows until the client closes.
    pub stall_at: Option<String>,
    // Replies that never end on their own (deadlines and caps). Each names a
    // verb ("TOP") or a command's start ("TOP 2" hits `TOP 2 0`, not `TOP 20 0`).
    /// trickle: the reply to this command (status line and body) goes out
    /// at about this many bytes per second.
    pub trickle_on: Option<(String, u64)>,
    /// flood: `TOP` answers `+OK` and then header lines without end (never
    /// the `.` line), until the client goes away.
    pub flood_on: Option<String>,
    /// huge header line: `TOP` answers `+OK` and one header line of this many
    /// bytes without an end of line, then stays silent.
    pub huge_header_on: Option<(String, u64)>,
    // Keepalive, reconnect and commit edge cases (issue 10): one block.
    /// The first session alone is ended after this long without a command
    /// (`-ERR` and close, nothing deleted), as a server's autologout does;
    /// later sessions keep `idle_timeout`.
    pub autologout_first: Option<Duration>,
    /// After this many `DELE` were answered in a session, the next `DELE`
    /// closes the connection without an answer (no QUIT: nothing deleted).
    pub drop_after_deles: Option<u32>,
    /// `QUIT` in the TRANSACTION state deletes the marked messages, then
    /// closes the connection without an answer (the client cannot know).
    pub drop_after_quit_commit: bool,
    /// `QUIT` in the TRANSACTION state is answered `-ERR` and deletes nothing.
    pub refuse_quit: bool,
    /// `QUIT` answers `+OK` but keeps these message numbers, though marked.
    pub quit_keeps: Vec<u32>,
    /// `UIDL` gives message 2 the UIDL of message 1 (a broken server).
    pub duplicate_uidl: bool,
    // --- chaos (issue 10, soak): faults drawn at random per connection ---
    /// Each connection draws its faults from this seeded generator: drops at
    /// a byte offset, chopped writes, delays, `-ERR` on random commands,
    /// `[IN-USE]` at login, garbage lines; with `slow_faults`, trickles and
    /// endless floods of lines too (see `chaos.rs`).
    pub chaos: Option<super::chaos::Chaos>,
}

impl Faults {
    pub(crate) fn hits(setting: &Option<String>, verb: &str) -> bool {
        setting
            .as_deref()
            .is_some_and(|v| v.eq_ignore_ascii_case(verb))
    }

    /// Whether `setting` (a verb, or the start of a command line) names the
    /// command `line`: whole words only, case-insensitive.
    pub(crate) fn hits_line(setting: Option<&str>, line: &str) -> bool {
        setting.is_some_and(|s| {
            let (s, line) = (s.to_ascii_uppercase(), line.to_ascii_uppercase());
            line.strip_prefix(&s)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Faults;

    #[test]
    fn a_setting_names_a_verb_or_the_start_of_a_command() {
        assert!(Faults::hits_line(Some("top"), "TOP 2 0"));
        assert!(Faults::hits_line(Some("TOP 2"), "top 2 0"));
        assert!(!Faults::hits_line(Some("TOP 2"), "TOP 20 0"));
        assert!(!Faults::hits_line(Some("TOP"), "TOPX"));
        assert!(!Faults::hits_line(None, "TOP 2 0"));
    }
}
