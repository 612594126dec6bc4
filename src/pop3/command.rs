//! POP3 commands and their wire form (RFC 1939, RFC 2449 CAPA, RFC 2595
//! STLS, RFC 5034 AUTH, RFC 6856 UTF8).
//!
//! A [`Command`] knows its bytes, whether its `+OK` reply is multi-line, and
//! how it appears in a transcript (secrets as `***`). Secrets are held in
//! [`SecretString`] so that they never reach `Debug` output or panics.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use super::reader::Expect;

/// The longest command line, CRLF included (RFC 2449 §4: 255 octets).
pub const MAX_COMMAND_LINE: usize = 255;

/// Bounds for collected multi-line replies; a RETR body is streamed and
/// has no bound. A reply that passes its bound is given up at the bound
/// (the connection is then out of step and must be reopened).
pub const CAPA_LIMIT: usize = 64 * 1024;
/// `LIST` and `UIDL` without an argument: a generous fixed bound (a UIDL
/// line is at most 70 octets of UID plus the number, RFC 1939 §7, so this
/// holds close to a million messages) rather than one derived from STAT,
/// which would cost a round trip before the listing.
pub const LISTING_LIMIT: usize = 64 * 1024 * 1024;

#[derive(Clone)]
pub enum Command {
    User(String),
    Pass(SecretString),
    /// `APOP name digest` (RFC 1939 §7); the digest is shown as `***`.
    Apop {
        user: String,
        digest: String,
    },
    /// `AUTH mechanism [initial-response]` (RFC 5034 §4); the initial
    /// response is already base64 (or `=` for an empty one).
    Auth {
        mechanism: String,
        initial: Option<SecretString>,
    },
    /// A line answering a SASL continuation: base64, or `*` to cancel.
    AuthResponse(SecretString),
    Capa,
    Stls,
    Stat,
    List(Option<u32>),
    Uidl(Option<u32>),
    /// `TOP n k`, with the limit on the collected reply.
    Top {
        msg: u32,
        lines: u32,
        limit: usize,
    },
    Retr(u32),
    Dele(u32),
    Rset,
    Noop,
    Quit,
    Utf8,
}

