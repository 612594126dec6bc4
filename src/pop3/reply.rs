//! POP3 reply status lines and the typed parsers for single-line replies
//! (RFC 1939 §3, §5; response codes from RFC 2449 §8 and RFC 3206).
//!
//! Pure functions over bytes: no I/O, no clocks. Reply text is kept as the
//! server sent it (lossily decoded, control characters made visible) so that
//! errors can quote it.

use std::fmt;

use super::text::printable;

/// A response code from the text of a reply, RFC 2449 §8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RespCode {
    /// `[IN-USE]`: another session holds the maildrop lock (RFC 2449 §8.1.1).
    InUse,
    /// `[LOGIN-DELAY]`: logged in too recently (RFC 2449 §8.1.2).
    LoginDelay,
    /// `[SYS/TEMP]`: a temporary system problem (RFC 3206 §4).
    SysTemp,
    /// `[SYS/PERM]`: a permanent system problem (RFC 3206 §4).
    SysPerm,
    /// `[AUTH]`: the credentials were wrong (RFC 3206 §5).
    Auth,
    /// `[UTF8]` (RFC 6856).
    Utf8,
    /// Any other code, kept as sent (upper-cased).
    Other(String),
}

impl RespCode {
    pub fn parse(code: &str) -> RespCode {
        match code.to_ascii_uppercase().as_str() {
            "IN-USE" => RespCode::InUse,
            "LOGIN-DELAY" => RespCode::LoginDelay,
            "SYS/TEMP" => RespCode::SysTemp,
            "SYS/PERM" => RespCode::SysPerm,
            "AUTH" => RespCode::Auth,
            "UTF8" => RespCode::Utf8,
            other => RespCode::Other(other.to_string()),
        }
    }

    /// What the code means, in plain words, for a user.
    pub fn explain(&self) -> &'static str {
        match self {
            RespCode::InUse => {
                "another client holds the mailbox lock; close the other mail client or wait and retry"
            }
            RespCode::LoginDelay => {
                "logged in too recently; the server enforces a minimum time between logins"
            }
            RespCode::SysTemp => "a temporary problem on the server; retry later",
            RespCode::SysPerm => "a permanent problem on the server; contact the provider",
            RespCode::Auth => "the user name or password (or token) was not accepted",
            RespCode::Utf8 => "the server requires UTF-8 mode",
            RespCode::Other(_) => "a response code popdoc does not know",
        }
    }
}

impl fmt::Display for RespCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            RespCode::InUse => "IN-USE",
            RespCode::LoginDelay => "LOGIN-DELAY",
            RespCode::SysTemp => "SYS/TEMP",
            RespCode::SysPerm => "SYS/PERM",
            RespCode::Auth => "AUTH",
            RespCode::Utf8 => "UTF8",
            RespCode::Other(s) => s,
        };
        f.write_str(s)
    }
}

/// The status line of a reply: `+OK` or `-ERR`, an optional response code,
/// and the human text (possibly empty: some servers send a bare `+OK`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    pub ok: bool,
    pub code: Option<RespCode>,
    /// The text after the indicator and the code, as sent (lossy UTF-8,
    /// control characters replaced).
    pub text: String,
}

impl Status {
    /// The text after `+OK`/`-ERR`, for typed parsers (STAT, LIST n).
    pub fn args(&self) -> &str {
        self.text.trim()
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.ok { "+OK" } else { "-ERR" })?;
        if let Some(code) = &self.code {
            write!(f, " [{code}]")?;
        }
        if !self.text.is_empty() {
            write!(f, " {}", self.text)?;
        }
        Ok(())
    }
}

/// One status-level line from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusLine {
    Status(Status),
    /// A SASL continuation, `+ base64` (RFC 5034 §4); the payload is the raw
    /// (still base64-encoded) text after `+ `.
    Continuation(Vec<u8>),
}

/// Why a status line could not be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the server sent a line that is not a POP3 status ({0})")]
pub struct BadStatus(pub String);

