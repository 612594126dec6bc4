//! A small SMTP client for the check (RFC 5321, RFC 3207 STARTTLS, RFC 4954
//! AUTH): greeting, EHLO, STARTTLS, AUTH, MAIL FROM, RCPT TO, DATA with a
//! dot-stuffed body, QUIT. Each step is timed from the bytes leaving to the
//! last byte of the reply and logged to a [`SessionLog`] (credentials as
//! `***`); each wait has a timeout whose error names the command.
//!
//! It uses popdoc's transport (TCP, TLS, certificate checks) and refuses to
//! send credentials over a connection that is not encrypted unless the
//! user asked for plaintext by name. It never sends mail except the one
//! test message it is given.

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::reply::{ReplyError, ReplyReader, SmtpReply};
use crate::client::log::{Dir, SessionLog, Timing};
use crate::client::transport::{self, ConnectTimes, Endpoint, Security, Stream, TlsInfo};
use crate::pop3::sasl::{Mechanism, SaslClient};
use crate::report::Step;

#[derive(Debug, thiserror::Error)]
pub enum SmtpError {
    /// DNS, TCP or TLS (the transport's own sentence).
    #[error(transparent)]
    Transport(#[from] crate::client::Error),
    #[error(
        "the server did not answer {command} within {secs} s. It may be overloaded or the connection stalled; try again, or raise --timeout."
    )]
    Timeout { command: String, secs: u64 },
    #[error("the server closed the connection during {command}.")]
    Closed { command: String },
    #[error("network error during {command}: {reason}.")]
    Io { command: String, reason: String },
    #[error("the server broke the SMTP protocol during {command}: {source}.")]
    Protocol { command: String, source: ReplyError },
    #[error("the server refused {command}: {}{}", reply.one_line(), reply.explain().map(|e| format!(" — {e}")).unwrap_or_default())]
    Refused { command: String, reply: SmtpReply },
    #[error(
        "the server does not offer STARTTLS, so this connection cannot be encrypted. Use smtps:// (port 465), or --plaintext if you accept sending your password unencrypted."
    )]
    NoStarttls,
    #[error(
        "the server sent data right after agreeing to STARTTLS; it could have been injected by an attacker, so popdoc closed the connection."
    )]
    StarttlsInjection,
    #[error(
        "popdoc will not send your credentials over an unencrypted connection. Use smtps:// or smtp:// with STARTTLS, or ask for it by name with --plaintext."
    )]
    PlaintextRefused,
    #[error("{0}")]
    NoMethod(String),
    #[error("{0}")]
    Invalid(String),
}

impl SmtpError {
    pub fn reply(&self) -> Option<&SmtpReply> {
        match self {
            SmtpError::Refused { reply, .. } => Some(reply),
            _ => None,
        }
    }
}

pub struct SmtpConn {
    io: Stream,
    reader: ReplyReader,
    endpoint: Endpoint,
    timeout: Duration,
    local: Option<SocketAddr>,
    pub times: ConnectTimes,
    pub tls: Option<TlsInfo>,
    pub log: SessionLog,
    /// Each completed step and how long it took.
    pub steps: Vec<(Step, Duration)>,
    pub greeting: Option<SmtpReply>,
    /// EHLO keywords before STARTTLS, when there was a STARTTLS.
    pub ehlo_before_tls: Option<Vec<String>>,
    /// EHLO keywords in force.
    pub ehlo: Vec<String>,
    /// The AUTH mechanism that worked.
    pub method: Option<String>,
}

