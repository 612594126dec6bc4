//! One POP3 session of the demo server (RFC 1939): the command loop, the
//! TRANSACTION state and the message transfer. Authorization lives in `auth.rs`.
//!
//! Commands are read as they arrive and answered in order; replies are
//! flushed when no further complete command is buffered, so pipelined replies
//! (RFC 2449 section 6.6) share writes while a lone command is answered at once.
//! Nothing here may panic on client input, and only an accepted `QUIT`
//! deletes messages.

use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use super::conn::{Conn, Input};
use super::mailbox::{Maildrop, TopCut};
use super::server::Shared;
use crate::demo::Faults;
use crate::pop3::stuff::Stuffer;

/// Size of the chunks a message body is read and sent in.
const BODY_CHUNK: usize = 64 * 1024;
/// Length of the status line sent for `Faults::huge_line_on`, CRLF included.
const HUGE_LINE: usize = 100_000;

/// What the command loop does after a command.
pub(super) enum Flow {
    Continue,
    /// Flush what is queued and close the connection.
    Close,
    /// Never answer again; wait for the client to go away.
    Stall,
}

pub(super) struct Session {
    pub(super) shared: Arc<Shared>,
    pub(super) conn: Conn,
    pub(super) tls_active: bool,
    /// The APOP timestamp of the greeting (RFC 1939 section 7).
    pub(super) timestamp: Option<String>,
    /// The name given by `USER`, waiting for `PASS`.
    pub(super) user: Option<String>,
    /// Present in the TRANSACTION state.
    pub(super) txn: Option<Txn>,
}

pub(super) struct Txn {
    maildrop: Maildrop,
    deleted: Vec<bool>,
}

impl Txn {
    pub(super) fn new(maildrop: Maildrop) -> Self {
        let n = maildrop.messages.len();
        Txn {
            maildrop,
            deleted: vec![false; n],
        }
    }
}

/// Serves one connection until it ends. Errors only end the session.
pub(super) async fn run(stream: TcpStream, shared: Arc<Shared>) {
    let idle = shared.config.idle_timeout;
    let mut session = Session {
        shared,
        conn: Conn::new(Box::new(stream), idle),
        tls_active: false,
        timestamp: None,
        user: None,
        txn: None,
    };
    match session.serve().await {
        Ok(()) => tracing::debug!("session ended"),
        Err(e) => tracing::debug!(error = %e, "session ended with an error"),
    }
    // Dropping the session drops any maildrop lock without deleting anything.
}

impl Session {
    async fn serve(&mut self) -> io::Result<()> {
        let cfg = &self.shared.config;
        if let (Some(acceptor), true) = (self.shared.acceptor.clone(), cfg.implicit_tls) {
            self.conn.start_tls(&acceptor).await?;
            self.tls_active = true;
        }
        if let Some(d) = cfg.faults.greeting_delay {
            tokio::time::sleep(d).await;
        }
        let mut greeting = "popdoc demo server ready".to_string();
        if cfg.apop {
            let ts = apop_timestamp();
            greeting = format!("{greeting} {ts}");
            self.timestamp = Some(ts);
        }
        self.ok(&greeting).await?;
        self.conn.flush().await?;
        loop {
            let flow = match self.conn.read_line().await {
                Input::Closed => return Ok(()),
                Input::Idle => {
                    tracing::info!("idle timeout");
                    self.err("Disconnected for inactivity").await?;
                    Flow::Close
                }
                Input::TooLong => {
                    self.shared.record("<line too long>".into());
                    self.err("line too long").await?;
                    Flow::Continue
                }
                Input::Line(line) => self.command(&line).await?,
            };
            match flow {
                Flow::Continue => {}
                Flow::Close => {
                    self.conn.close().await;
                    return Ok(());
                }
                Flow::Stall => {
                    self.conn.flush().await?;
                    while let Input::Line(_) | Input::TooLong = self.conn.read_line().await {}
                    return Ok(());
                }
            }
            if !self.conn.has_pending_line() {
                self.conn.flush().await?;
            }
        }
    }

    async fn command(&mut self, line: &[u8]) -> io::Result<Flow> {
        let text = String::from_utf8_lossy(line);
        let (verb_raw, rest) = text.split_once(' ').unwrap_or((&text, ""));
        let verb = verb_raw.to_ascii_uppercase();
        self.shared.record(redact(&text, verb_raw, &verb, rest));
        let faults = &self.shared.config.faults;
        if Faults::hits(&faults.stall_on, &verb) {
            tracing::info!(%verb, "stalling on purpose");
            return Ok(Flow::Stall);
        }
        if let Some(d) = faults.reply_delay {
            tokio::time::sleep(d).await;
        }
        if Faults::hits(&faults.garbage_on, &verb) {
            self.conn.write(b"HELLO garbage\r\n").await?;
            return Ok(Flow::Continue);
        }
        if Faults::hits(&faults.huge_line_on, &verb) {
            let mut huge = b"+OK ".to_vec();
            huge.resize(HUGE_LINE - 2, b'x');
            huge.extend_from_slice(b"\r\n");
            self.conn.write(&huge).await?;
            return Ok(Flow::Continue);
        }
        if self.txn.is_some() {
            self.transaction(&verb, rest).await
        } else {
            self.authorization(&verb, rest).await
        }
    }

    /// Writes a status line (RFC 1939 section 3); `Faults::bare_status` drops the text.
    async fn status(&mut self, indicator: &str, text: &str) -> io::Result<()> {
        let line = if text.is_empty() || self.shared.config.faults.bare_status {
            format!("{indicator}\r\n")
        } else {
            format!("{indicator} {text}\r\n")
        };
        self.conn.write(line.as_bytes()).await
    }

