//! Errors of the connection layer, each a sentence for the user: what
//! happened and what to do. Never contains a password or token.

use std::path::PathBuf;

use super::deadline::MIN_RATE_BYTES;
use crate::pop3::{ProtocolError, Status};
use crate::util::human_size;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not look up {host}: {reason}. Check the host name and your network.")]
    Resolve { host: String, reason: String },
    #[error(
        "could not connect to {addr}: {reason}. Check the host and port, and that the server is running."
    )]
    Connect { addr: String, reason: String },
    #[error(
        "no answer from {addr} within {secs} s. Check the host and port, or a firewall in between."
    )]
    ConnectTimeout { addr: String, secs: u64 },
    #[error("{}", tls_message(host, reason, fingerprint.as_deref(), advice.as_deref()))]
    Tls {
        host: String,
        reason: String,
        fingerprint: Option<String>,
        /// What to do, fitting the check already in force.
        advice: Option<String>,
    },
    #[error("cannot read the CA file {}: {reason}.", path.display())]
    CaFile { path: PathBuf, reason: String },
    #[error(
        "the server does not offer STLS, so this connection cannot be encrypted. Use pop3s:// (port 995), or --plaintext if you accept sending your password unencrypted."
    )]
    NoStls,
    #[error(
        "the server refused STLS ({0}). Use pop3s:// (port 995), or --plaintext if you accept sending your password unencrypted."
    )]
    StlsRefused(Status),
    #[error(
        "the server sent data right after agreeing to STLS; it could have been injected by an attacker, so popdoc closed the connection."
    )]
    StlsInjection,
    #[error(
        "popdoc will not send your credentials over an unencrypted connection. Use pop3s:// or pop3:// with STLS, or ask for it by name with --plaintext."
    )]
    PlaintextRefused,
    #[error("{}", refused(command, status))]
    Refused { command: String, status: Status },
    #[error("login failed: {}{}", refused_status(status), detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    Login {
        status: Status,
        detail: Option<String>,
    },
    #[error("{0}")]
    NoMethod(String),
    #[error(
        "the server did not answer {command} within {secs} s. It may be overloaded or the connection stalled; try again, or raise --timeout."
    )]
    Timeout { command: String, secs: u64 },
    /// A reply with a total deadline (a status line, a listing, a header
    /// block) that was still arriving when its deadline passed.
    #[error(
        "the server sent the reply to {command} too slowly: {bytes} bytes in {secs} s; it may be overloaded or the connection is failing, so try again later or raise --timeout."
    )]
    TooSlow {
        command: String,
        bytes: u64,
        secs: u64,
    },
    /// A message body (RETR, TOP with body lines) that brought fewer than
    /// [`MIN_RATE_BYTES`] in one `--timeout` period.
    #[error(
        "the server sent {command} too slowly: {bytes} bytes in the last {secs} s, below popdoc's minimum of {MIN_RATE_BYTES} bytes per --timeout period; the connection seems to be failing, so try again later or raise --timeout."
    )]
    Stalled {
        command: String,
        bytes: u64,
        secs: u64,
    },
    #[error("the server closed the connection during {command}.")]
    Closed { command: String },
    /// The server spoke or closed while nothing was asked (see `idle.rs`).
    #[error("the server ended the idle session{}.", said.as_deref().map(|s| format!(" (it said: {s})")).unwrap_or_default())]
    ClosedIdle { said: Option<String> },
    #[error("the server broke the POP3 protocol during {command}: {source}.")]
    Protocol {
        command: String,
        source: ProtocolError,
    },
    /// A reply given up at its cap: the rest of it was not read, so the
    /// connection is out of step.
    #[error(
        "the server's reply to {command} passed popdoc's limit of {limit} bytes, so popdoc stopped reading it and dropped the connection; the server is misbehaving, and the rest can be read on a new connection."
    )]
    TooLong { command: String, limit: usize },
    #[error("the server's reply to {command} could not be understood: {detail}.")]
    Malformed { command: String, detail: String },
    #[error("network error during {command}: {reason}.")]
    Io { command: String, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error("could not write {what}: {reason}.")]
    Write { what: String, reason: String },
    #[error("cancelled.")]
    Cancelled,
}

