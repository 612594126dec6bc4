//! SMTP replies (RFC 5321 §4.2): `250-first` … `250 last`, parsed from
//! bytes fed in any pieces, with bounded line length and line count, and
//! the reply codes explained for people (RFC 5321 §4.2.2, RFC 3463
//! enhanced codes, RFC 4954 AUTH codes).
//!
//! Sans-I/O: no sockets, no clocks. Text is kept printable (control
//! characters become `?`).

use crate::pop3::text::printable;

/// Longest reply line accepted, CRLF included. RFC 5321 §4.5.3.1.5 says
/// 512; real servers send longer EHLO lines, so allow generous slack.
pub const MAX_LINE: usize = 4096;
/// Most lines in one reply.
pub const MAX_LINES: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpReply {
    pub code: u16,
    /// The text of each line after the code and separator.
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("a reply line longer than {MAX_LINE} bytes")]
    LineTooLong,
    #[error("a reply of more than {MAX_LINES} lines")]
    TooManyLines,
    #[error("a line that is not an SMTP reply (\"{0}\")")]
    Malformed(String),
    #[error("a multi-line reply whose lines have different codes ({0} then {1})")]
    CodeChanged(u16, u16),
}

impl SmtpReply {
    pub fn positive(&self) -> bool {
        (200..300).contains(&self.code)
    }

    /// The enhanced status code (RFC 3463) at the start of the first
    /// line, e.g. `5.7.8`.
    pub fn enhanced(&self) -> Option<&str> {
        let word = self.lines.first()?.split(' ').next()?;
        let parts: Vec<&str> = word.split('.').collect();
        let ok = parts.len() == 3
            && matches!(parts[0], "2" | "4" | "5")
            && parts[1..]
                .iter()
                .all(|p| !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()));
        ok.then_some(word)
    }

    /// `code[ enhanced]`, e.g. `535 5.7.8`.
    pub fn code_text(&self) -> String {
        match self.enhanced() {
            Some(e) => format!("{} {e}", self.code),
            None => self.code.to_string(),
        }
    }

    /// The reply on one line: `250 first / second`.
    pub fn one_line(&self) -> String {
        let text = self.lines.join(" / ");
        if text.is_empty() {
            self.code.to_string()
        } else {
            format!("{} {text}", self.code)
        }
    }

    /// The reply lines as the wire had them (`250-a`, `250 b`).
    pub fn wire_lines(&self) -> Vec<String> {
        let n = self.lines.len();
        self.lines
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let sep = if i + 1 < n { '-' } else { ' ' };
                if l.is_empty() && i + 1 == n {
                    self.code.to_string()
                } else {
                    format!("{}{sep}{l}", self.code)
                }
            })
            .collect()
    }

    /// What the code means, in plain words, when popdoc knows.
    pub fn explain(&self) -> Option<&'static str> {
        explain(self.code, self.enhanced())
    }

    /// EHLO keywords: every line but the first (the greeting part).
    pub fn ehlo_keywords(&self) -> Vec<String> {
        self.lines
            .iter()
            .skip(1)
            .map(|l| l.trim().to_string())
            .collect()
    }
}

/// Reply codes in plain words; enhanced codes first, as they are more
/// precise.
pub fn explain(code: u16, enhanced: Option<&str>) -> Option<&'static str> {
    let by_enhanced = match enhanced.map(|e| e.split_once('.').map_or(e, |(_, rest)| rest)) {
        Some("7.8") => Some("the user name or password (or token) was not accepted"),
        Some("7.9") => Some("this login method is too weak for the server; it wants another"),
        Some("7.11") => Some("the server requires encryption (TLS) for this"),
        Some("7.0") if code == 530 => Some("the server wants you to log in (AUTH) first"),
        Some("7.1") => Some(
            "the server refuses this sender or recipient (policy: relaying or sending for this address not allowed)",
        ),
        Some("1.1") => Some("the recipient's mailbox does not exist"),
        Some("1.2") => Some("the recipient's domain does not exist or does not accept mail"),
        Some("1.0") | Some("1.7") | Some("1.8") => Some("the sender address was not accepted"),
        Some("2.2") => Some("the recipient's mailbox is full"),
        Some("3.4") => Some("the message is larger than the server accepts"),
        Some("4.1") | Some("4.2") => Some("the server could not reach the next mail server"),
        _ => None,
    };
    by_enhanced.or(match code {
        421 => {
            Some("the server is closing the connection (overloaded or shutting down); retry later")
        }
        432 => Some("the password must be changed before it can be used here"),
        450 | 451 => Some("a temporary problem on the server (often greylisting); retry later"),
        452 => {
            Some("the server has no room right now (too many recipients or disk full); retry later")
        }
        454 => Some("a temporary problem with TLS or authentication on the server; retry later"),
        500 | 501 | 502 | 504 => {
            Some("the server did not understand or does not offer this command")
        }
        503 => Some("the commands came in the wrong order for the server"),
        530 => Some("the server wants you to log in (AUTH) first, possibly after STARTTLS"),
        534 => Some("this login method is too weak for the server; it wants another"),
        535 => Some("the user name or password (or token) was not accepted"),
        538 => Some("the server requires encryption (TLS) for this login method"),
        550 => Some("the mailbox is unavailable or the server's policy refuses it"),
        551 | 553 => Some("the address was not accepted"),
        552 => Some("the message is larger than the server accepts, or the mailbox is full"),
        554 => Some("the server refused the transaction (often a policy or spam decision)"),
        _ => None,
    })
}