impl SmtpConn {
    /// Connects (and TLS for smtps), reads the greeting, says EHLO, and for
    /// smtp:// upgrades with STARTTLS and says EHLO again. `on_step` hears
    /// each step as it starts.
    pub async fn open(
        endpoint: Endpoint,
        timeout: Duration,
        on_step: &mut (dyn FnMut(Step) + Send),
    ) -> Result<SmtpConn, SmtpError> {
        let mut times = ConnectTimes::default();
        let mut log = SessionLog::new();
        on_step(Step::Tcp);
        let tcp = transport::connect_tcp(&endpoint, &mut times).await?;
        let local = tcp.local_addr().ok();
        log.note(format!(
            "connected to {}:{} ({})",
            endpoint.host,
            endpoint.port,
            times.addr.map(|a| a.to_string()).unwrap_or_default()
        ));
        let mut steps = vec![(Step::Dns, times.dns), (Step::Tcp, times.tcp)];
        let (io, tls) = if endpoint.security == Security::Implicit {
            on_step(Step::Tls);
            let (io, info) = transport::upgrade(tcp, &endpoint, &mut times).await?;
            log.note(format!(
                "{} {} ({})",
                info.version, info.cipher, info.verified
            ));
            steps.extend(times.tls.map(|t| (Step::Tls, t)));
            (io, Some(info))
        } else {
            (Stream::Tcp(tcp), None)
        };
        let mut c = SmtpConn {
            io,
            reader: ReplyReader::new(),
            endpoint,
            timeout,
            local,
            times,
            tls,
            log,
            steps,
            greeting: None,
            ehlo_before_tls: None,
            ehlo: Vec::new(),
            method: None,
        };
        on_step(Step::Greeting);
        let started = c.log.now();
        let greeting = c.read_reply("the greeting").await?;
        c.steps
            .push((Step::Greeting, c.log.now().saturating_sub(started)));
        c.greeting = Some(greeting.clone());
        if greeting.code != 220 {
            return Err(SmtpError::Refused {
                command: "the connection (greeting)".into(),
                reply: greeting,
            });
        }
        on_step(Step::Ehlo);
        c.ehlo = c.ehlo(Step::Ehlo).await?;
        if c.endpoint.security == Security::StartTls {
            if !c.offers("STARTTLS") {
                return Err(SmtpError::NoStarttls);
            }
            on_step(Step::Starttls);
            c.starttls().await?;
            on_step(Step::EhloAfterTls);
            c.ehlo_before_tls = Some(std::mem::take(&mut c.ehlo));
            c.ehlo = c.ehlo(Step::EhloAfterTls).await?;
        }
        Ok(c)
    }

    pub fn is_encrypted(&self) -> bool {
        self.io.is_tls()
    }

    /// The EHLO keyword `name` is offered (case-insensitive).
    pub fn offers(&self, name: &str) -> bool {
        self.keyword(name).is_some()
    }

    /// The arguments of EHLO keyword `name`, when offered.
    pub fn keyword(&self, name: &str) -> Option<String> {
        self.ehlo.iter().find_map(|k| {
            let mut w = k.splitn(2, [' ', '=']);
            let key = w.next()?;
            key.eq_ignore_ascii_case(name)
                .then(|| w.next().unwrap_or("").trim().to_string())
        })
    }

    /// SASL mechanisms offered, upper-cased.
    pub fn mechanisms(&self) -> Vec<String> {
        self.keyword("AUTH")
            .map(|m| m.split_whitespace().map(str::to_ascii_uppercase).collect())
            .unwrap_or_default()
    }

    fn hello_name(&self) -> String {
        match self.local.map(|a| a.ip()) {
            Some(std::net::IpAddr::V4(ip)) => format!("[{ip}]"),
            Some(std::net::IpAddr::V6(ip)) => format!("[IPv6:{ip}]"),
            None => "[127.0.0.1]".into(),
        }
    }

    async fn ehlo(&mut self, step: Step) -> Result<Vec<String>, SmtpError> {
        let line = format!("EHLO {}", self.hello_name());
        let reply = self.step(step, "EHLO", line.as_bytes(), &line).await?;
        if !reply.positive() {
            return Err(SmtpError::Refused {
                command: "EHLO".into(),
                reply,
            });
        }
        Ok(reply.ehlo_keywords())
    }