impl Error {
    /// True when the connection can no longer be used for commands.
    pub fn breaks_connection(&self) -> bool {
        !matches!(self, Error::Refused { .. } | Error::Malformed { .. })
    }

    /// True when the reply to one command was given up (past its cap or
    /// its deadline): that command failed, and the connection must be
    /// reopened, but the rest of the work can go on on a new one.
    pub fn gave_up_reply(&self) -> bool {
        matches!(
            self,
            Error::TooLong { .. }
                | Error::TooSlow { .. }
                | Error::Stalled { .. }
                | Error::Timeout { .. }
        )
    }

    /// What a message's row says when its header block (`TOP n 0`) could
    /// not be read.
    pub fn header_note(&self) -> String {
        match self {
            Error::TooLong { limit, .. } => {
                format!("headers too large (over {})", human_size(*limit as u64))
            }
            Error::TooSlow { .. } | Error::Stalled { .. } | Error::Timeout { .. } => {
                format!("reply too slow: {self}")
            }
            _ => self.to_string(),
        }
    }

    /// The server's status, when the error is a `-ERR`.
    pub fn status(&self) -> Option<&Status> {
        match self {
            Error::Refused { status, .. } | Error::Login { status, .. } => Some(status),
            Error::StlsRefused(status) => Some(status),
            _ => None,
        }
    }

    /// The server refused with `[IN-USE]`: another session holds the
    /// mailbox (often the one just closed, until the server notices).
    pub fn is_in_use(&self) -> bool {
        self.status().and_then(|s| s.code.as_ref()) == Some(&crate::pop3::RespCode::InUse)
    }
}

fn tls_message(
    host: &str,
    reason: &str,
    fingerprint: Option<&str>,
    advice: Option<&str>,
) -> String {
    let mut s = if host.is_empty() {
        format!("TLS setup failed: {reason}.")
    } else {
        format!("the TLS connection to {host} failed: {reason}.")
    };
    if let Some(fp) = fingerprint {
        s.push_str(&format!(
            " The server's certificate has SHA-256 fingerprint {fp}."
        ));
    }
    if let Some(a) = advice {
        s.push(' ');
        s.push_str(a);
    }
    s
}

fn refused_status(status: &Status) -> String {
    let mut s = status.to_string();
    if let Some(code) = &status.code {
        s.push_str(&format!(" — {}", code.explain()));
    }
    s
}

fn refused(command: &str, status: &Status) -> String {
    format!("the server refused {command}: {}", refused_status(status))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pop3::RespCode;

    #[test]
    fn refusals_explain_response_codes() {
        let e = Error::Login {
            status: Status {
                ok: false,
                code: Some(RespCode::InUse),
                text: "Mailbox is locked".into(),
            },
            detail: None,
        };
        assert_eq!(
            e.to_string(),
            "login failed: -ERR [IN-USE] Mailbox is locked — another client holds the mailbox lock; close the other mail client or wait and retry"
        );
        let e = Error::Timeout {
            command: "RETR 3".into(),
            secs: 30,
        };
        assert!(e.to_string().contains("did not answer RETR 3 within 30 s"));
    }

    #[test]
    fn given_up_replies_name_the_command_and_say_what_to_do() {
        let e = Error::TooSlow {
            command: "TOP 4 0".into(),
            bytes: 12,
            secs: 20,
        };
        assert_eq!(
            e.to_string(),
            "the server sent the reply to TOP 4 0 too slowly: 12 bytes in 20 s; it may be overloaded or the connection is failing, so try again later or raise --timeout."
        );
        assert!(e.breaks_connection() && e.gave_up_reply());
        assert!(e.header_note().starts_with("reply too slow: "));
        let e = Error::TooLong {
            command: "TOP 4 0".into(),
            limit: 1024 * 1024,
        };
        assert!(e.breaks_connection(), "the rest of the reply was not read");
        assert_eq!(e.header_note(), "headers too large (over 1.0 MB)");
        let e = Error::Stalled {
            command: "RETR 3".into(),
            bytes: 100,
            secs: 2,
        };
        assert!(
            e.to_string()
                .contains("RETR 3 too slowly: 100 bytes in the last 2 s")
        );
        assert!(
            !Error::Closed {
                command: "RETR 3".into()
            }
            .gave_up_reply()
        );
    }
}