    pub(super) async fn ok(&mut self, text: &str) -> io::Result<()> {
        self.status("+OK", text).await
    }

    pub(super) async fn err(&mut self, text: &str) -> io::Result<()> {
        self.status("-ERR", text).await
    }

    /// Sends `+OK` and the lines of a multi-line reply (none start with `.`).
    async fn listing(&mut self, status: &str, lines: &[String]) -> io::Result<()> {
        self.ok(status).await?;
        for l in lines {
            self.conn.write(l.as_bytes()).await?;
            self.conn.write(b"\r\n").await?;
        }
        self.conn.write(b".\r\n").await
    }

    /// RFC 2449 section 5. The list depends on the state and on TLS.
    pub(super) async fn capa(&mut self) -> io::Result<Flow> {
        let cfg = &self.shared.config;
        let f = &cfg.faults;
        if f.no_capa {
            self.err("unknown command").await?;
            return Ok(Flow::Continue);
        }
        let mut caps = vec!["CAPA".to_string()];
        if !f.no_top {
            caps.push("TOP".into());
        }
        if !f.no_uidl {
            caps.push("UIDL".into());
        }
        caps.push("RESP-CODES".into());
        caps.push("AUTH-RESP-CODE".into());
        if !f.no_pipelining {
            caps.push("PIPELINING".into());
        }
        if let Some(d) = f.login_delay {
            caps.push(format!("LOGIN-DELAY {d}"));
        }
        if let Some(e) = &f.expire {
            caps.push(format!("EXPIRE {e}"));
        }
        if self.txn.is_none() && cfg.tls.is_some() && !self.tls_active {
            caps.push("STLS".into());
        }
        // Like servers that disable plaintext authentication: no login methods
        // are advertised before STLS (they are still accepted).
        if cfg.tls.is_none() || self.tls_active {
            if cfg.user_pass {
                caps.push("USER".into());
            }
            let mechs = self.mechanisms();
            if !mechs.is_empty() {
                caps.push(format!("SASL {}", mechs.join(" ")));
            }
        }
        if !cfg.implementation.is_empty() {
            caps.push(format!("IMPLEMENTATION {}", cfg.implementation));
        }
        self.listing("Capability list follows", &caps).await?;
        Ok(Flow::Continue)
    }

    /// RFC 1939 section 5: the TRANSACTION state.
    async fn transaction(&mut self, verb: &str, rest: &str) -> io::Result<Flow> {
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
                let txn = self.txn.as_ref().expect("TRANSACTION state");
                let item = |i: usize| {
                    let m = &txn.maildrop.messages[i];
                    if uidl {
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
            "QUIT" => return self.quit(faults.drop_on_quit).await,
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
    async fn quit(&mut self, drop_on_quit: bool) -> io::Result<Flow> {
        let txn = self.txn.take().expect("TRANSACTION state");
        if drop_on_quit {
            tracing::info!("dropping the connection on QUIT on purpose");
            return Ok(Flow::Close);
        }
        let marked: Vec<usize> = (0..txn.deleted.len()).filter(|&i| txn.deleted[i]).collect();
        let (removed, error) = txn.maildrop.commit(&marked).await;
        tracing::info!(removed, "QUIT committed");
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
        let mut reader = match msg.open().await {
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
            if let Some(limit) = drop_after {
                if sent + out.len() as u64 >= limit {
                    let keep = usize::try_from(limit - sent).unwrap_or(out.len());
                    self.conn.write(&out[..keep]).await?;
                    tracing::info!(limit, "dropping the connection mid-RETR on purpose");
                    return Ok(Flow::Close);
                }
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

/// The line as it goes into the received log, with secrets replaced by `***`.
fn redact(line: &str, verb_raw: &str, verb: &str, rest: &str) -> String {
    match verb {
        "PASS" => format!("{verb_raw} ***"),
        "APOP" | "AUTH" => {
            let mut parts = rest.split_ascii_whitespace();
            match parts.next() {
                Some(first) if parts.next().is_some() => format!("{verb_raw} {first} ***"),
                _ => line.to_string(),
            }
        }
        _ => line.to_string(),
    }
}

/// RFC 1939 section 7: `<process-ID.clock@hostname>`, unique per greeting.
fn apop_timestamp() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let clock = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("<{}.{clock}.{n}@popdoc.demo>", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_digits_only() {
        assert_eq!(parse_number("12"), Some(12));
        for bad in ["", "+1", "-1", " 1", "1a", "99999999999999999999999"] {
            assert_eq!(parse_number(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn secrets_are_redacted_and_the_rest_kept() {
        assert_eq!(
            redact("pass hunter 2", "pass", "PASS", "hunter 2"),
            "pass ***"
        );
        assert_eq!(redact("PASS", "PASS", "PASS", ""), "PASS ***");
        assert_eq!(
            redact(
                "AUTH PLAIN AGRlbW8AZGVtbw==",
                "AUTH",
                "AUTH",
                "PLAIN AGRlbW8AZGVtbw=="
            ),
            "AUTH PLAIN ***"
        );
        assert_eq!(redact("AUTH PLAIN", "AUTH", "AUTH", "PLAIN"), "AUTH PLAIN");
        assert_eq!(
            redact("APOP demo 0123abcd", "APOP", "APOP", "demo 0123abcd"),
            "APOP demo ***"
        );
        assert_eq!(redact("USER demo", "USER", "USER", "demo"), "USER demo");
    }

    #[test]
    fn apop_timestamps_are_unique_and_well_formed() {
        let a = apop_timestamp();
        let b = apop_timestamp();
        assert_ne!(a, b);
        assert!(a.starts_with('<') && a.ends_with('>') && a.contains('@'));
    }
}
