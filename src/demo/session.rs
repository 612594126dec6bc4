//! One POP3 session of the demo server (RFC 1939): the command loop, status
//! lines and `CAPA`. Authorization lives in `auth.rs`, the TRANSACTION state in
//! `transaction.rs`.
//!
//! Commands are read as they arrive and answered in order; replies are
//! flushed when no further complete command is buffered, so pipelined replies
//! (RFC 2449 section 6.6) share writes while a lone command is answered at once.
//! Nothing here may panic on client input, and only an accepted `QUIT`
//! deletes messages.

use std::io;
use std::sync::Arc;

use tokio::net::TcpStream;

use super::chaos::{Act, ChaosIo, Plan, flood_line};
use super::conn::{Input, ServerConn};
use super::server::Shared;
use super::transaction::Txn;
use crate::demo::Faults;

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

pub(super) struct ServerSession {
    pub(super) shared: Arc<Shared>,
    pub(super) conn: ServerConn,
    pub(super) tls_active: bool,
    /// The APOP timestamp of the greeting (RFC 1939 section 7).
    pub(super) timestamp: Option<String>,
    /// The name given by `USER`, waiting for `PASS`.
    pub(super) user: Option<String>,
    /// Present in the TRANSACTION state.
    pub(super) txn: Option<Txn>,
    /// The client sent `UTF8` (RFC 6856).
    pub(super) utf8: bool,
    /// The flight the last command belonged to ([`super::Server::flights`]).
    flight: u64,
    /// Every command so far is answered and no further one was buffered:
    /// the next command begins a new flight.
    caught_up: bool,
    /// This connection's faults under `Faults::chaos`.
    chaos: Option<Plan>,
}

/// Serves one connection until it ends. Errors only end the session.
pub(super) async fn run(stream: TcpStream, shared: Arc<Shared>) {
    let first = shared
        .sessions
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        == 0;
    let idle = match shared.config.faults.autologout_first {
        Some(d) if first => d,
        _ => shared.config.idle_timeout,
    };
    let chaos = shared.config.faults.chaos.as_ref().map(|c| c.next_plan());
    let io: Box<dyn super::conn::Io> = match &chaos {
        Some(plan) => Box::new(ChaosIo::new(stream, plan)),
        None => Box::new(stream),
    };
    let mut session = ServerSession {
        shared,
        conn: ServerConn::new(io, idle),
        tls_active: false,
        timestamp: None,
        user: None,
        txn: None,
        utf8: false,
        flight: 0,
        caught_up: true,
        chaos,
    };
    match session.serve().await {
        Ok(()) => tracing::debug!("session ended"),
        Err(e) => tracing::debug!(error = %e, "session ended with an error"),
    }
    session.mailutils_store().await;
    // Dropping the session drops any maildrop lock without deleting anything.
}

