//! A POP3 connection over [`Stream`]: opening (TCP, TLS or STLS, greeting,
//! CAPA). Logging in is in `login.rs`; the command engine that every
//! command goes through is in `engine.rs`.

use std::time::Duration;

use tokio::time::Instant;

use super::engine::CommandReply;
use super::error::Error;
use super::log::SessionLog;
pub use super::login::{Credentials, LoginMethod};
use super::transport::{self, ConnectTimes, Endpoint, Security, Stream, TlsInfo};
use crate::pop3::pipeline::DEFAULT_WINDOW_BYTES;
use crate::pop3::{Capabilities, Command, Expect, Reader, Status};

/// What one read may take from the socket: several TLS records.
const READ_BUF: usize = 256 * 1024;

/// A stage of opening a session, for progress displays and `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Connect,
    Tls,
    Greeting,
    Capa,
    Stls,
    Login,
    CapaAfterLogin,
}

impl Stage {
    pub fn label(self) -> &'static str {
        match self {
            Stage::Connect => "connecting",
            Stage::Tls => "TLS handshake",
            Stage::Greeting => "greeting",
            Stage::Capa => "capabilities",
            Stage::Stls => "STLS",
            Stage::Login => "login",
            Stage::CapaAfterLogin => "capabilities after login",
        }
    }
}

/// Hears each stage as it starts, with the stages completed so far.
pub type StageFn<'a> = dyn FnMut(Stage, &[(Stage, Duration)]) + Send + 'a;

pub struct Connection {
    pub(super) io: Stream,
    pub(super) reader: Reader,
    pub(super) rbuf: Box<[u8]>,
    pub(super) endpoint: Endpoint,
    pub greeting: Status,
    /// CAPA before login (after STLS); None when the server has no CAPA.
    pub caps_before: Option<Capabilities>,
    /// CAPA after login, when logged in.
    pub caps: Option<Capabilities>,
    pub tls: Option<TlsInfo>,
    pub times: ConnectTimes,
    /// Completed stages and how long each took.
    pub stages: Vec<(Stage, Duration)>,
    pub log: SessionLog,
    pub timeout: Duration,
    pub window_bytes: u64,
    /// The login method that succeeded, e.g. "SASL PLAIN".
    pub method: Option<String>,
    pub(super) broken: Option<String>,
    /// Logged in by [`Connection::authenticate`]: the CAPA after login
    /// has not been asked yet; [`Connection::listing`] asks it.
    pub(super) capa_due: bool,
}

impl Connection {
    /// Connects, reads the greeting, asks CAPA, and (for STLS) upgrades and
    /// asks CAPA again. `on_stage` hears each stage as it starts.
    pub async fn open(
        endpoint: Endpoint,
        timeout: Duration,
        on_stage: &mut StageFn<'_>,
    ) -> Result<Connection, Error> {
        let mut conn = Connection::connect(endpoint, timeout, on_stage).await?;
        conn.greet(on_stage).await?;
        Ok(conn)
    }

    /// The first half of [`Connection::open`]: TCP, and TLS for `pop3s`.
    /// Nothing has been read yet; [`Connection::greet`] goes on.
    pub async fn connect(
        endpoint: Endpoint,
        timeout: Duration,
        on_stage: &mut StageFn<'_>,
    ) -> Result<Connection, Error> {
        let mut stages = Vec::new();
        let mut times = ConnectTimes::default();
        let mut log = SessionLog::new();
        on_stage(Stage::Connect, &stages);
        let t = Instant::now();
        let tcp = transport::connect_tcp(&endpoint, &mut times).await?;
        stages.push((Stage::Connect, t.elapsed()));
        log.note(format!(
            "{} UTC: connected to {}:{} ({})",
            crate::util::format_utc(log.started_at()),
            endpoint.host,
            endpoint.port,
            times.addr.map(|a| a.to_string()).unwrap_or_default()
        ));
        let (io, tls) = if endpoint.security == Security::Implicit {
            on_stage(Stage::Tls, &stages);
            let t = Instant::now();
            let (io, info) = transport::upgrade(tcp, &endpoint, &mut times).await?;
            stages.push((Stage::Tls, t.elapsed()));
            log.note(info.summary());
            (io, Some(info))
        } else {
            (Stream::Tcp(tcp), None)
        };
        let conn = Connection {
            io,
            reader: Reader::new(),
            rbuf: vec![0; READ_BUF].into_boxed_slice(),
            endpoint,
            greeting: Status {
                ok: false,
                code: None,
                text: String::new(),
            },
            caps_before: None,
            caps: None,
            tls,
            times,
            stages,
            log,
            timeout,
            window_bytes: DEFAULT_WINDOW_BYTES,
            method: None,
            broken: None,
            capa_due: false,
        };
        Ok(conn)
    }