    async fn starttls(&mut self) -> Result<(), SmtpError> {
        let reply = self
            .step(Step::Starttls, "STARTTLS", b"STARTTLS", "STARTTLS")
            .await?;
        if reply.code != 220 {
            return Err(SmtpError::Refused {
                command: "STARTTLS".into(),
                reply,
            });
        }
        // RFC 3207 §5: anything after the 220 and before the handshake
        // was not sent by the server we will be talking to.
        if self.reader.buffered() > 0 {
            return Err(SmtpError::StarttlsInjection);
        }
        let Stream::Tcp(tcp) = std::mem::replace(&mut self.io, Stream::Gone) else {
            return Err(SmtpError::Invalid(
                "STARTTLS on a connection that is not plain TCP".into(),
            ));
        };
        let (io, info) = transport::upgrade(tcp, &self.endpoint, &mut self.times).await?;
        self.log.note(format!(
            "{} {} ({})",
            info.version, info.cipher, info.verified
        ));
        if let Some(t) = self.times.tls {
            self.steps.push((Step::Tls, t));
        }
        self.io = io;
        self.tls = Some(info);
        self.reader = ReplyReader::new();
        Ok(())
    }

    /// AUTH with `mechanism` (RFC 4954), answering 334 challenges.
    pub async fn auth(
        &mut self,
        mechanism: Mechanism,
        user: &str,
        secret: SecretString,
    ) -> Result<(), SmtpError> {
        if !self.is_encrypted() && self.endpoint.security != Security::Plaintext {
            return Err(SmtpError::PlaintextRefused);
        }
        let mut sasl = SaslClient::new(
            mechanism,
            user,
            secret,
            &self.endpoint.host,
            self.endpoint.port,
        );
        let started = self.log.now();
        let mut cmd = sasl.start();
        loop {
            let mut bytes = Vec::new();
            cmd.encode(&mut bytes)
                .map_err(|e| SmtpError::Invalid(e.to_string()))?;
            bytes.truncate(bytes.len() - 2);
            let reply = self.exchange("AUTH", &bytes, &cmd.redacted()).await?;
            match reply.code {
                334 => {
                    let challenge = reply.lines.first().cloned().unwrap_or_default();
                    cmd = sasl
                        .respond(challenge.as_bytes())
                        .map_err(|e| SmtpError::Protocol {
                            command: "AUTH".into(),
                            source: ReplyError::Malformed(e.to_string()),
                        })?;
                }
                235 => {
                    self.steps
                        .push((Step::Auth, self.log.now().saturating_sub(started)));
                    self.method = Some(format!("AUTH {}", mechanism.name()));
                    return Ok(());
                }
                _ => {
                    let mut reply = reply;
                    if let Some(detail) = sasl.server_error() {
                        reply.lines.push(detail);
                    }
                    return Err(SmtpError::Refused {
                        command: format!("AUTH {}", mechanism.name()),
                        reply,
                    });
                }
            }
        }
    }

    /// A command whose reply must be positive (2xx), or 354 for DATA.
    pub async fn expect(
        &mut self,
        step: Step,
        name: &str,
        line: &str,
        want: fn(&SmtpReply) -> bool,
    ) -> Result<SmtpReply, SmtpError> {
        check_line(line)?;
        let reply = self.step(step, name, line.as_bytes(), line).await?;
        if want(&reply) {
            Ok(reply)
        } else {
            Err(SmtpError::Refused {
                command: name.into(),
                reply,
            })
        }
    }

    /// Sends the message body (already dot-stuffed and terminated) and
    /// reads the server's verdict.
    pub async fn message(&mut self, stuffed: &[u8]) -> Result<SmtpReply, SmtpError> {
        self.log
            .note(format!("[{} bytes of message]", stuffed.len()));
        self.log.push(Dir::Sent, ".");
        let sent = self.log.now();
        self.write("the message (after DATA)", stuffed).await?;
        let (reply, first) = self.read_timed("the message (after DATA)").await?;
        self.record("message", sent, first, stuffed.len() as u64, &reply);
        self.steps
            .push((Step::Message, self.log.now().saturating_sub(sent)));
        if reply.positive() {
            Ok(reply)
        } else {
            Err(SmtpError::Refused {
                command: "the message (after DATA)".into(),
                reply,
            })
        }
    }

    /// QUIT and close.
    pub async fn quit(&mut self) -> Result<SmtpReply, SmtpError> {
        let r = self.step(Step::Quit, "QUIT", b"QUIT", "QUIT").await;
        self.shutdown().await;
        r
    }

