//! A POP3 connection over [`Stream`]: opening (TCP, TLS or STLS, greeting,
//! CAPA) and login. The command engine that every command goes through is
//! in `engine.rs`.

use std::time::Duration;

use md5::{Digest, Md5};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::error::Error;
use super::log::{Dir, SessionLog, Timing};
use super::transport::{self, ConnectTimes, Endpoint, Security, Stream, TlsInfo};
use crate::pop3::pipeline::DEFAULT_WINDOW_BYTES;
use crate::pop3::reply::apop_timestamp;
use crate::pop3::sasl::{Mechanism, SaslClient};
use crate::pop3::{Capabilities, Command, Expect, ReadEvent, Reader, Status};

const READ_BUF: usize = 64 * 1024;

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

    /// How the config file writes the method (one of the names [`parse`]
    /// takes).
    ///
    /// [`parse`]: LoginMethod::parse
    pub fn config_name(self) -> &'static str {
        match self {
            LoginMethod::Auto => "auto",
            LoginMethod::UserPass => "user",
            LoginMethod::Apop => "apop",
            LoginMethod::Sasl(Mechanism::Plain) => "plain",
            LoginMethod::Sasl(Mechanism::Login) => "login",
            LoginMethod::Sasl(Mechanism::XOAuth2) => "xoauth2",
            LoginMethod::Sasl(Mechanism::OAuthBearer) => "oauthbearer",
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
            log.note(format!(
                "{} {} ({})",
                info.version, info.cipher, info.verified
            ));
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
        self.log.note(format!(
            "{} {} ({})",
            info.version, info.cipher, info.verified
        ));
        self.io = io;
        self.tls = Some(info);
        self.reader = Reader::new();
        Ok(())
    }

    /// RFC 6856 section 2: `UTF8`, in the AUTHORIZATION state before the
    /// login, when the server advertises it. Some servers (Courier) replace
    /// every message with 8-bit content by a placeholder until it is sent.
    async fn utf8(&mut self) -> Result<(), Error> {
        match self.command(Command::Utf8).await {
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
        if self.caps_before.as_ref().is_some_and(|c| c.utf8) {
            self.utf8().await?;
        }
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
                ReadEvent::Continuation(payload) => {
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
                ReadEvent::Status(status) => {
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
}