/// Parses a status line without its CRLF. `continuation_allowed` is true
/// only while an AUTH exchange is under way.
pub fn parse_status_line(line: &[u8], continuation_allowed: bool) -> Result<StatusLine, BadStatus> {
    let (ok, rest) = if let Some(rest) = strip_prefix_ci(line, b"+OK") {
        (true, rest)
    } else if let Some(rest) = strip_prefix_ci(line, b"-ERR") {
        (false, rest)
    } else if continuation_allowed && line.first() == Some(&b'+') {
        let payload = line[1..].strip_prefix(b" ").unwrap_or(&line[1..]);
        return Ok(StatusLine::Continuation(payload.to_vec()));
    } else {
        let mut shown = printable(&line[..line.len().min(80)]);
        if line.len() > 80 {
            shown.push('…');
        }
        return Err(BadStatus(format!("\"{shown}\"")));
    };
    // "+OK" must be followed by a space or nothing ("+OKAY" is not a status).
    let rest = match rest.first() {
        None => rest,
        Some(b' ') | Some(b'\t') => &rest[1..],
        Some(_) => return Err(BadStatus(format!("\"{}\"", printable(line)))),
    };
    let (code, text) = split_code(rest);
    Ok(StatusLine::Status(Status {
        ok,
        code,
        text: printable(text).trim_end().to_string(),
    }))
}

fn strip_prefix_ci<'a>(line: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    (line.len() >= prefix.len() && line[..prefix.len()].eq_ignore_ascii_case(prefix))
        .then(|| &line[prefix.len()..])
}

/// `[CODE] text` → (code, text); RFC 2449 §8: the code follows the indicator.
fn split_code(rest: &[u8]) -> (Option<RespCode>, &[u8]) {
    if rest.first() != Some(&b'[') {
        return (None, rest);
    }
    let Some(end) = rest.iter().position(|&b| b == b']') else {
        return (None, rest);
    };
    let code = &rest[1..end];
    if code.is_empty() || !code.iter().all(|b| b.is_ascii_graphic()) {
        return (None, rest);
    }
    let text = &rest[end + 1..];
    let text = text.strip_prefix(b" ").unwrap_or(text);
    (Some(RespCode::parse(&String::from_utf8_lossy(code))), text)
}

/// Why a reply could not be parsed into the typed form a command needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed {what} reply: \"{line}\"")]
pub struct Malformed {
    pub what: &'static str,
    pub line: String,
}

fn malformed(what: &'static str, line: &[u8]) -> Malformed {
    Malformed {
        what,
        line: printable(&line[..line.len().min(120)]),
    }
}

fn words(line: &[u8]) -> impl Iterator<Item = &[u8]> {
    line.split(|b| *b == b' ' || *b == b'\t')
        .filter(|w| !w.is_empty())
}

fn number<T: std::str::FromStr>(word: Option<&[u8]>) -> Option<T> {
    std::str::from_utf8(word?).ok()?.parse().ok()
}

/// `+OK nn mm` → (message count, maildrop size), RFC 1939 §5 STAT.
pub fn parse_stat(status: &Status) -> Result<(u32, u64), Malformed> {
    let mut w = words(status.args().as_bytes());
    match (number(w.next()), number(w.next())) {
        (Some(n), Some(size)) => Ok((n, size)),
        _ => Err(malformed("STAT", status.args().as_bytes())),
    }
}

/// A scan listing `n size` (RFC 1939 §5 LIST): a line of the multi-line
/// reply, or the text of `+OK` to `LIST n`. Extra words are allowed.
pub fn parse_scan_listing(line: &[u8]) -> Result<(u32, u64), Malformed> {
    let mut w = words(line);
    match (number(w.next()), number(w.next())) {
        (Some(n), Some(size)) if n > 0 => Ok((n, size)),
        _ => Err(malformed("LIST", line)),
    }
}

/// A unique-id listing `n uid` (RFC 1939 §7 UIDL). The UID is kept as sent
/// (RFC: 1 to 70 octets in 0x21..0x7E; `check` reports violations).
pub fn parse_uid_listing(line: &[u8]) -> Result<(u32, String), Malformed> {
    let mut w = words(line);
    let n = number(w.next());
    let uid = w.next();
    match (n, uid) {
        (Some(n), Some(uid)) if n > 0 => Ok((n, String::from_utf8_lossy(uid).into_owned())),
        _ => Err(malformed("UIDL", line)),
    }
}