    pub async fn shutdown(&mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), self.io.shutdown()).await;
    }

    /// One timed command: sent, reply read, logged, step recorded.
    async fn step(
        &mut self,
        step: Step,
        name: &str,
        line: &[u8],
        shown: &str,
    ) -> Result<SmtpReply, SmtpError> {
        let sent = self.log.now();
        let reply = self.exchange(name, line, shown).await?;
        self.steps.push((step, self.log.now().saturating_sub(sent)));
        Ok(reply)
    }

    /// Writes `line` + CRLF and reads one reply; logs both and the timing.
    async fn exchange(
        &mut self,
        name: &str,
        line: &[u8],
        shown: &str,
    ) -> Result<SmtpReply, SmtpError> {
        self.log.push(Dir::Sent, shown);
        let mut out = Vec::with_capacity(line.len() + 2);
        out.extend_from_slice(line);
        out.extend_from_slice(b"\r\n");
        self.write(name, &out).await?;
        let sent = self.log.now();
        let (reply, first) = self.read_timed(name).await?;
        self.record(shown, sent, first, out.len() as u64, &reply);
        Ok(reply)
    }

    fn record(
        &mut self,
        command: &str,
        sent: Duration,
        first: Duration,
        out: u64,
        reply: &SmtpReply,
    ) {
        let bytes_in = reply.lines.iter().map(|l| l.len() as u64 + 6).sum();
        let now = self.log.now();
        self.log.timing(Timing {
            command: command.to_string(),
            sent,
            first_byte: Some(first),
            last_byte: Some(now),
            bytes_out: out,
            bytes_in,
            ok: Some(reply.code < 400),
        });
    }

    async fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), SmtpError> {
        let timeout = self.timeout;
        let r = tokio::time::timeout(timeout, async {
            self.io.write_all(bytes).await?;
            self.io.flush().await
        })
        .await;
        match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(io_error(name, e)),
            Err(_) => Err(SmtpError::Timeout {
                command: name.into(),
                secs: timeout.as_secs(),
            }),
        }
    }

    async fn read_reply(&mut self, name: &str) -> Result<SmtpReply, SmtpError> {
        Ok(self.read_timed(name).await?.0)
    }

    /// The next reply and when its first byte arrived.
    async fn read_timed(&mut self, name: &str) -> Result<(SmtpReply, Duration), SmtpError> {
        let mut first = (self.reader.buffered() > 0).then(|| self.log.now());
        let mut buf = [0u8; 8192];
        loop {
            match self.reader.next_reply() {
                Ok(Some(reply)) => {
                    for l in reply.wire_lines() {
                        self.log.push(Dir::Received, l);
                    }
                    return Ok((reply, first.unwrap_or_else(|| self.log.now())));
                }
                Ok(None) => {}
                Err(source) => {
                    return Err(SmtpError::Protocol {
                        command: name.into(),
                        source,
                    });
                }
            }
            let timeout = self.timeout;
            match tokio::time::timeout(timeout, self.io.read(&mut buf)).await {
                Ok(Ok(0)) => {
                    return Err(SmtpError::Closed {
                        command: name.into(),
                    });
                }
                Ok(Ok(n)) => {
                    first.get_or_insert_with(|| self.log.now());
                    self.reader.feed(&buf[..n]);
                }
                Ok(Err(e)) => return Err(io_error(name, e)),
                Err(_) => {
                    return Err(SmtpError::Timeout {
                        command: name.into(),
                        secs: timeout.as_secs(),
                    });
                }
            }
        }
    }
}

fn io_error(command: &str, e: std::io::Error) -> SmtpError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof
        | std::io::ErrorKind::ConnectionReset
        | std::io::ErrorKind::BrokenPipe
        | std::io::ErrorKind::ConnectionAborted => SmtpError::Closed {
            command: command.into(),
        },
        _ => SmtpError::Io {
            command: command.into(),
            reason: e.to_string(),
        },
    }
}

/// A command line must not carry a line break or NUL (it would become
/// a second command).
fn check_line(line: &str) -> Result<(), SmtpError> {
    if line.bytes().any(|b| matches!(b, b'\r' | b'\n' | 0)) {
        return Err(SmtpError::Invalid(
            "an address contains a line break or NUL and cannot be sent".into(),
        ));
    }
    Ok(())
}