    /// The second half of [`Connection::open`]: the greeting, CAPA, and
    /// for STLS the upgrade and CAPA again. On failure the connection keeps
    /// what it collected (greeting, CAPA, transcript) for a report.
    pub async fn greet(&mut self, on_stage: &mut StageFn<'_>) -> Result<(), Error> {
        on_stage(Stage::Greeting, &self.stages);
        let t = Instant::now();
        self.reader.expect(Expect::Single);
        let greeting = self.wait_status("the greeting").await?;
        self.stages.push((Stage::Greeting, t.elapsed()));
        if !greeting.ok {
            return Err(Error::Refused {
                command: "the connection (greeting)".into(),
                status: greeting,
            });
        }
        self.greeting = greeting;

        on_stage(Stage::Capa, &self.stages);
        let t = Instant::now();
        self.caps_before = self.capa().await?;
        self.stages.push((Stage::Capa, t.elapsed()));

        if self.endpoint.security == Security::StartTls {
            // No silent downgrade: if CAPA worked and lacks STLS, stop.
            if self.caps_before.as_ref().is_some_and(|c| !c.stls) {
                return Err(Error::NoStls);
            }
            on_stage(Stage::Stls, &self.stages);
            let t = Instant::now();
            self.starttls().await?;
            self.stages.push((Stage::Stls, t.elapsed()));
            on_stage(Stage::Capa, &self.stages);
            let t = Instant::now();
            self.caps_before = self.capa().await?;
            self.stages.push((Stage::Capa, t.elapsed()));
        }
        Ok(())
    }

    pub(super) fn io_mut(&mut self) -> &mut Stream {
        &mut self.io
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    pub fn is_encrypted(&self) -> bool {
        self.io.is_tls()
    }

    /// The capabilities in force now (after login if logged in).
    pub fn capabilities(&self) -> Option<&Capabilities> {
        self.caps.as_ref().or(self.caps_before.as_ref())
    }

    pub fn pipelining(&self) -> bool {
        self.capabilities().is_some_and(|c| c.pipelining)
    }

    /// Why the connection can no longer be used, if it cannot.
    pub fn broken(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    async fn starttls(&mut self) -> Result<(), Error> {
        let reply = match self.command(Command::Stls).await {
            Ok(r) => r,
            Err(Error::Refused { status, .. }) => return Err(Error::StlsRefused(status)),
            Err(e) => return Err(e),
        };
        drop(reply);
        // RFC 2595 §4: bytes after +OK and before the handshake
        // could only have been injected by someone in the middle.
        if self.reader.buffered() > 0 {
            self.broken = Some("STLS injection".into());
            return Err(Error::StlsInjection);
        }
        let Stream::Tcp(tcp) = std::mem::replace(&mut self.io, Stream::Gone) else {
            return Err(Error::Invalid(
                "STLS on a connection that is not plain TCP".into(),
            ));
        };
        let (io, info) = match transport::upgrade(tcp, &self.endpoint, &mut self.times).await {
            Ok(x) => x,
            Err(e) => {
                self.broken = Some("the TLS handshake after STLS failed".into());
                self.log
                    .note(format!("TLS handshake after STLS failed: {e}"));
                return Err(e);
            }
        };
        self.log.note(info.summary());
        self.io = io;
        self.tls = Some(info);
        self.reader = Reader::new();
        Ok(())
    }

    /// RFC 6856 section 2: `UTF8`, in the AUTHORIZATION state before the
    /// login, when the server advertises it. Some servers (Courier) replace
    /// every message with 8-bit content by a placeholder until it is sent.
    pub(super) async fn utf8(&mut self) -> Result<(), Error> {
        let reply = self.command(Command::Utf8).await;
        self.utf8_outcome(reply)
    }

    /// Notes how the server took `UTF8`; only a broken connection fails.
    pub(super) fn utf8_outcome(&mut self, reply: Result<CommandReply, Error>) -> Result<(), Error> {
        match reply {
            Ok(_) => self.log.note(
                "sent UTF8 (RFC 6856) because the server advertises it: messages with 8-bit content are delivered as they are",
            ),
            Err(Error::Refused { status, .. }) => self.log.note(format!(
                "the server refused UTF8 ({status}); it may replace messages with 8-bit content by a placeholder"
            )),
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// CAPA; `None` when the server answers -ERR (it has no CAPA).
    pub(super) async fn capa(&mut self) -> Result<Option<Capabilities>, Error> {
        let reply = self.command(Command::Capa).await;
        capabilities_from(reply)
    }
}

/// The capabilities in a CAPA reply; `None` when the server refused CAPA
/// (it has none).
pub(super) fn capabilities_from(
    reply: Result<CommandReply, Error>,
) -> Result<Option<Capabilities>, Error> {
    match reply {
        Ok(reply) => Ok(Some(Capabilities::parse(
            reply.body.as_deref().unwrap_or_default(),
        ))),
        Err(Error::Refused { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A command the engine ended without a reply for (it cannot, unless the
/// connection broke, which `exchange` reports itself).
pub(super) fn no_reply() -> Result<CommandReply, Error> {
    Err(Error::Invalid("a command got no reply".into()))
}
