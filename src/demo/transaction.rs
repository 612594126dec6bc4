//! The TRANSACTION and UPDATE states of a demo server session (RFC 1939
//! sections 5 and 6): listing, sending and marking messages, and the commit
//! on `QUIT`.
//!
//! Message numbers are fixed for the session; marked messages vanish from
//! every command but are removed only by an accepted `QUIT`. Bodies are read
//! and sent in chunks, never held whole.

use std::io;
use std::time::{Duration, Instant};

use super::mailbox::Maildrop;
use super::session::{Flow, ServerSession};
use crate::pop3::stuff::Stuffer;

/// Size of the chunks a message body is read and sent in.
const BODY_CHUNK: usize = 64 * 1024;

pub(super) struct Txn {
    pub(super) maildrop: Maildrop,
    pub(super) deleted: Vec<bool>,
    /// Sent with `RETR` in this session (for `Faults::mailutils_rewrite`).
    pub(super) retrieved: Vec<bool>,
    /// `UIDL` was asked in this session (for `Faults::mailutils_rewrite`).
    pub(super) uidl_asked: bool,
    /// `DELE` answered in this session (for `Faults::drop_after_deles`).
    pub(super) deles: u32,
}

impl Txn {
    pub(super) fn new(maildrop: Maildrop) -> Self {
        let n = maildrop.messages.len();
        Txn {
            maildrop,
            deleted: vec![false; n],
            retrieved: vec![false; n],
            uidl_asked: false,
            deles: 0,
        }
    }
}

impl ServerSession {
    /// RFC 1939 section 5: the TRANSACTION state.
    pub(super) async fn transaction(&mut self, verb: &str, rest: &str) -> io::Result<Flow> {
        let args: Vec<&str> = rest.split_ascii_whitespace().collect();
        let faults = self.shared.config.faults.clone();
        match verb {
            "STAT" => {
                let (n, size) = self.totals();
                self.ok(&format!("{n} {size}")).await?;
            }
            "LIST" | "UIDL" => {
                let uidl = verb == "UIDL";
                if uidl && faults.no_uidl {
                    self.err("unknown command").await?;
                    return Ok(Flow::Continue);
                }
                self.txn.as_mut().expect("TRANSACTION state").uidl_asked |= uidl;
                let txn = self.txn.as_ref().expect("TRANSACTION state");
                let item = |i: usize| {
                    let m = &txn.maildrop.messages[i];
                    if uidl && faults.duplicate_uidl && i == 1 {
                        format!("{} {}", i + 1, txn.maildrop.messages[0].uidl)
                    } else if uidl {
                        format!("{} {}", i + 1, m.uidl)
                    } else {
                        format!("{} {}", i + 1, m.size)
                    }
                };
                match args.first() {
                    None => {
                        let lines: Vec<String> = self.live().into_iter().map(item).collect();
                        let (n, size) = self.totals();
                        self.listing(&format!("{n} messages ({size} octets)"), &lines)
                            .await?;
                    }
                    Some(a) => match self.message(a) {
                        Ok(i) => {
                            let line = item(i);
                            self.ok(&line).await?;
                        }
                        Err(e) => self.err(&e).await?,
                    },
                }
            }
            "TOP" => {
                if faults.no_top {
                    self.err("unknown command").await?;
                    return Ok(Flow::Continue);
                }
                let (Some(n), Some(k)) = (args.first(), args.get(1)) else {
                    self.err("usage: TOP msg n").await?;
                    return Ok(Flow::Continue);
                };
                let Some(k) = parse_number(k) else {
                    self.err("invalid line count").await?;
                    return Ok(Flow::Continue);
                };
                match self.message(n) {
                    Ok(i) => return self.send_message(i, Some(k)).await,
                    Err(e) => self.err(&e).await?,
                }
            }
            "RETR" => match args.first().map(|a| self.message(a)) {
                Some(Ok(i)) => return self.send_message(i, None).await,
                Some(Err(e)) => self.err(&e).await?,
                None => self.err("usage: RETR msg").await?,
            },
            "DELE" => match args.first().map(|a| self.message(a)) {
                Some(Ok(i)) => {
                    let n = i + 1;
                    let txn = self.txn.as_mut().expect("TRANSACTION state");
                    if faults.drop_after_deles.is_some_and(|k| txn.deles >= k) {
                        tracing::info!("dropping the connection on DELE on purpose");
                        self.txn = None;
                        return Ok(Flow::Close);
                    }
                    txn.deles += 1;
                    if faults.refuse_dele.iter().any(|&r| r as usize == n) {
                        self.err(&format!("message {n} cannot be deleted")).await?;
                    } else {
                        self.txn.as_mut().expect("TRANSACTION state").deleted[i] = true;
                        self.ok(&format!("message {n} deleted")).await?;
                    }
                }
                Some(Err(e)) => self.err(&e).await?,
                None => self.err("usage: DELE msg").await?,
            },
            "RSET" => {
                let txn = self.txn.as_mut().expect("TRANSACTION state");
                txn.deleted.iter_mut().for_each(|d| *d = false);
                let (n, size) = self.totals();
                self.ok(&format!("maildrop has {n} messages ({size} octets)"))
                    .await?;
            }
            "NOOP" => self.ok("").await?,
            "QUIT" => return self.quit(&faults).await,
            "CAPA" => return self.capa().await,
            "USER" | "PASS" | "APOP" | "AUTH" | "STLS" => {
                self.err("command not valid in this state").await?;
            }
            "UTF8" => self.err("UTF8 is not supported").await?,
            _ => self.err("unknown command").await?,
        }
        Ok(Flow::Continue)
    }

