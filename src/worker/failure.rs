//! What went wrong, as it crosses to the app: a kind the app matches on
//! and the sentence the user reads. Built here from the client's typed
//! `Error` (which knows the server's response codes); the app never
//! searches the sentence.

use std::fmt;

use crate::client::Error;
use crate::pop3::RespCode;
use crate::store::SaveError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// The server refused the credentials (`[AUTH]`).
    Auth,
    /// Another session holds the mailbox lock (`[IN-USE]`).
    InUse,
    /// Logged in too recently (`[LOGIN-DELAY]`).
    LoginDelay,
    /// TLS, certificates, or a refusal to send credentials in the clear.
    Tls,
    /// The host could not be reached, or the connection dropped.
    Network,
    /// The server did not answer in time.
    Timeout,
    /// The server's replies broke POP3 or popdoc's limits.
    Protocol,
    /// The server answered `-ERR` (or offered no usable login).
    Refused,
    /// The message is no longer on the server.
    Gone,
    /// There is no connection to do it on.
    NotConnected,
    /// The user cancelled it.
    Cancelled,
    /// On this machine: a file that could not be written, a bad setting.
    Local,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub kind: FailureKind,
    /// A sentence for the user: what happened and what to do.
    pub text: String,
}

impl Failure {
    pub fn new(kind: FailureKind, text: impl Into<String>) -> Failure {
        Failure {
            kind,
            text: text.into(),
        }
    }

    pub fn not_connected(text: impl Into<String>) -> Failure {
        Failure::new(FailureKind::NotConnected, text)
    }

    /// A failure caused by `e`, told in a sentence of its own.
    pub fn told(e: &Error, text: impl Into<String>) -> Failure {
        Failure::new(kind_of(e), text)
    }

    pub fn gone() -> Failure {
        Failure::new(FailureKind::Gone, "the message is no longer on the server")
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl From<&Error> for Failure {
    fn from(e: &Error) -> Failure {
        Failure::new(kind_of(e), e.to_string())
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::from(&e)
    }
}

impl From<SaveError> for Failure {
    fn from(e: SaveError) -> Failure {
        Failure::new(FailureKind::Local, e.to_string())
    }
}

fn kind_of(e: &Error) -> FailureKind {
    match e.status().and_then(|s| s.code.as_ref()) {
        Some(RespCode::Auth) => return FailureKind::Auth,
        Some(RespCode::InUse) => return FailureKind::InUse,
        Some(RespCode::LoginDelay) => return FailureKind::LoginDelay,
        _ => {}
    }
    match e {
        Error::Resolve { .. }
        | Error::Connect { .. }
        | Error::Closed { .. }
        | Error::ClosedIdle { .. }
        | Error::Io { .. } => FailureKind::Network,
        Error::ConnectTimeout { .. }
        | Error::Timeout { .. }
        | Error::TooSlow { .. }
        | Error::Stalled { .. } => FailureKind::Timeout,
        Error::Tls { .. }
        | Error::CaFile { .. }
        | Error::NoStls
        | Error::StlsRefused(_)
        | Error::StlsInjection
        | Error::PlaintextRefused => FailureKind::Tls,
        Error::Refused { .. } | Error::Login { .. } | Error::NoMethod(_) => FailureKind::Refused,
        Error::Protocol { .. } | Error::TooLong { .. } | Error::Malformed { .. } => {
            FailureKind::Protocol
        }
        Error::Invalid(_) | Error::Write { .. } => FailureKind::Local,
        Error::Cancelled => FailureKind::Cancelled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pop3::Status;

    fn login(code: Option<RespCode>) -> Error {
        Error::Login {
            status: Status {
                ok: false,
                code,
                text: "no".into(),
            },
            detail: None,
        }
    }

    #[test]
    fn response_codes_decide_the_kind() {
        assert_eq!(
            Failure::from(login(Some(RespCode::Auth))).kind,
            FailureKind::Auth
        );
        assert_eq!(
            Failure::from(login(Some(RespCode::InUse))).kind,
            FailureKind::InUse
        );
        assert_eq!(
            Failure::from(login(Some(RespCode::LoginDelay))).kind,
            FailureKind::LoginDelay
        );
        assert_eq!(Failure::from(login(None)).kind, FailureKind::Refused);
        assert_eq!(
            Failure::from(login(Some(RespCode::SysTemp))).kind,
            FailureKind::Refused
        );
    }

    #[test]
    fn the_sentence_is_the_errors_and_the_kind_its_cause() {
        let e = Error::Timeout {
            command: "RETR 3".into(),
            secs: 30,
        };
        let f = Failure::from(&e);
        assert_eq!(f.kind, FailureKind::Timeout);
        assert_eq!(f.text, e.to_string());
        let kinds = [
            (
                Error::Connect {
                    addr: "h:1".into(),
                    reason: "refused".into(),
                },
                FailureKind::Network,
            ),
            (Error::NoStls, FailureKind::Tls),
            (
                Error::TooLong {
                    command: "TOP 1 0".into(),
                    limit: 20,
                },
                FailureKind::Protocol,
            ),
            (Error::Cancelled, FailureKind::Cancelled),
        ];
        for (e, kind) in kinds {
            assert_eq!(Failure::from(e).kind, kind);
        }
    }
}