/// Assembles replies from bytes.
#[derive(Debug, Default)]
pub struct ReplyReader {
    buf: Vec<u8>,
    code: Option<u16>,
    lines: Vec<String>,
}

impl ReplyReader {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Bytes received and not yet part of a returned reply.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// The next complete reply, if the bytes fed so far hold one.
    pub fn next_reply(&mut self) -> Result<Option<SmtpReply>, ReplyError> {
        loop {
            let Some(nl) = self.buf.iter().position(|b| *b == b'\n') else {
                if self.buf.len() > MAX_LINE {
                    return Err(ReplyError::LineTooLong);
                }
                return Ok(None);
            };
            if nl + 1 > MAX_LINE {
                return Err(ReplyError::LineTooLong);
            }
            let raw: Vec<u8> = self.buf.drain(..=nl).collect();
            let line = &raw[..nl];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            let (code, last, text) = parse_line(line)?;
            if let Some(prev) = self.code
                && prev != code
            {
                return Err(ReplyError::CodeChanged(prev, code));
            }
            self.code = Some(code);
            self.lines.push(text);
            if self.lines.len() > MAX_LINES {
                return Err(ReplyError::TooManyLines);
            }
            if last {
                self.code = None;
                return Ok(Some(SmtpReply {
                    code,
                    lines: std::mem::take(&mut self.lines),
                }));
            }
        }
    }
}

/// `250-text` / `250 text` / `250` → (code, is last line, text).
fn parse_line(line: &[u8]) -> Result<(u16, bool, String), ReplyError> {
    let bad = || {
        let mut shown = printable(&line[..line.len().min(80)]);
        if line.len() > 80 {
            shown.push('…');
        }
        ReplyError::Malformed(shown)
    };
    if line.len() < 3 || !line[..3].iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    if !(b'2'..=b'5').contains(&line[0]) {
        return Err(bad());
    }
    let code =
        (line[0] - b'0') as u16 * 100 + (line[1] - b'0') as u16 * 10 + (line[2] - b'0') as u16;
    match line.get(3) {
        None => Ok((code, true, String::new())),
        Some(b' ') => Ok((code, true, printable(&line[4..]).trim_end().to_string())),
        Some(b'-') => Ok((code, false, printable(&line[4..]).trim_end().to_string())),
        Some(_) => Err(bad()),
    }
}