impl ServerSession {
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
                Input::Line(line) => {
                    let flow = self.command(&line).await?;
                    self.caught_up = !self.conn.has_pending_line();
                    flow
                }
            };
            match flow {
                Flow::Continue => {}
                Flow::Close => {
                    // Release the maildrop before the client can see the close.
                    self.mailutils_store().await;
                    self.txn = None;
                    self.conn.close().await;
                    return Ok(());
                }
                Flow::Stall => {
                    self.conn.flush().await?;
                    loop {
                        match self.conn.read_line().await {
                            // `stall_at` shows what came after it; `stall_on` ignores it.
                            Input::Line(l) if self.shared.config.faults.stall_at.is_some() => {
                                self.record(&l)
                            }
                            Input::Line(_) => {}
                            Input::TooLong => {}
                            Input::Closed | Input::Idle => break,
                        }
                    }
                    return Ok(());
                }
            }
            // Bytes of a next command are here before this reply went out:
            // the client did not wait for it (pipelining).
            if self.conn.has_input() {
                self.shared.sent_ahead();
            }
            // A slow server (`reply_delay`) sends each reply when it is
            // ready, as a real one does, rather than all pipelined replies
            // at the end.
            if !self.conn.has_pending_line() || self.shared.config.faults.reply_delay.is_some() {
                self.conn.flush().await?;
            }
        }
    }

    /// Records a received line, secrets redacted.
    fn record(&mut self, line: &[u8]) {
        let text = String::from_utf8_lossy(line);
        let (verb_raw, rest) = text.split_once(' ').unwrap_or((&text, ""));
        let verb = verb_raw.to_ascii_uppercase();
        let redacted = redact(&text, verb_raw, &verb, rest);
        if std::mem::take(&mut self.caught_up) {
            self.flight = self.shared.new_flight();
        }
        self.shared.record_in_flight(self.flight, redacted.clone());
        self.shared.record(redacted);
    }

    async fn command(&mut self, line: &[u8]) -> io::Result<Flow> {
        self.record(line);
        let text = String::from_utf8_lossy(line);
        let (verb_raw, rest) = text.split_once(' ').unwrap_or((&text, ""));
        let verb = verb_raw.to_ascii_uppercase();
        if let Some(flow) = self.chaos_command(&verb).await? {
            return Ok(flow);
        }
        let shared = self.shared.clone();
        let faults = &shared.config.faults;
        if Faults::hits(&faults.stall_on, &verb)
            || faults
                .stall_at
                .as_deref()
                .is_some_and(|l| l.eq_ignore_ascii_case(text.trim_end()))
        {
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
        if self.txn.is_some()
            && verb == "TOP"
            && let Some(flow) = self.endless_top(&text).await?
        {
            return Ok(flow);
        }
        if let Some((_, rate)) = faults
            .trickle_on
            .as_ref()
            .filter(|(on, _)| Faults::hits_line(Some(on), &text))
        {
            let rate = *rate;
            self.conn.flush().await?;
            self.conn.set_trickle(Some(rate));
            let flow = self.dispatch(&verb, rest).await;
            self.conn.set_trickle(None);
            return flow;
        }
        if Faults::hits(&faults.huge_line_on, &verb) {
            let mut huge = b"+OK ".to_vec();
            huge.resize(HUGE_LINE - 2, b'x');
            huge.extend_from_slice(b"\r\n");
            self.conn.write(&huge).await?;
            return Ok(Flow::Continue);
        }
        self.dispatch(&verb, rest).await
    }

    async fn dispatch(&mut self, verb: &str, rest: &str) -> io::Result<Flow> {
        if self.txn.is_some() {
            self.transaction(verb, rest).await
        } else {
            self.authorization(verb, rest).await
        }
    }

    /// `Faults::flood_on` and `Faults::huge_header_on`: a `TOP` reply that
    /// never ends. `None` when neither names this command.
    async fn endless_top(&mut self, line: &str) -> io::Result<Option<Flow>> {
        let faults = self.shared.config.faults.clone();
        if Faults::hits_line(faults.flood_on.as_deref(), line) {
            tracing::info!("flooding TOP with header lines on purpose");
            self.ok("top of message follows").await?;
            let lines = b"X-Flood: this header line repeats for ever\r\n".repeat(1000);
            // Ends when the client goes away (the write fails).
            loop {
                self.conn.write_now(&lines).await?;
            }
        }
        let Some((_, size)) = faults
            .huge_header_on
            .filter(|(on, _)| Faults::hits_line(Some(on), line))
        else {
            return Ok(None);
        };
        tracing::info!(size, "sending a huge header line on purpose");
        self.ok("top of message follows").await?;
        self.conn.write_now(b"X-Huge: ").await?;
        let piece = vec![b'h'; 64 * 1024];
        let mut left = size;
        while left > 0 {
            let n = usize::try_from(left)
                .unwrap_or(piece.len())
                .min(piece.len());
            if self.conn.write_now(&piece[..n]).await.is_err() {
                return Ok(Some(Flow::Close));
            }
            self.shared
                .huge_sent
                .fetch_add(n as u64, std::sync::atomic::Ordering::Relaxed);
            left -= n as u64;
        }
        // No end of line, no `.`: silence until the client goes away.
        Ok(Some(Flow::Stall))
    }

    /// `Faults::chaos`: what this connection's plan does to `verb`; `None`
    /// when the command is served as usual.
    async fn chaos_command(&mut self, verb: &str) -> io::Result<Option<Flow>> {
        let Some(plan) = self.chaos.as_mut() else {
            return Ok(None);
        };
        let delay = plan.delay;
        let act = plan.on_command(verb);
        if let Some(d) = delay {
            tokio::time::sleep(d).await;
        }
        match act {
            Act::Serve => Ok(None),
            Act::Reply(bytes) => {
                self.conn.write(&bytes).await?;
                Ok(Some(Flow::Continue))
            }
            Act::Flood => {
                self.conn.write(b"+OK here it comes\r\n").await?;
                // Ends when the client goes away (the write fails).
                let mut i = 0u64;
                loop {
                    self.conn.write(&flood_line(i)).await?;
                    i += 1;
                }
            }
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
    pub(super) async fn listing(&mut self, status: &str, lines: &[String]) -> io::Result<()> {
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
        if f.utf8_placeholder {
            caps.push("UTF8 USER".into());
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