/// The APOP timestamp `<...>` of a greeting, RFC 1939 §7 APOP.
pub fn apop_timestamp(greeting: &Status) -> Option<String> {
    let text = &greeting.text;
    let start = text.find('<')?;
    let end = start + text[start..].find('>')?;
    let stamp = &text[start..=end];
    (stamp.contains('@') && stamp.len() > 2).then(|| stamp.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(line: &[u8]) -> Status {
        match parse_status_line(line, false).unwrap() {
            StatusLine::Status(s) => s,
            other => panic!("not a status: {other:?}"),
        }
    }

    #[test]
    fn ok_and_err_with_and_without_text() {
        assert_eq!(
            status(b"+OK maildrop locked"),
            Status {
                ok: true,
                code: None,
                text: "maildrop locked".into()
            }
        );
        assert_eq!(
            status(b"+OK"),
            Status {
                ok: true,
                code: None,
                text: String::new()
            }
        );
        assert_eq!(
            status(b"-ERR"),
            Status {
                ok: false,
                code: None,
                text: String::new()
            }
        );
        assert!(status(b"+ok lower case").ok);
        assert!(parse_status_line(b"+OKAY", false).is_err());
        assert!(parse_status_line(b"HELLO", false).is_err());
        assert!(parse_status_line(b"", false).is_err());
    }

    #[test]
    fn response_codes() {
        let s = status(b"-ERR [IN-USE] Mailbox is locked by another POP3 session");
        assert_eq!(s.code, Some(RespCode::InUse));
        assert_eq!(s.text, "Mailbox is locked by another POP3 session");
        assert_eq!(
            status(b"-ERR [SYS/TEMP] try later").code,
            Some(RespCode::SysTemp)
        );
        assert_eq!(status(b"-ERR [sys/perm] x").code, Some(RespCode::SysPerm));
        assert_eq!(
            status(b"-ERR [AUTH] Authentication failed.").code,
            Some(RespCode::Auth)
        );
        assert_eq!(
            status(b"-ERR [LOGIN-DELAY] wait").code,
            Some(RespCode::LoginDelay)
        );
        assert_eq!(
            status(b"-ERR [X-FOO/BAR] odd").code,
            Some(RespCode::Other("X-FOO/BAR".into()))
        );
        // Not a code: no closing bracket, or spaces inside.
        assert_eq!(status(b"-ERR [oops").code, None);
        assert_eq!(status(b"-ERR [not a code] x").text, "[not a code] x");
        assert_eq!(status(b"-ERR [AUTH] bad").to_string(), "-ERR [AUTH] bad");
    }

    #[test]
    fn continuation_only_when_allowed() {
        assert_eq!(
            parse_status_line(b"+ VXNlcm5hbWU6", true).unwrap(),
            StatusLine::Continuation(b"VXNlcm5hbWU6".to_vec())
        );
        assert_eq!(
            parse_status_line(b"+", true).unwrap(),
            StatusLine::Continuation(Vec::new())
        );
        assert!(parse_status_line(b"+ VXNlcm5hbWU6", false).is_err());
        // +OK is still a status during AUTH.
        assert!(matches!(
            parse_status_line(b"+OK Logged in.", true).unwrap(),
            StatusLine::Status(Status { ok: true, .. })
        ));
    }

    #[test]
    fn control_characters_are_not_passed_to_people() {
        let s = status(b"-ERR bad\x1b[31m red \x07");
        assert!(!s.text.chars().any(char::is_control), "{:?}", s.text);
        let s = status(b"+OK caf\xe9");
        assert_eq!(s.text, "caf\u{fffd}");
    }

    #[test]
    fn typed_parsers() {
        assert_eq!(parse_stat(&status(b"+OK 2 320")).unwrap(), (2, 320));
        assert_eq!(parse_stat(&status(b"+OK 0 0 extra")).unwrap(), (0, 0));
        assert!(parse_stat(&status(b"+OK")).is_err());
        assert!(parse_stat(&status(b"+OK two 320")).is_err());
        assert_eq!(parse_scan_listing(b"1 120").unwrap(), (1, 120));
        assert_eq!(parse_scan_listing(b"7  99 extra").unwrap(), (7, 99));
        assert!(parse_scan_listing(b"0 120").is_err());
        assert!(parse_scan_listing(b"1").is_err());
        assert!(parse_scan_listing(b"1 -5").is_err());
        assert_eq!(
            parse_uid_listing(b"3 000000014f4a2b3c").unwrap(),
            (3, "000000014f4a2b3c".to_string())
        );
        assert!(parse_uid_listing(b"3").is_err());
        let m = parse_uid_listing(b"x y").unwrap_err();
        assert_eq!(m.to_string(), "malformed UIDL reply: \"x y\"");
    }

    #[test]
    fn apop_timestamps() {
        let g = status(b"+OK POP3 server ready <1896.697170952@dbc.mtview.ca.us>");
        assert_eq!(
            apop_timestamp(&g).as_deref(),
            Some("<1896.697170952@dbc.mtview.ca.us>")
        );
        assert_eq!(apop_timestamp(&status(b"+OK ready")), None);
        assert_eq!(apop_timestamp(&status(b"+OK <>")), None);
    }

    #[test]
    fn explanations_exist_for_known_codes() {
        assert!(RespCode::InUse.explain().contains("another client"));
        assert!(RespCode::LoginDelay.explain().contains("too recently"));
    }
}