/// A queue id in the reply to the message, when the server names one:
/// Postfix `queued as 4Xy…`, Exim `id=1abc…`, or a lone token after `OK`.
pub fn queue_id(reply: &SmtpReply) -> Option<String> {
    let text = reply.lines.join(" ");
    let clean = |s: &str| {
        s.trim_matches(|c: char| matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | ',' | '.' | ';'))
            .to_string()
    };
    let words: Vec<&str> = text.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        if let Some(id) = w.strip_prefix("id=") {
            return Some(clean(id)).filter(|s| !s.is_empty());
        }
        if w.eq_ignore_ascii_case("as") && i > 0 && words[i - 1].eq_ignore_ascii_case("queued") {
            return words.get(i + 1).map(|s| clean(s)).filter(|s| !s.is_empty());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(input: &[u8]) -> Result<Vec<SmtpReply>, ReplyError> {
        let mut r = ReplyReader::new();
        r.feed(input);
        let mut out = Vec::new();
        while let Some(x) = r.next_reply()? {
            out.push(x);
        }
        Ok(out)
    }

    const EHLO: &[u8] = b"250-mail.example.test Hello [127.0.0.1]\r\n250-SIZE 10485760\r\n250-8BITMIME\r\n250-AUTH PLAIN LOGIN\r\n250 HELP\r\n";

    #[test]
    fn multi_line_reply() {
        let r = all(EHLO).unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].code, 250);
        assert_eq!(
            r[0].ehlo_keywords(),
            vec!["SIZE 10485760", "8BITMIME", "AUTH PLAIN LOGIN", "HELP"]
        );
        assert_eq!(r[0].wire_lines().last().unwrap(), "250 HELP");
        assert_eq!(
            r[0].wire_lines()[0],
            "250-mail.example.test Hello [127.0.0.1]"
        );
    }

    #[test]
    fn every_split_point_gives_the_same_replies() {
        let input = [
            EHLO,
            b"220 2.0.0 Ready to start TLS\r\n354 go ahead\n250\r\n",
        ]
        .concat();
        let whole = all(&input).unwrap();
        assert_eq!(whole.len(), 4);
        assert_eq!(
            whole[3],
            SmtpReply {
                code: 250,
                lines: vec![String::new()]
            }
        );
        for split in 0..input.len() {
            let mut r = ReplyReader::new();
            let mut got = Vec::new();
            r.feed(&input[..split]);
            while let Some(x) = r.next_reply().unwrap() {
                got.push(x);
            }
            r.feed(&input[split..]);
            while let Some(x) = r.next_reply().unwrap() {
                got.push(x);
            }
            assert_eq!(got, whole, "split at {split}");
            assert_eq!(r.buffered(), 0);
        }
        // One byte at a time.
        let mut r = ReplyReader::new();
        let mut got = Vec::new();
        for b in &input {
            r.feed(std::slice::from_ref(b));
            while let Some(x) = r.next_reply().unwrap() {
                got.push(x);
            }
        }
        assert_eq!(got, whole);
    }

    #[test]
    fn bad_input_is_an_error_not_a_crash() {
        assert!(matches!(all(b"HELLO\r\n"), Err(ReplyError::Malformed(_))));
        assert!(matches!(all(b"25\r\n"), Err(ReplyError::Malformed(_))));
        assert!(matches!(all(b"250x\r\n"), Err(ReplyError::Malformed(_))));
        assert!(matches!(all(b"650 no\r\n"), Err(ReplyError::Malformed(_))));
        assert_eq!(
            all(b"250-a\r\n251 b\r\n"),
            Err(ReplyError::CodeChanged(250, 251))
        );
        let long = [b"250 ".as_slice(), &[b'a'; MAX_LINE], b"\r\n"].concat();
        assert_eq!(all(&long), Err(ReplyError::LineTooLong));
        // Without a line end the buffer still may not grow past the bound.
        let mut r = ReplyReader::new();
        r.feed(&[b'2'; MAX_LINE + 1]);
        assert_eq!(r.next_reply(), Err(ReplyError::LineTooLong));
        let many: Vec<u8> = b"250-x\r\n".repeat(MAX_LINES + 1);
        assert_eq!(all(&many), Err(ReplyError::TooManyLines));
        let r = all(b"220 caf\xc3\xa9 \x1b[31m\r\n").unwrap();
        assert_eq!(r[0].lines[0], "café ?[31m");
    }

    #[test]
    fn codes_explained_and_queue_ids_found() {
        let r = all(b"535 5.7.8 Authentication credentials invalid\r\n")
            .unwrap()
            .remove(0);
        assert_eq!(r.enhanced(), Some("5.7.8"));
        assert_eq!(r.code_text(), "535 5.7.8");
        assert!(r.explain().unwrap().contains("not accepted"));
        let r = all(b"550 relay not permitted\r\n").unwrap().remove(0);
        assert_eq!(r.enhanced(), None);
        assert!(r.explain().unwrap().contains("policy"));
        assert_eq!(explain(299, None), None);

        let q = |s: &[u8]| queue_id(&all(s).unwrap().remove(0));
        assert_eq!(
            q(b"250 OK id=1xUyUU-0006W5-09\r\n").as_deref(),
            Some("1xUyUU-0006W5-09")
        );
        assert_eq!(
            q(b"250 2.0.0 Ok: queued as 4XyZ1234AB\r\n").as_deref(),
            Some("4XyZ1234AB")
        );
        assert_eq!(q(b"250 2.0.0 Ok\r\n"), None);
    }
}