    /// RFC 1939 section 6: the UPDATE state.
    async fn quit(&mut self, faults: &super::Faults) -> io::Result<Flow> {
        self.mailutils_store().await;
        let txn = self.txn.take().expect("TRANSACTION state");
        if faults.drop_on_quit {
            tracing::info!("dropping the connection on QUIT on purpose");
            return Ok(Flow::Close);
        }
        if faults.refuse_quit {
            self.err("cannot update the maildrop now; nothing was deleted")
                .await?;
            return Ok(Flow::Close);
        }
        let marked: Vec<usize> = (0..txn.deleted.len())
            .filter(|&i| txn.deleted[i] && !faults.quit_keeps.contains(&(i as u32 + 1)))
            .collect();
        let (removed, error) = txn.maildrop.commit(&marked).await;
        tracing::info!(removed, "QUIT committed");
        if faults.drop_after_quit_commit {
            tracing::info!("dropping the connection after QUIT on purpose");
            return Ok(Flow::Close);
        }
        if error.is_some() {
            self.err(&format!(
                "[SYS/PERM] some deleted messages not removed ({removed} of {} removed)",
                marked.len()
            ))
            .await?;
        } else {
            self.ok(&format!(
                "popdoc demo server signing off ({removed} messages deleted)"
            ))
            .await?;
        }
        Ok(Flow::Close)
    }

    /// Indexes of the messages not marked as deleted.
    fn live(&self) -> Vec<usize> {
        let txn = self.txn.as_ref().expect("TRANSACTION state");
        (0..txn.deleted.len())
            .filter(|&i| !txn.deleted[i])
            .collect()
    }

    fn totals(&self) -> (usize, u64) {
        let txn = self.txn.as_ref().expect("TRANSACTION state");
        let live = self.live();
        let size = live.iter().map(|&i| txn.maildrop.messages[i].size).sum();
        (live.len(), size)
    }

    /// Turns a message-number argument into an index of a live message.
    fn message(&self, arg: &str) -> Result<usize, String> {
        let txn = self.txn.as_ref().expect("TRANSACTION state");
        let n = parse_number(arg).ok_or_else(|| "invalid message number".to_string())?;
        let i = usize::try_from(n).unwrap_or(usize::MAX).wrapping_sub(1);
        match txn.deleted.get(i) {
            None => Err("no such message".into()),
            Some(true) => Err(format!("message {n} already deleted")),
            Some(false) => Ok(i),
        }
    }

