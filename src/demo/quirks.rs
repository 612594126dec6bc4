//! Habits of real servers that the demo server can copy on purpose, for
//! tests of how popdoc copes: ready-made [`Faults`] for popa3d and GNU
//! Mailutils, and the Mailutils message rewrite ([`Faults::mailutils_rewrite`]).
//!
//! What GNU Mailutils 3.15 `pop3d` does with an mbox, as measured: after
//! `UIDL` in a session, a message whose stored header has no `X-UIDL` is
//! sent with one added (its `LIST` size does not count it); when the
//! session ends, with `QUIT` or not, the messages it sent with `RETR` get
//! `X-UIDL` and `Status` written into their stored header, so their sizes
//! differ in later sessions while their UIDLs stay. Like every session of
//! the demo server, it also locks the mailbox: a second one gets `[IN-USE]`.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use super::config::Faults;
use super::mailbox::{BodyReader, Message};
use super::session::ServerSession;

impl Faults {
    /// Like popa3d: `CAPA` is an unknown command, every status line is a
    /// bare `+OK` or `-ERR`, and each reply comes about 40 ms late.
    pub fn popa3d() -> Faults {
        Faults {
            no_capa: true,
            bare_status: true,
            reply_delay: Some(Duration::from_millis(40)),
            ..Faults::default()
        }
    }

    /// Like GNU Mailutils `pop3d` with an mbox: messages rewritten as the
    /// module documentation describes.
    pub fn mailutils() -> Faults {
        Faults {
            mailutils_rewrite: true,
            ..Faults::default()
        }
    }
}

/// `msg` with `X-UIDL: uidl` added at the end of its header when it has
/// none, and with `status`, every `Status:` line replaced by `Status: RO`.
/// Lines added end in CRLF.
pub(crate) fn rewrite_header(msg: &[u8], uidl: &str, status: bool) -> Vec<u8> {
    let end = header_end(msg);
    let mut out = Vec::with_capacity(msg.len() + 64);
    let mut has_uidl = false;
    for line in msg[..end].split_inclusive(|&b| b == b'\n') {
        has_uidl |= starts_with_name(line, "X-UIDL:");
        if !(status && starts_with_name(line, "Status:")) {
            out.extend_from_slice(line);
        }
    }
    if !has_uidl {
        out.extend_from_slice(format!("X-UIDL: {uidl}\r\n").as_bytes());
    }
    if status {
        out.extend_from_slice(b"Status: RO\r\n");
    }
    out.extend_from_slice(&msg[end..]);
    out
}

/// Whether the stored header has an `X-UIDL` line.
pub(crate) fn has_uidl_header(msg: &[u8]) -> bool {
    msg[..header_end(msg)]
        .split_inclusive(|&b| b == b'\n')
        .any(|l| starts_with_name(l, "X-UIDL:"))
}

/// Where the blank line that ends the header starts (the message's length
/// when there is none).
fn header_end(msg: &[u8]) -> usize {
    let mut at = 0;
    for line in msg.split_inclusive(|&b| b == b'\n') {
        if line == b"\r\n" || line == b"\n" {
            return at;
        }
        at += line.len();
    }
    msg.len()
}

fn starts_with_name(line: &[u8], name: &str) -> bool {
    line.len() >= name.len() && line[..name.len()].eq_ignore_ascii_case(name.as_bytes())
}

async fn read_all(msg: &Message) -> io::Result<Vec<u8>> {
    let mut reader = msg.open().await?;
    let mut all = Vec::with_capacity(usize::try_from(msg.size).unwrap_or(0));
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader.read(&mut buf).await?;
        if n == 0 {
            return Ok(all);
        }
        all.extend_from_slice(&buf[..n]);
    }
}

impl ServerSession {
    /// With [`Faults::mailutils_rewrite`], after `UIDL`: the bytes to send
    /// for message `i` when they differ from the stored ones (read whole:
    /// a test server's habit, not for large mailboxes).
    pub(super) async fn mailutils_body(&mut self, i: usize) -> io::Result<Option<BodyReader>> {
        let Some(txn) = self.txn.as_mut() else {
            return Ok(None);
        };
        if !self.shared.config.faults.mailutils_rewrite || !txn.uidl_asked {
            return Ok(None);
        }
        let msg = txn.maildrop.messages[i].clone();
        let stored = read_all(&msg).await?;
        if has_uidl_header(&stored) {
            return Ok(None);
        }
        let sent = rewrite_header(&stored, &msg.uidl, false);
        Ok(Some(BodyReader::Memory(Arc::from(sent), 0)))
    }

    /// With [`Faults::mailutils_rewrite`], at the end of a session (by
    /// `QUIT` or not): writes `X-UIDL` and `Status` into the stored header
    /// of every message sent with `RETR` and not marked deleted.
    pub(super) async fn mailutils_store(&mut self) {
        if !self.shared.config.faults.mailutils_rewrite {
            return;
        }
        let Some(txn) = self.txn.as_ref() else { return };
        for (i, msg) in txn.maildrop.messages.iter().enumerate() {
            if !txn.retrieved[i] || txn.deleted[i] {
                continue;
            }
            let result = match read_all(msg).await {
                Ok(stored) => {
                    let new = rewrite_header(&stored, &msg.uidl, true);
                    txn.maildrop.replace(i, new).await
                }
                Err(e) => Err(e),
            };
            if let Err(e) = result {
                tracing::warn!(uidl = %msg.uidl, error = %e, "could not rewrite the message");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_gets_x_uidl_once_and_one_status_line() {
        let msg = b"From: a\r\nStatus: O\r\nSubject: s\r\n\r\nbody\r\nStatus: x\r\n";
        assert_eq!(
            rewrite_header(msg, "u1", false),
            b"From: a\r\nStatus: O\r\nSubject: s\r\nX-UIDL: u1\r\n\r\nbody\r\nStatus: x\r\n"
        );
        let stored = rewrite_header(msg, "u1", true);
        assert_eq!(
            stored,
            b"From: a\r\nSubject: s\r\nX-UIDL: u1\r\nStatus: RO\r\n\r\nbody\r\nStatus: x\r\n"
        );
        assert!(has_uidl_header(&stored));
        assert!(!has_uidl_header(msg));
        assert_eq!(rewrite_header(&stored, "u1", true), stored, "stable");
        // No blank line: everything is header.
        assert_eq!(
            rewrite_header(b"A: 1\r\n", "u", false),
            b"A: 1\r\nX-UIDL: u\r\n"
        );
        assert!(!has_uidl_header(b"A: 1\r\n\r\nX-UIDL: in the body\r\n"));
    }
}
