//! A POP3 connection over [`Stream`]: opening (TCP, TLS or STLS, greeting,
//! CAPA), login, and the command engine that keeps a bounded window of
//! commands in flight when the server allows PIPELINING, reading and
//! writing at the same time, with one code path for both cases.
//!
//! Every reply is timed and logged (see [`SessionLog`]); every wait has a
//! timeout whose error names the command the server did not answer.
//! Bodies are collected only up to the command's limit; RETR bodies stream
//! into a writer and are never held whole.

use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use md5::{Digest, Md5};
use secrecy::{ExposeSecret, SecretString};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::error::Error;
use super::log::{Dir, SessionLog, Timing};
use super::transport::{self, ConnectTimes, Endpoint, Security, Stream, TlsInfo};
use crate::pop3::reply::apop_timestamp;
use crate::pop3::sasl::{Mechanism, SaslClient};
use crate::pop3::{Capabilities, Command, Event, Expect, ProtocolError, Reader, Status};

const READ_BUF: usize = 64 * 1024;
/// Most commands in flight at once, whatever their expected size.
const MAX_INFLIGHT: usize = 1024;
/// Expected reply bytes in flight (see DESIGN: bound by bytes, generously).
pub const DEFAULT_WINDOW_BYTES: u64 = 4 * 1024 * 1024;

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

/// Which login method to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LoginMethod {
    /// The strongest the server offers: SASL (PLAIN, then LOGIN), then
    /// USER/PASS; with a token, XOAUTH2 or OAUTHBEARER.
    #[default]
    Auto,
    Sasl(Mechanism),
    UserPass,
    Apop,
}

impl LoginMethod {
    pub fn parse(s: &str) -> Option<LoginMethod> {
        match s.to_ascii_lowercase().as_str() {
            "auto" => Some(LoginMethod::Auto),
            "user" | "userpass" | "user-pass" => Some(LoginMethod::UserPass),
            "apop" => Some(LoginMethod::Apop),
            other => Mechanism::from_name(other).map(LoginMethod::Sasl),
        }
    }
}

/// Who logs in, with what.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub secret: SecretString,
    /// The secret is an OAuth2 bearer token, not a password.
    pub token: bool,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials {{ user: {:?}, secret: *** }}", self.user)
    }
}

/// A complete reply: the status and, for multi-line replies, the body.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: Status,
    pub body: Option<Vec<u8>>,
}

struct Inflight {
    index: usize,
    name: String,
    expect: Expect,
    /// The stream offset just past this command's bytes.
    end: u64,
    bytes_out: u64,
    sent: Option<Duration>,
    first: Option<Duration>,
    status: Option<Status>,
    body: Vec<u8>,
    overflow: bool,
    streamed: u64,
    /// The reply size expected, counted against the window.
    size: u64,
}

/// What the engine reports as replies complete.
pub enum Outcome {
    /// The reply to the command at this index (in the order given).
    Reply(usize, Result<Reply, Error>),
    /// Body bytes streamed so far for this command.
    Progress(usize, u64),
}

pub struct Connection {
    io: Stream,
    reader: Reader,
    rbuf: Box<[u8]>,
    endpoint: Endpoint,
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
    broken: Option<String>,
    /// Bytes written to the socket so far.
    written: u64,
}

fn io_error(command: &str, e: std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::ConnectionAborted => Error::Closed {
            command: command.into(),
        },
        _ => Error::Io {
            command: command.into(),
            reason: e.to_string(),
        },
    }
}

enum Step {
    Wrote(usize),
    Flushed,
    Read(usize),
}