    /// `RETR` (`top` = None) or `TOP`: `+OK`, the dot-stuffed bytes, `.`.
    async fn send_message(&mut self, i: usize, top: Option<u64>) -> io::Result<Flow> {
        let msg = self
            .txn
            .as_ref()
            .expect("TRANSACTION state")
            .maildrop
            .messages[i]
            .clone();
        if top.is_none() {
            self.txn.as_mut().expect("TRANSACTION state").retrieved[i] = true;
        }
        let body = match self.mailutils_body(i).await {
            Ok(Some(r)) => Ok(r),
            Ok(None) => msg.open().await,
            Err(e) => Err(e),
        };
        let mut reader = match body {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, uidl = %msg.uidl, "cannot open message");
                self.err("[SYS/TEMP] cannot read the message").await?;
                return Ok(Flow::Continue);
            }
        };
        let faults = self.shared.config.faults.clone();
        let retr = top.is_none();
        let rate = faults.retr_bytes_per_sec.filter(|_| retr).map(|r| r.max(1));
        let drop_after = faults.drop_in_retr_after.filter(|_| retr);
        match top {
            None => self.ok(&format!("{} octets", msg.size)).await?,
            Some(_) => self.ok("top of message follows").await?,
        }
        // Throttled bodies go out in pieces of about 1/20 s.
        let chunk = match rate {
            Some(r) => usize::try_from(r / 20)
                .unwrap_or(BODY_CHUNK)
                .clamp(1, BODY_CHUNK),
            None => BODY_CHUNK,
        };
        let mut buf = vec![0u8; chunk];
        let mut out = Vec::with_capacity(chunk + chunk / 8);
        let mut stuffer = Stuffer::new();
        let mut cut = top.map(TopCut::new);
        let mut sent = 0u64;
        let started = Instant::now();
        loop {
            let n = match reader.read(&mut buf).await {
                Ok(n) => n,
                Err(e) => {
                    // The +OK is out; the only honest thing left is to hang up.
                    tracing::warn!(error = %e, uidl = %msg.uidl, "read failed mid-message");
                    return Ok(Flow::Close);
                }
            };
            let mut data = &buf[..n];
            let mut done = n == 0;
            if let Some(c) = cut.as_mut() {
                let (take, complete) = c.feed(data);
                data = &data[..take];
                done |= complete;
            }
            out.clear();
            stuffer.push(data, &mut out);
            if done {
                stuffer.finish(&mut out);
            }
            if let Some(limit) = drop_after
                && sent + out.len() as u64 >= limit
            {
                let keep = usize::try_from(limit - sent).unwrap_or(out.len());
                self.conn.write(&out[..keep]).await?;
                tracing::info!(limit, "dropping the connection mid-RETR on purpose");
                return Ok(Flow::Close);
            }
            self.conn.write(&out).await?;
            sent += out.len() as u64;
            if let Some(r) = rate {
                self.conn.flush().await?;
                let due = started + Duration::from_secs_f64(sent as f64 / r as f64);
                tokio::time::sleep_until(due.into()).await;
            }
            if done {
                return Ok(Flow::Continue);
            }
        }
    }
}

/// A decimal number of digits only (no sign, no spaces).
fn parse_number(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Cuts a message for `TOP n k` (RFC 1939 section 7): the header block, the
/// blank line, then at most `k` lines of the body. Lines end at LF.
#[derive(Debug)]
struct TopCut {
    in_header: bool,
    line_len: usize,
    prev: u8,
    remaining: u64,
}

impl TopCut {
    fn new(lines: u64) -> Self {
        TopCut {
            in_header: true,
            line_len: 0,
            prev: 0,
            remaining: lines,
        }
    }

    /// How many bytes of `chunk` belong to the output, and whether the cut is
    /// complete (nothing more is wanted).
    fn feed(&mut self, chunk: &[u8]) -> (usize, bool) {
        let mut i = 0;
        while i < chunk.len() {
            if self.in_header {
                let b = chunk[i];
                i += 1;
                if b == b'\n' {
                    let blank = self.line_len == 0 || (self.line_len == 1 && self.prev == b'\r');
                    self.line_len = 0;
                    if blank {
                        self.in_header = false;
                        if self.remaining == 0 {
                            return (i, true);
                        }
                    }
                } else {
                    self.line_len += 1;
                }
                self.prev = b;
            } else {
                match memchr::memchr(b'\n', &chunk[i..]) {
                    Some(j) => {
                        i += j + 1;
                        self.remaining -= 1;
                        if self.remaining == 0 {
                            return (i, true);
                        }
                    }
                    None => return (chunk.len(), false),
                }
            }
        }
        (chunk.len(), false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn top(msg: &[u8], k: u64, chunk: usize) -> Vec<u8> {
        let mut cut = TopCut::new(k);
        let mut out = Vec::new();
        for c in msg.chunks(chunk) {
            let (take, done) = cut.feed(c);
            out.extend_from_slice(&c[..take]);
            if done {
                break;
            }
        }
        out
    }

    #[test]
    fn top_cuts_after_k_body_lines_at_any_chunking() {
        let msg = b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\nl3\r\n";
        for chunk in 1..=msg.len() {
            assert_eq!(top(msg, 0, chunk), b"A: 1\r\nB: 2\r\n\r\n", "chunk {chunk}");
            assert_eq!(top(msg, 2, chunk), b"A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n");
            assert_eq!(top(msg, 99, chunk), msg);
        }
    }

    #[test]
    fn top_handles_lf_only_and_headers_without_body() {
        assert_eq!(top(b"A: 1\n\nbody\nmore\n", 1, 3), b"A: 1\n\nbody\n");
        assert_eq!(top(b"A: 1\r\nB: 2", 5, 4), b"A: 1\r\nB: 2");
        // a header line with only a CR before other text is not blank
        assert_eq!(top(b"A\r\n\rx\r\n\r\nb\r\n", 0, 1), b"A\r\n\rx\r\n\r\n");
    }

    #[test]
    fn numbers_are_digits_only() {
        assert_eq!(parse_number("12"), Some(12));
        for bad in ["", "+1", "-1", " 1", "1a", "99999999999999999999999"] {
            assert_eq!(parse_number(bad), None, "{bad:?}");
        }
    }
}
