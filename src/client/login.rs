//! Logging in on an open [`Connection`]: the method (SASL, USER/PASS,
//! APOP), the credentials, and the round trips: when the server advertised
//! PIPELINING before login (RFC 2449 section 6.6), `UTF8`, USER and PASS go
//! in one flight; [`Connection::authenticate`] leaves the CAPA after login
//! to the listing's flight. Never logs a secret: the transcript shows
//! `PASS ***`.

use md5::{Digest, Md5};
use secrecy::{ExposeSecret, SecretString};
use tokio::time::Instant;

use super::conn::{Connection, Stage, StageFn, no_reply};
use super::engine::{CommandOutcome, CommandReply};
use super::error::Error;
use super::log::{Dir, Timing};
use super::transport::{self, Security};
use crate::pop3::ReadEvent;
use crate::pop3::reply::apop_timestamp;
use crate::pop3::sasl::{Mechanism, SaslClient};
use crate::pop3::{Command, Status};

/// What a one-line reply (USER, PASS, UTF8) weighs, for the window.
const STATUS_ESTIMATE: u64 = 512;

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

impl Connection {
    /// Logs in and asks CAPA again (capabilities may change after login).
    pub async fn login(
        &mut self,
        creds: &Credentials,
        method: LoginMethod,
        on_stage: &mut StageFn<'_>,
    ) -> Result<(), Error> {
        self.authenticate(creds, method, on_stage).await?;
        on_stage(Stage::CapaAfterLogin, &self.stages);
        self.capa_after_login().await
    }

    /// The CAPA after login, in a round trip of its own.
    pub(super) async fn capa_after_login(&mut self) -> Result<(), Error> {
        self.capa_due = false;
        let t = Instant::now();
        self.caps = self.capa().await?;
        self.stages.push((Stage::CapaAfterLogin, t.elapsed()));
        Ok(())
    }

    /// Logs in and leaves the CAPA after login to the next
    /// [`Connection::listing`], which sends it in one flight with LIST and
    /// UIDL when the server allows PIPELINING (one round trip fewer than
    /// [`Connection::login`]). Until then [`Connection::capabilities`] are
    /// the ones from before login.
    pub async fn authenticate(
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
        let utf8 = self.caps_before.as_ref().is_some_and(|c| c.utf8);
        let chosen = self.choose_method(creds, method)?;
        if utf8 && chosen != LoginMethod::UserPass {
            self.utf8().await?;
        }
        match chosen {
            LoginMethod::Sasl(m) => self.sasl(creds, m).await?,
            LoginMethod::UserPass => self.user_pass(creds, utf8).await?,
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
        self.capa_due = true;
        Ok(())
    }

    /// USER and PASS (and `UTF8` before them when `utf8`): one flight when
    /// the server advertised PIPELINING before login (RFC 2449 section
    /// 6.6), one command at a time otherwise. The first refusal is the one
    /// reported (a refused USER, not the PASS that followed it).
    async fn user_pass(&mut self, creds: &Credentials, utf8: bool) -> Result<(), Error> {
        let mut cmds = Vec::new();
        if utf8 {
            cmds.push(Command::Utf8);
        }
        cmds.push(Command::User(creds.user.clone()));
        cmds.push(Command::Pass(creds.secret.clone()));
        if !self.pipelining() {
            if utf8 {
                self.utf8().await?;
            }
            for cmd in cmds.into_iter().skip(usize::from(utf8)) {
                self.login_step(cmd, None).await?;
            }
            return Ok(());
        }
        let mut replies: Vec<Option<Result<CommandReply, Error>>> =
            cmds.iter().map(|_| None).collect();
        self.exchange(
            &mut cmds.into_iter().map(|c| (c, STATUS_ESTIMATE)),
            None::<&mut tokio::io::Sink>,
            None,
            &mut |o| {
                if let CommandOutcome::Reply(i, r) = o {
                    replies[i] = Some(r);
                }
            },
        )
        .await?;
        let mut replies = replies.into_iter().map(|r| r.unwrap_or_else(no_reply));
        if utf8 && let Some(r) = replies.next() {
            self.utf8_outcome(r)?;
        }
        for r in replies {
            match r {
                Ok(_) => {}
                Err(Error::Refused { status, .. }) => {
                    return Err(Error::Login {
                        status,
                        detail: None,
                    });
                }
                Err(e) => return Err(e),
            }
        }
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