/// A command argument that would break the line (CR, LF, NUL) or the
/// 255-octet limit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidCommand {
    #[error("{0} contains a line break or NUL and cannot be sent")]
    BadCharacter(&'static str),
    #[error("the {0} command would be longer than 255 bytes")]
    TooLong(&'static str),
}

impl Command {
    /// The command word, as in the RFCs.
    pub fn verb(&self) -> &'static str {
        match self {
            Command::User(_) => "USER",
            Command::Pass(_) => "PASS",
            Command::Apop { .. } => "APOP",
            Command::Auth { .. } => "AUTH",
            Command::AuthResponse(_) => "AUTH",
            Command::Capa => "CAPA",
            Command::Stls => "STLS",
            Command::Stat => "STAT",
            Command::List(_) => "LIST",
            Command::Uidl(_) => "UIDL",
            Command::Top { .. } => "TOP",
            Command::Retr(_) => "RETR",
            Command::Dele(_) => "DELE",
            Command::Rset => "RSET",
            Command::Noop => "NOOP",
            Command::Quit => "QUIT",
            Command::Utf8 => "UTF8",
        }
    }

    /// What the reader should expect as the reply. `None` for an answer
    /// to a SASL continuation: the AUTH reply it belongs to is already
    /// expected.
    pub fn expect(&self) -> Option<Expect> {
        Some(match self {
            Command::Capa => Expect::Multi {
                limit: Some(CAPA_LIMIT),
            },
            Command::List(None) | Command::Uidl(None) => Expect::Multi {
                limit: Some(LISTING_LIMIT),
            },
            Command::Top { limit, .. } => Expect::Multi {
                limit: Some(*limit),
            },
            Command::Retr(_) => Expect::Multi { limit: None },
            Command::Auth { .. } => Expect::Auth,
            Command::AuthResponse(_) => return None,
            _ => Expect::Single,
        })
    }

    /// True for a reply whose size the client cannot bound in advance: a
    /// message body (`RETR`, and `TOP n k` with body lines). Such a reply
    /// is timed by a minimum rate, not by a total deadline.
    pub fn is_bulk(&self) -> bool {
        matches!(self, Command::Retr(_) | Command::Top { lines: 1.., .. })
    }

    /// Appends the command line (with CRLF) to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), InvalidCommand> {
        let start = out.len();
        let result = self.encode_inner(out);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn encode_inner(&self, out: &mut Vec<u8>) -> Result<(), InvalidCommand> {
        let start = out.len();
        let arg = |out: &mut Vec<u8>, what: &'static str, s: &str| {
            if s.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
                return Err(InvalidCommand::BadCharacter(what));
            }
            out.push(b' ');
            out.extend_from_slice(s.as_bytes());
            Ok(())
        };
        match self {
            Command::AuthResponse(_) => {}
            _ => out.extend_from_slice(self.verb().as_bytes()),
        }
        match self {
            Command::User(name) => arg(out, "the user name", name)?,
            Command::Pass(p) => arg(out, "the password", p.expose_secret())?,
            Command::Apop { user, digest } => {
                arg(out, "the user name", user)?;
                arg(out, "the APOP digest", digest)?;
            }
            Command::Auth { mechanism, initial } => {
                arg(out, "the SASL mechanism", mechanism)?;
                if let Some(ir) = initial {
                    arg(out, "the SASL response", ir.expose_secret())?;
                }
            }
            Command::AuthResponse(r) => {
                let r = r.expose_secret();
                if r.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
                    return Err(InvalidCommand::BadCharacter("the SASL response"));
                }
                out.extend_from_slice(r.as_bytes());
            }
            Command::List(Some(n)) | Command::Uidl(Some(n)) => arg(out, "", &n.to_string())?,
            Command::Retr(n) | Command::Dele(n) => arg(out, "", &n.to_string())?,
            Command::Top { msg, lines, .. } => {
                arg(out, "", &msg.to_string())?;
                arg(out, "", &lines.to_string())?;
            }
            _ => {}
        }
        out.extend_from_slice(b"\r\n");
        // SASL responses may be longer than 255 octets (RFC 5034 §4 lifts
        // the limit for them); everything else may not.
        if out.len() - start > MAX_COMMAND_LINE && !matches!(self, Command::AuthResponse(_)) {
            return Err(InvalidCommand::TooLong(self.verb()));
        }
        Ok(())
    }

    /// The command as a transcript shows it: passwords, APOP digests and
    /// SASL payloads as `***`.
    pub fn redacted(&self) -> String {
        match self {
            Command::Pass(_) => "PASS ***".into(),
            Command::Apop { user, .. } => format!("APOP {user} ***"),
            Command::Auth {
                mechanism,
                initial: Some(_),
            } => format!("AUTH {mechanism} ***"),
            Command::Auth {
                mechanism,
                initial: None,
            } => format!("AUTH {mechanism}"),
            Command::AuthResponse(r) if r.expose_secret() == "*" => "*".into(),
            Command::AuthResponse(_) => "***".into(),
            other => {
                let mut out = Vec::new();
                match other.encode(&mut out) {
                    Ok(()) => String::from_utf8_lossy(&out).trim_end().to_string(),
                    Err(_) => other.verb().to_string(),
                }
            }
        }
    }
}

impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(c: &Command) -> Vec<u8> {
        let mut out = Vec::new();
        c.encode(&mut out).unwrap();
        out
    }

    #[test]
    fn wire_forms() {
        assert_eq!(wire(&Command::User("alice".into())), b"USER alice\r\n");
        assert_eq!(wire(&Command::Pass("s3cret".into())), b"PASS s3cret\r\n");
        assert_eq!(wire(&Command::List(None)), b"LIST\r\n");
        assert_eq!(wire(&Command::List(Some(4))), b"LIST 4\r\n");
        assert_eq!(wire(&Command::Uidl(None)), b"UIDL\r\n");
        assert_eq!(
            wire(&Command::Top {
                msg: 4,
                lines: 0,
                limit: 10
            }),
            b"TOP 4 0\r\n"
        );
        assert_eq!(wire(&Command::Retr(12)), b"RETR 12\r\n");
        assert_eq!(wire(&Command::Dele(3)), b"DELE 3\r\n");
        assert_eq!(wire(&Command::Capa), b"CAPA\r\n");
        assert_eq!(wire(&Command::Stls), b"STLS\r\n");
        assert_eq!(wire(&Command::Quit), b"QUIT\r\n");
        assert_eq!(wire(&Command::Utf8), b"UTF8\r\n");
        assert_eq!(
            wire(&Command::Apop {
                user: "mrose".into(),
                digest: "c4c9334bac560ecc979e58001b3e22fb".into()
            }),
            b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n"
        );
        assert_eq!(
            wire(&Command::Auth {
                mechanism: "PLAIN".into(),
                initial: Some("AGEAYg==".into())
            }),
            b"AUTH PLAIN AGEAYg==\r\n"
        );
        assert_eq!(
            wire(&Command::AuthResponse("dXNlcg==".into())),
            b"dXNlcg==\r\n"
        );
        assert_eq!(wire(&Command::AuthResponse("".into())), b"\r\n");
    }

    #[test]
    fn multi_line_only_for_the_right_commands() {
        let top = Command::Top {
            msg: 1,
            lines: 0,
            limit: 99,
        };
        let auth = Command::Auth {
            mechanism: "PLAIN".into(),
            initial: None,
        };
        let cases = [
            (
                Command::List(None),
                Some(Expect::Multi {
                    limit: Some(LISTING_LIMIT),
                }),
            ),
            (Command::List(Some(1)), Some(Expect::Single)),
            (
                Command::Uidl(None),
                Some(Expect::Multi {
                    limit: Some(LISTING_LIMIT),
                }),
            ),
            (Command::Uidl(Some(1)), Some(Expect::Single)),
            (Command::Retr(1), Some(Expect::Multi { limit: None })),
            (top, Some(Expect::Multi { limit: Some(99) })),
            (
                Command::Capa,
                Some(Expect::Multi {
                    limit: Some(CAPA_LIMIT),
                }),
            ),
            (Command::Stat, Some(Expect::Single)),
            (Command::Dele(1), Some(Expect::Single)),
            (auth, Some(Expect::Auth)),
            (Command::AuthResponse("x".into()), None),
        ];
        for (cmd, want) in cases {
            assert_eq!(cmd.expect(), want, "{cmd:?}");
        }
    }

    #[test]
    fn injection_and_length_are_refused() {
        let mut out = Vec::new();
        assert_eq!(
            Command::User("a\r\nDELE 1".into()).encode(&mut out),
            Err(InvalidCommand::BadCharacter("the user name"))
        );
        assert_eq!(
            Command::Pass("x\ny".into()).encode(&mut out),
            Err(InvalidCommand::BadCharacter("the password"))
        );
        assert_eq!(
            Command::User("u".repeat(300)).encode(&mut out),
            Err(InvalidCommand::TooLong("USER"))
        );
        assert!(out.is_empty(), "a refused command leaves nothing behind");
        // A long SASL continuation response is allowed (RFC 5034 §4).
        assert!(
            Command::AuthResponse("A".repeat(2000).into())
                .encode(&mut out)
                .is_ok()
        );
    }

    #[test]
    fn secrets_are_redacted() {
        let secret = "hunter2-secret";
        let cmds = [
            Command::Pass(secret.into()),
            Command::Apop {
                user: "u".into(),
                digest: secret.into(),
            },
            Command::Auth {
                mechanism: "PLAIN".into(),
                initial: Some(secret.into()),
            },
            Command::AuthResponse(secret.into()),
        ];
        for c in &cmds {
            assert!(!c.redacted().contains(secret), "{}", c.redacted());
            assert!(!format!("{c:?}").contains(secret));
            assert!(c.redacted().contains("***"));
        }
        assert_eq!(Command::User("alice".into()).redacted(), "USER alice");
        assert_eq!(
            Command::Top {
                msg: 2,
                lines: 10,
                limit: 1
            }
            .redacted(),
            "TOP 2 10"
        );
        assert_eq!(Command::AuthResponse("*".into()).redacted(), "*");
    }
}
