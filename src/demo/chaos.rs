//! Seeded chaos for the demo server (`Faults::chaos`): each connection draws
//! its own misbehaviour from a small deterministic generator, so that a
//! soak test can throw thousands of different faulty sessions at a client
//! and a failing seed replays the same faults.
//!
//! Two layers: [`ChaosIo`] wraps the socket and acts on the bytes sent (the
//! connection dropped at a byte offset, replies cut into small writes, a
//! trickle); [`Plan::on_command`] acts on commands (`-ERR` on a command,
//! `[IN-USE]` at login, a garbage line, a short delay, a flood of lines).
//! Nothing here deletes anything: faults only end or disturb a session, and
//! the session's own rules (only an accepted `QUIT` deletes) stay as they are.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Sleep;

/// The chaos fault mode: a seed, and whether the faults that only end in
/// time when the client enforces reply deadlines and caps are drawn too.
#[derive(Debug, Clone)]
pub struct Chaos {
    pub seed: u64,
    /// Also draw the trickle (one byte at a time, slowly, for ever) and the
    /// endless flood of lines. A client without total deadlines and caps
    /// waits on these for ever, so they are off unless asked for.
    pub slow_faults: bool,
    /// Connections served so far: each draws its plan from the seed and
    /// its index, so a rerun with the same seed sees the same plans.
    connections: Arc<AtomicU64>,
    /// Faults that took effect so far (a drop, an answer replaced, a flood).
    injected: Arc<AtomicU64>,
}

impl Chaos {
    pub fn new(seed: u64, slow_faults: bool) -> Chaos {
        Chaos {
            seed,
            slow_faults,
            connections: Arc::new(AtomicU64::new(0)),
            injected: Arc::new(AtomicU64::new(0)),
        }
    }

    /// How many faults took effect on the connections of this server so
    /// far: dropped connections, answers replaced, floods, delays, chopped
    /// or trickled connections.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// The plan of the next connection.
    pub(crate) fn next_plan(&self) -> Plan {
        let index = self.connections.fetch_add(1, Ordering::Relaxed);
        let mut plan = Plan::draw(
            self.seed ^ index.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            self.slow_faults,
        );
        plan.injected = self.injected.clone();
        if plan.chop.is_some() || plan.trickle.is_some() {
            plan.count(1);
        }
        plan
    }
}

/// SplitMix64: small, fast, and the same everywhere.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub(crate) fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    /// True with probability `percent` / 100.
    pub(crate) fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// What one connection suffers. Drawn once, when it is accepted.
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    rng: Rng,
    /// Close the connection once this many bytes were sent.
    pub(crate) drop_at: Option<u64>,
    /// Send replies in writes of at most this many bytes.
    pub(crate) chop: Option<usize>,
    /// Send one byte, then wait this long, for ever (slow fault).
    pub(crate) trickle: Option<Duration>,
    /// Wait this long before each reply.
    pub(crate) delay: Option<Duration>,
    /// Percentage of commands answered `-ERR`.
    pub(crate) err_percent: u64,
    /// Percentage of commands answered with a garbage line.
    pub(crate) garbage_percent: u64,
    /// A login with any credentials is answered `-ERR [IN-USE]`.
    pub(crate) in_use: bool,
    /// `TOP`, `LIST`, `UIDL` or `CAPA` answered `+OK` and lines without end
    /// (slow fault).
    pub(crate) flood: bool,
    /// The server's count of faults that took effect.
    injected: Arc<AtomicU64>,
}

/// What the session does with a command, as the plan decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Act {
    /// Serve it as usual.
    Serve,
    /// Answer with these bytes instead.
    Reply(Vec<u8>),
    /// Answer `+OK` and then lines, never ending.
    Flood,
}

impl Plan {
    pub(crate) fn draw(seed: u64, slow_faults: bool) -> Plan {
        let mut rng = Rng::new(seed);
        let drop_at = rng.chance(25).then(|| {
            // Most drops in the first replies, some deep into a body.
            if rng.chance(60) {
                rng.below(600)
            } else {
                rng.below(200_000)
            }
        });
        let chop = rng.chance(20).then(|| 1 + rng.below(64) as usize);
        let delay = rng
            .chance(15)
            .then(|| Duration::from_millis(1 + rng.below(20)));
        let err_percent = if rng.chance(20) { 5 + rng.below(20) } else { 0 };
        let garbage_percent = if rng.chance(10) { 5 + rng.below(15) } else { 0 };
        let in_use = rng.chance(6);
        let (trickle, flood) = if slow_faults {
            (
                rng.chance(5)
                    .then(|| Duration::from_millis(100 + rng.below(900))),
                rng.chance(5),
            )
        } else {
            (None, false)
        };
        Plan {
            rng,
            drop_at,
            chop,
            trickle,
            delay,
            err_percent,
            garbage_percent,
            in_use,
            flood,
            injected: Arc::new(AtomicU64::new(0)),
        }
    }

    fn count(&self, n: u64) {
        self.injected.fetch_add(n, Ordering::Relaxed);
    }

    /// Decides what happens to `verb` (upper-case).
    pub(crate) fn on_command(&mut self, verb: &str) -> Act {
        let act = self.decide(verb);
        if act != Act::Serve {
            self.count(1);
        }
        if self.delay.is_some() {
            self.count(1);
        }
        act
    }