impl Connection {
    /// Connects, reads the greeting, asks CAPA, and (for STLS) upgrades and
    /// asks CAPA again. `on_stage` hears each stage as it starts.
    pub async fn open(
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
            log.note(format!(
                "{} {} ({})",
                info.version, info.cipher, info.verified
            ));
            (io, Some(info))
        } else {
            (Stream::Tcp(tcp), None)
        };
        let mut conn = Connection {
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
            written: 0,
        };
        on_stage(Stage::Greeting, &conn.stages);
        let t = Instant::now();
        conn.reader.expect(Expect::Single);
        let greeting = conn.wait_status("the greeting").await?;
        conn.stages.push((Stage::Greeting, t.elapsed()));
        if !greeting.ok {
            return Err(Error::Refused {
                command: "the connection (greeting)".into(),
                status: greeting,
            });
        }
        conn.greeting = greeting;

        on_stage(Stage::Capa, &conn.stages);
        let t = Instant::now();
        conn.caps_before = conn.capa().await?;
        conn.stages.push((Stage::Capa, t.elapsed()));

        if conn.endpoint.security == Security::StartTls {
            // No silent downgrade: if CAPA worked and lacks STLS, stop.
            if conn.caps_before.as_ref().is_some_and(|c| !c.stls) {
                return Err(Error::NoStls);
            }
            on_stage(Stage::Stls, &conn.stages);
            let t = Instant::now();
            conn.starttls().await?;
            conn.stages.push((Stage::Stls, t.elapsed()));
            on_stage(Stage::Capa, &conn.stages);
            let t = Instant::now();
            conn.caps_before = conn.capa().await?;
            conn.stages.push((Stage::Capa, t.elapsed()));
        }
        Ok(conn)
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
        // RFC 2595 §4 / DESIGN: bytes after +OK and before the handshake
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
        let (io, info) = transport::upgrade(tcp, &self.endpoint, &mut self.times).await?;
        self.log.note(format!(
            "{} {} ({})",
            info.version, info.cipher, info.verified
        ));
        self.io = io;
        self.tls = Some(info);
        self.reader = Reader::new();
        Ok(())
    }

    /// CAPA; `None` when the server answers -ERR (it has no CAPA).
    async fn capa(&mut self) -> Result<Option<Capabilities>, Error> {
        match self.command(Command::Capa).await {
            Ok(reply) => {
                let caps = Capabilities::parse(reply.body.as_deref().unwrap_or_default());
                Ok(Some(caps))
            }
            Err(Error::Refused { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Logs in and asks CAPA again (capabilities may change after login).
    pub async fn login(
        &mut self,
        creds: &Credentials,
        method: LoginMethod,
        on_stage: &mut StageFn<'_>,
    ) -> Result<(), Error> {
        if !self.is_encrypted() && self.endpoint.security != Security::Plaintext {
            return Err(Error::PlaintextRefused);
        }
        on_stage(Stage::Login, &self.stages);
        let t = Instant::now();
        let chosen = self.choose_method(creds, method)?;
        match chosen {
            LoginMethod::Sasl(m) => self.sasl(creds, m).await?,
            LoginMethod::UserPass => {
                self.login_step(Command::User(creds.user.clone()), None)
                    .await?;
                self.login_step(Command::Pass(creds.secret.clone()), None)
                    .await?;
            }
            LoginMethod::Apop => {
                let Some(stamp) = apop_timestamp(&self.greeting) else {
                    return Err(Error::NoMethod(
                        "APOP was asked for, but the server's greeting has no APOP timestamp."
                            .into(),
                    ));
                };
                let mut md5 = Md5::new();
                md5.update(stamp.as_bytes());
                md5.update(creds.secret.expose_secret().as_bytes());
                let digest = transport::hex(&md5.finalize());
                self.login_step(
                    Command::Apop {
                        user: creds.user.clone(),
                        digest,
                    },
                    None,
                )
                .await?;
            }
            LoginMethod::Auto => unreachable!("choose_method resolves Auto"),
        }
        self.method = Some(match chosen {
            LoginMethod::Sasl(m) => format!("SASL {}", m.name()),
            LoginMethod::UserPass => "USER/PASS".into(),
            LoginMethod::Apop => "APOP".into(),
            LoginMethod::Auto => unreachable!(),
        });
        self.stages.push((Stage::Login, t.elapsed()));
        on_stage(Stage::CapaAfterLogin, &self.stages);
        let t = Instant::now();
        self.caps = self.capa().await?;
        self.stages.push((Stage::CapaAfterLogin, t.elapsed()));
        Ok(())
    }

    fn choose_method(
        &self,
        creds: &Credentials,
        method: LoginMethod,
    ) -> Result<LoginMethod, Error> {
        if method != LoginMethod::Auto {
            return Ok(method);
        }
        let caps = self.caps_before.as_ref();
        let offers = |m: Mechanism| caps.is_some_and(|c| c.has_sasl(m.name()));
        if creds.token {
            return [Mechanism::XOAuth2, Mechanism::OAuthBearer]
                .into_iter()
                .find(|m| offers(*m))
                .map(LoginMethod::Sasl)
                .ok_or_else(|| {
                    Error::NoMethod(
                        "the server offers neither XOAUTH2 nor OAUTHBEARER, so the OAuth2 token cannot be used.".into(),
                    )
                });
        }
        if let Some(m) = [Mechanism::Plain, Mechanism::Login]
            .into_iter()
            .find(|m| offers(*m))
        {
            return Ok(LoginMethod::Sasl(m));
        }
        // USER is the RFC 1939 baseline: try it when CAPA says so, when
        // there is no CAPA, or when CAPA lists no way in at all.
        Ok(LoginMethod::UserPass)
    }

    async fn login_step(&mut self, cmd: Command, detail: Option<String>) -> Result<Status, Error> {
        match self.command(cmd).await {
            Ok(r) => Ok(r.status),
            Err(Error::Refused { status, .. }) => Err(Error::Login { status, detail }),
            Err(e) => Err(e),
        }
    }

    async fn sasl(&mut self, creds: &Credentials, m: Mechanism) -> Result<(), Error> {
        let mut sasl = SaslClient::new(
            m,
            &creds.user,
            creds.secret.clone(),
            &self.endpoint.host,
            self.endpoint.port,
        );
        let name = "AUTH".to_string();
        let mut cmd = sasl.start();
        loop {
            let bytes_out = self.send(&cmd).await?;
            let sent = self.log.now();
            let start = self.reader.consumed();
            let event = self.next_event(&name).await?;
            let bytes_in = self.reader.consumed() - start;
            let now = self.log.now();
            let mut timing = Timing {
                command: cmd.redacted(),
                sent,
                first_byte: Some(now),
                last_byte: Some(now),
                bytes_out,
                bytes_in,
                ok: None,
            };
            match event {
                Event::Continuation(payload) => {
                    self.log.push(
                        Dir::Received,
                        format!("+ {}", String::from_utf8_lossy(&payload)),
                    );
                    self.log.timing(timing);
                    cmd = sasl.respond(&payload).map_err(|e| Error::Malformed {
                        command: name.clone(),
                        detail: e.to_string(),
                    })?;
                }
                Event::Status(status) => {
                    self.log.push_timed(
                        Dir::Received,
                        status.to_string(),
                        Some(now.saturating_sub(sent)),
                    );
                    timing.ok = Some(status.ok);
                    self.log.timing(timing);
                    if status.ok {
                        return Ok(());
                    }
                    return Err(Error::Login {
                        status,
                        detail: sasl.server_error(),
                    });
                }
                _ => unreachable!("an AUTH reply has no body"),
            }
        }
    }

    /// Sends one command line (waits until written).
    async fn send(&mut self, cmd: &Command) -> Result<u64, Error> {
        let mut out = Vec::new();
        cmd.encode(&mut out)
            .map_err(|e| Error::Invalid(e.to_string()))?;
        if let Some(expect) = cmd.expect() {
            self.reader.expect(expect);
        }
        self.log.push(Dir::Sent, cmd.redacted());
        let verb = cmd.verb();
        let timeout = self.timeout;
        let r = tokio::time::timeout(timeout, async {
            self.io.write_all(&out).await?;
            self.io.flush().await
        })
        .await;
        match r {
            Ok(Ok(())) => {
                self.written += out.len() as u64;
                Ok(out.len() as u64)
            }
            Ok(Err(e)) => Err(self.fail(io_error(verb, e))),
            Err(_) => Err(self.fail(Error::Timeout {
                command: verb.into(),
                secs: timeout.as_secs(),
            })),
        }
    }

    fn fail(&mut self, e: Error) -> Error {
        if e.breaks_connection() && self.broken.is_none() {
            self.broken = Some(e.to_string());
            self.log.note(format!("connection unusable: {e}"));
        }
        e
    }

    fn protocol(&mut self, command: &str, e: ProtocolError) -> Error {
        self.fail(Error::Protocol {
            command: command.into(),
            source: e,
        })
    }

    /// The next reader event, reading as needed, within the timeout.
    async fn next_event(&mut self, command: &str) -> Result<Event, Error> {
        loop {
            match self.reader.next_event() {
                Ok(Some(e)) => return Ok(e),
                Ok(None) => {}
                Err(e) => return Err(self.protocol(command, e)),
            }
            let timeout = self.timeout;
            let r = tokio::time::timeout(
                timeout,
                poll_fn(|cx| {
                    let mut rb = ReadBuf::new(&mut self.rbuf);
                    match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
                        Poll::Ready(Ok(())) => Poll::Ready(Ok(rb.filled().len())),
                        Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                        Poll::Pending => Poll::Pending,
                    }
                }),
            )
            .await;
            match r {
                Ok(Ok(0)) => {
                    return Err(self.fail(Error::Closed {
                        command: command.into(),
                    }));
                }
                Ok(Ok(n)) => {
                    let (buf, reader) = (&self.rbuf, &mut self.reader);
                    reader.feed(&buf[..n]);
                }
                Ok(Err(e)) => return Err(self.fail(io_error(command, e))),
                Err(_) => {
                    return Err(self.fail(Error::Timeout {
                        command: command.into(),
                        secs: timeout.as_secs(),
                    }));
                }
            }
        }
    }

    /// Reads a status line (greeting).
    async fn wait_status(&mut self, what: &str) -> Result<Status, Error> {
        match self.next_event(what).await? {
            Event::Status(s) => {
                self.log.push(Dir::Received, s.to_string());
                Ok(s)
            }
            _ => Err(self.fail(Error::Malformed {
                command: what.into(),
                detail: "expected a status line".into(),
            })),
        }
    }

    /// One command; `-ERR` becomes [`Error::Refused`].
    pub async fn command(&mut self, cmd: Command) -> Result<Reply, Error> {
        let mut result = None;
        self.exchange(
            &mut std::iter::once((cmd, 0)),
            None::<&mut tokio::io::Sink>,
            None,
            &mut |o| {
                if let Outcome::Reply(_, r) = o {
                    result = Some(r);
                }
            },
        )
        .await?;
        result.unwrap_or_else(|| Err(Error::Invalid("no reply".into())))
    }

    /// The command engine. Sends `cmds` (each with the reply size it is
    /// expected to have, for the window), keeping several in flight when
    /// the server allows PIPELINING, and reports each reply in order.
    /// Bodies of commands without a limit (RETR) go to `sink` when given.
    /// Returns an error only when the connection broke; per-command
    /// refusals arrive as `Outcome::Reply(_, Err(..))`.
    pub async fn exchange<W: AsyncWrite + Unpin + Send>(
        &mut self,
        cmds: &mut (dyn Iterator<Item = (Command, u64)> + Send),
        mut sink: Option<&mut W>,
        cancel: Option<&CancellationToken>,
        each: &mut (dyn FnMut(Outcome) + Send),
    ) -> Result<(), Error> {
        if let Some(why) = &self.broken {
            return Err(Error::Io {
                command: "the next command".into(),
                reason: format!("the connection is no longer usable ({why})"),
            });
        }
        let window = if self.pipelining() {
            self.window_bytes
        } else {
            0
        };
        let mut cmds = cmds.enumerate().peekable();
        let mut inflight: VecDeque<Inflight> = VecDeque::new();
        let mut expected: u64 = 0;
        let mut out: Vec<u8> = Vec::new();
        let mut out_pos = 0usize;
        let mut need_flush = false;
        let mut deadline = Instant::now() + self.timeout;
        let mut reply_start = self.reader.consumed();
        loop {
            // Queue what the window allows.
            while let Some((_, (_, size))) = cmds.peek() {
                let fits = inflight.is_empty()
                    || (window > 0 && inflight.len() < MAX_INFLIGHT && expected + size <= window);
                if !fits {
                    break;
                }
                let Some((index, (cmd, size))) = cmds.next() else {
                    break;
                };
                let before = out.len();
                if let Err(e) = cmd.encode(&mut out) {
                    each(Outcome::Reply(index, Err(Error::Invalid(e.to_string()))));
                    continue;
                }
                let len = (out.len() - before) as u64;
                // The engine sends whole commands, never SASL answers.
                let expect = cmd.expect().unwrap_or(Expect::Single);
                self.reader.expect(expect);
                self.log.push(Dir::Sent, cmd.redacted());
                if inflight.is_empty() {
                    deadline = Instant::now() + self.timeout;
                }
                let end = self.written + (out.len() - out_pos) as u64;
                inflight.push_back(Inflight {
                    index,
                    name: cmd.redacted(),
                    expect,
                    end,
                    bytes_out: len,
                    sent: None,
                    first: None,
                    status: None,
                    body: Vec::new(),
                    overflow: false,
                    streamed: 0,
                    size,
                });
                expected += size;
            }
            let Some(front) = inflight.front() else {
                return Ok(());
            };
            let front_name = front.name.clone();

            // One step of I/O: write if there is something to write, read
            // while replies are due, whichever is ready first.
            let want_write = out_pos < out.len();
            let timeout_secs = self.timeout.as_secs();
            let io = poll_fn(|cx| {
                if want_write {
                    match Pin::new(&mut self.io).poll_write(cx, &out[out_pos..]) {
                        Poll::Ready(Ok(n)) => return Poll::Ready(Ok(Step::Wrote(n))),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {}
                    }
                } else if need_flush {
                    match Pin::new(&mut self.io).poll_flush(cx) {
                        Poll::Ready(Ok(())) => return Poll::Ready(Ok(Step::Flushed)),
                        Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
                        Poll::Pending => {}
                    }
                }
                let mut rb = ReadBuf::new(&mut self.rbuf);
                match Pin::new(&mut self.io).poll_read(cx, &mut rb) {
                    Poll::Ready(Ok(())) => Poll::Ready(Ok(Step::Read(rb.filled().len()))),
                    Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                    Poll::Pending => Poll::Pending,
                }
            });
            let cancelled = async {
                match cancel {
                    Some(c) => c.cancelled().await,
                    None => std::future::pending().await,
                }
            };
            let step = tokio::select! {
                r = tokio::time::timeout_at(deadline, io) => r,
                _ = cancelled => {
                    // POP3 cannot stop a reply midway: the connection is done.
                    self.broken = Some("cancelled mid-command".into());
                    self.log.note(format!("cancelled during {front_name}; the connection must be reopened"));
                    return Err(Error::Cancelled);
                }
            };
            let step = match step {
                Err(_) => {
                    return Err(self.fail(Error::Timeout {
                        command: front_name,
                        secs: timeout_secs,
                    }));
                }
                Ok(Err(e)) => return Err(self.fail(io_error(&front_name, e))),
                Ok(Ok(step)) => step,
            };
            let now = self.log.now();
            match step {
                Step::Wrote(n) => {
                    out_pos += n;
                    self.written += n as u64;
                    if out_pos == out.len() {
                        out.clear();
                        out_pos = 0;
                        need_flush = true;
                    }
                    for c in inflight.iter_mut() {
                        if c.sent.is_none() && c.end <= self.written {
                            c.sent = Some(now);
                        }
                    }
                    continue;
                }
                Step::Flushed => {
                    need_flush = false;
                    continue;
                }
                Step::Read(0) => {
                    return Err(self.fail(Error::Closed {
                        command: front_name,
                    }));
                }
                Step::Read(n) => {
                    self.reader.feed(&self.rbuf[..n]);
                    deadline = Instant::now() + self.timeout;
                }
            }

            // Hand the bytes read to the commands in flight, in order.
            while let Some(front) = inflight.front_mut() {
                let event = match self.reader.next_event() {
                    Ok(Some(e)) => e,
                    Ok(None) => break,
                    Err(e) => {
                        let name = front.name.clone();
                        return Err(self.protocol(&name, e));
                    }
                };
                front.first.get_or_insert(now);
                let done = match event {
                    Event::Status(status) => {
                        let multi = self.reader.in_body();
                        let latency = front.sent.map(|s| now.saturating_sub(s));
                        self.log
                            .push_timed(Dir::Received, status.to_string(), latency);
                        front.status = Some(status);
                        !multi
                    }
                    Event::Data(data) => {
                        if front.expect == (Expect::Multi { limit: None }) {
                            if let Some(w) = sink.as_mut() {
                                if let Err(e) = w.write_all(&data).await {
                                    self.broken = Some("the destination failed mid-body".into());
                                    return Err(Error::Write {
                                        what: "the message".into(),
                                        reason: e.to_string(),
                                    });
                                }
                                front.streamed += data.len() as u64;
                                each(Outcome::Progress(front.index, front.streamed));
                                false
                            } else {
                                front.body.extend_from_slice(&data);
                                false
                            }
                        } else {
                            front.body.extend_from_slice(&data);
                            false
                        }
                    }
                    Event::Overflow => {
                        front.overflow = true;
                        front.body = Vec::new();
                        false
                    }
                    Event::End => true,
                    Event::Continuation(_) => {
                        let name = front.name.clone();
                        return Err(self.fail(Error::Malformed {
                            command: name,
                            detail: "a SASL continuation outside AUTH".into(),
                        }));
                    }
                };
                if done {
                    let Some(c) = inflight.pop_front() else { break };
                    expected = expected.saturating_sub(c.size);
                    let status = c.status.clone().unwrap_or_else(|| Status {
                        ok: false,
                        code: None,
                        text: String::new(),
                    });
                    let body_len = c.body.len().max(c.streamed as usize);
                    if c.status.as_ref().is_some_and(|s| s.ok)
                        && matches!(c.expect, Expect::Multi { .. })
                    {
                        self.log.note(format!("[{} bytes of {}]", body_len, c.name));
                    }
                    let consumed_now = self.reader.consumed();
                    self.log.timing(Timing {
                        command: c.name.clone(),
                        sent: c.sent.unwrap_or(now),
                        first_byte: c.first,
                        last_byte: Some(now),
                        bytes_out: c.bytes_out,
                        bytes_in: consumed_now - reply_start,
                        ok: Some(status.ok),
                    });
                    let result = if c.overflow {
                        let limit = match c.expect {
                            Expect::Multi { limit: Some(l) } => l,
                            _ => 0,
                        };
                        Err(Error::TooLong {
                            command: c.name,
                            limit,
                        })
                    } else if status.ok {
                        Ok(Reply {
                            status,
                            body: matches!(c.expect, Expect::Multi { .. }).then_some(c.body),
                        })
                    } else {
                        Err(Error::Refused {
                            command: c.name,
                            status,
                        })
                    };
                    reply_start = consumed_now;
                    each(Outcome::Reply(c.index, result));
                }
            }
        }
    }
}