    fn decide(&mut self, verb: &str) -> Act {
        let login = matches!(verb, "PASS" | "APOP" | "AUTH");
        if login && self.in_use {
            return Act::Reply(
                b"-ERR [IN-USE] chaos: the maildrop is locked by another session\r\n".to_vec(),
            );
        }
        if self.flood && matches!(verb, "TOP" | "LIST" | "UIDL" | "CAPA") {
            return Act::Flood;
        }
        if self.rng.chance(self.garbage_percent) {
            let garbage: &[&[u8]] = &[
                b"HELLO garbage\r\n",
                b"\x1b[31m+OKAY\x00\xff\xfe\r\n",
                b"\r\n",
                b"* 1 FETCH (BODY[] {5}\r\n",
            ];
            let pick = self.rng.below(garbage.len() as u64) as usize;
            return Act::Reply(garbage[pick].to_vec());
        }
        if self.rng.chance(self.err_percent) {
            return Act::Reply(format!("-ERR chaos: {verb} refused\r\n").into_bytes());
        }
        Act::Serve
    }
}

/// One line of an endless flood, numbered.
pub(crate) fn flood_line(i: u64) -> Vec<u8> {
    format!("X-Flood-{i}: {}\r\n", "f".repeat(60)).into_bytes()
}

/// The socket with the byte-level faults of a [`Plan`] applied to what is
/// sent. Reading is untouched.
pub(crate) struct ChaosIo<T> {
    inner: T,
    sent: u64,
    drop_at: Option<u64>,
    chop: Option<usize>,
    trickle: Option<Duration>,
    sleep: Option<Pin<Box<Sleep>>>,
    injected: Arc<AtomicU64>,
}

impl<T> ChaosIo<T> {
    pub(crate) fn new(inner: T, plan: &Plan) -> Self {
        ChaosIo {
            inner,
            sent: 0,
            drop_at: plan.drop_at,
            chop: plan.chop,
            trickle: plan.trickle,
            sleep: None,
            injected: plan.injected.clone(),
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for ChaosIo<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for ChaosIo<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        let mut n = buf.len();
        if let Some(at) = this.drop_at {
            if this.sent >= at {
                if this.sent == at {
                    // Counted once: later writes fail the same way.
                    this.sent += 1;
                    this.injected.fetch_add(1, Ordering::Relaxed);
                }
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::ConnectionReset,
                    "chaos: connection dropped",
                )));
            }
            n = n.min((at - this.sent) as usize);
        }
        if let Some(pause) = this.trickle {
            if let Some(sleep) = this.sleep.as_mut() {
                ready!(sleep.as_mut().poll(cx));
            }
            this.sleep = Some(Box::pin(tokio::time::sleep(pause)));
            n = n.min(1);
        }
        if let Some(c) = this.chop {
            n = n.min(c);
        }
        let written = ready!(Pin::new(&mut this.inner).poll_write(cx, &buf[..n]))?;
        this.sent += written as u64;
        Poll::Ready(Ok(written))
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn the_same_seed_draws_the_same_plans_and_others_differ() {
        let a = Chaos::new(42, true);
        let b = Chaos::new(42, true);
        let plans_a: Vec<String> = (0..50).map(|_| format!("{:?}", a.next_plan())).collect();
        let plans_b: Vec<String> = (0..50).map(|_| format!("{:?}", b.next_plan())).collect();
        assert_eq!(plans_a, plans_b);
        let c = Chaos::new(43, true);
        let plans_c: Vec<String> = (0..50).map(|_| format!("{:?}", c.next_plan())).collect();
        assert_ne!(plans_a, plans_c);
    }

    #[test]
    fn every_fault_is_drawn_and_slow_ones_only_when_asked() {
        let plans: Vec<Plan> = (0..2000).map(|s| Plan::draw(s, false)).collect();
        assert!(plans.iter().any(|p| p.drop_at.is_some()));
        assert!(plans.iter().any(|p| p.chop.is_some()));
        assert!(plans.iter().any(|p| p.delay.is_some()));
        assert!(plans.iter().any(|p| p.err_percent > 0));
        assert!(plans.iter().any(|p| p.garbage_percent > 0));
        assert!(plans.iter().any(|p| p.in_use));
        assert!(plans.iter().all(|p| p.trickle.is_none() && !p.flood));
        assert!(
            plans
                .iter()
                .any(|p| p.drop_at.is_none() && p.err_percent == 0 && !p.in_use)
        );
        let slow: Vec<Plan> = (0..2000).map(|s| Plan::draw(s, true)).collect();
        assert!(slow.iter().any(|p| p.trickle.is_some()));
        assert!(slow.iter().any(|p| p.flood));
    }

    #[test]
    fn in_use_refuses_every_login_and_nothing_else() {
        let mut p = Plan::draw(1, false);
        p.in_use = true;
        p.err_percent = 0;
        p.garbage_percent = 0;
        for verb in ["PASS", "APOP", "AUTH"] {
            match p.on_command(verb) {
                Act::Reply(r) => assert!(r.starts_with(b"-ERR [IN-USE]")),
                other => panic!("{verb}: {other:?}"),
            }
        }
        assert_eq!(p.on_command("USER"), Act::Serve);
        assert_eq!(p.on_command("CAPA"), Act::Serve);
    }

    #[tokio::test]
    async fn a_drop_cuts_the_bytes_at_the_offset_and_chop_splits_writes() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut plan = Plan::draw(7, false);
        plan.drop_at = Some(10);
        plan.chop = Some(3);
        plan.trickle = None;
        let mut io = ChaosIo::new(server, &plan);
        assert_eq!(io.write(b"+OK hello there\r\n").await.unwrap(), 3);
        let err = io.write_all(b"+OK hello there\r\n").await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::ConnectionReset);
        drop(io);
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"+OK+OK hel");
    }
}
