//! The AUTHORIZATION state of the demo server: `USER`/`PASS` and `APOP`
//! (RFC 1939 section 7), `AUTH` with SASL PLAIN, LOGIN, XOAUTH2 and
//! OAUTHBEARER (RFC 5034, RFC 4616, RFC 7628), and `STLS` (RFC 2595).
//!
//! Credentials are compared here and never logged or recorded.

use std::io;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use md5::{Digest, Md5};

use super::conn::Input;
use super::session::{Flow, ServerSession};
use super::transaction::Txn;

/// SASL responses after `+ ` may be far longer than a command line
/// (OAuth tokens of a few kilobytes).
const MAX_SASL_RESPONSE: usize = 16 * 1024;

const SUPPORTED: [&str; 4] = ["PLAIN", "LOGIN", "XOAUTH2", "OAUTHBEARER"];

/// How a SASL exchange step ended.
enum AuthStep {
    Data(Vec<u8>),
    /// Already answered (or the client went away): return this.
    Done(Flow),
}

impl ServerSession {
    /// RFC 1939 section 4: the AUTHORIZATION state.
    pub(super) async fn authorization(&mut self, verb: &str, rest: &str) -> io::Result<Flow> {
        match verb {
            "CAPA" => return self.capa().await,
            "USER" => {
                let name = rest.trim();
                if !self.shared.config.user_pass {
                    self.err("USER is not allowed here; use AUTH").await?;
                } else if name.is_empty() {
                    self.err("usage: USER name").await?;
                } else {
                    self.user = Some(name.to_string());
                    self.ok("send PASS").await?;
                }
            }
            "PASS" => {
                // PASS takes the rest of the line: passwords may hold spaces.
                let cfg = &self.shared.config;
                match self.user.take() {
                    None => self.err("send USER first").await?,
                    Some(u) => {
                        let good = cfg.user_pass && u == cfg.user && rest == cfg.password;
                        return self.finish_login(good).await;
                    }
                }
            }
            "APOP" => return self.apop(rest).await,
            "AUTH" => return self.auth(rest).await,
            "STLS" => return self.stls().await,
            "QUIT" => {
                self.ok("popdoc demo server signing off").await?;
                return Ok(Flow::Close);
            }
            "STAT" | "LIST" | "UIDL" | "TOP" | "RETR" | "DELE" | "RSET" | "NOOP" => {
                self.err("command not valid before login").await?;
            }
            "UTF8" if self.shared.config.faults.utf8_placeholder => {
                self.utf8 = true;
                self.ok("UTF8 enabled").await?;
            }
            "UTF8" => self.err("UTF8 is not supported").await?,
            _ => self.err("unknown command").await?,
        }
        Ok(Flow::Continue)
    }

    /// The SASL mechanisms offered, in the order configured.
    pub(super) fn mechanisms(&self) -> Vec<String> {
        let cfg = &self.shared.config;
        let mut mechs: Vec<String> = Vec::new();
        let mut offer = |m: &str| {
            let m = m.to_ascii_uppercase();
            let oauth = m == "XOAUTH2" || m == "OAUTHBEARER";
            if SUPPORTED.contains(&m.as_str())
                && (!oauth || cfg.oauth_token.is_some())
                && !mechs.contains(&m)
            {
                mechs.push(m);
            }
        };
        cfg.mechanisms.iter().for_each(|m| offer(m));
        if cfg.oauth_token.is_some() {
            offer("XOAUTH2");
            offer("OAUTHBEARER");
        }
        mechs
    }

    /// Enters the TRANSACTION state when the credentials were good and the
    /// maildrop can be locked (RFC 2449 section 8.1: `[IN-USE]`, `[LOGIN-DELAY]`;
    /// RFC 3206: `[AUTH]`).
    async fn finish_login(&mut self, credentials_ok: bool) -> io::Result<Flow> {
        let faults = &self.shared.config.faults;
        if !credentials_ok {
            self.err("[AUTH] authentication failed").await?;
        } else if faults.in_use {
            self.err("[IN-USE] the mailbox is in use by another session")
                .await?;
        } else if faults.reject_login_delay {
            self.err("[LOGIN-DELAY] minimum time between logins not reached")
                .await?;
        } else {
            match self.shared.mailbox.try_lock() {
                None => {
                    self.err("[IN-USE] the mailbox is locked by another session")
                        .await?
                }
                Some(mut maildrop) => {
                    if faults.utf8_placeholder && !self.utf8 {
                        maildrop.hide_8bit().await;
                    }
                    let n = maildrop.messages.len();
                    self.txn = Some(Txn::new(maildrop));
                    tracing::info!(messages = n, "logged in");
                    self.ok(&format!("logged in, {n} messages")).await?;
                }
            }
        }
        Ok(Flow::Continue)
    }

    /// RFC 1939 section 7: `APOP name digest`, digest = MD5(timestamp password).
    async fn apop(&mut self, rest: &str) -> io::Result<Flow> {
        let cfg = &self.shared.config;
        let Some(ts) = self.timestamp.as_ref().filter(|_| cfg.apop) else {
            self.err("APOP is not supported").await?;
            return Ok(Flow::Continue);
        };
        let args: Vec<&str> = rest.split_ascii_whitespace().collect();
        let [name, digest] = args[..] else {
            self.err("usage: APOP name digest").await?;
            return Ok(Flow::Continue);
        };
        let expected: String = Md5::digest(format!("{ts}{}", cfg.password))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let good = name == cfg.user && digest.eq_ignore_ascii_case(&expected);
        self.finish_login(good).await
    }

    /// RFC 5034 section 4: `AUTH mechanism [initial-response]`.
    async fn auth(&mut self, rest: &str) -> io::Result<Flow> {
        let mut args = rest.split_ascii_whitespace();
        let offered = self.mechanisms();
        let Some(mech) = args.next().map(str::to_ascii_uppercase) else {
            // Without a mechanism, list them (what many servers do).
            self.ok("methods supported").await?;
            for m in offered {
                self.conn.write(format!("{m}\r\n").as_bytes()).await?;
            }
            self.conn.write(b".\r\n").await?;
            return Ok(Flow::Continue);
        };
        if !offered.contains(&mech) {
            self.err("unsupported authentication mechanism").await?;
            return Ok(Flow::Continue);
        }
        let initial = match args.next() {
            None => None,
            Some("=") => Some(Vec::new()),
            Some(s) => match B64.decode(s) {
                Ok(v) => Some(v),
                Err(_) => {
                    self.err("invalid base64 in the initial response").await?;
                    return Ok(Flow::Continue);
                }
            },
        };
        let cfg = self.shared.config.clone();
        let token = cfg.oauth_token.as_deref().unwrap_or_default();
        let first = match initial {
            Some(v) => v,
            None => match self
                .challenge(if mech == "LOGIN" { b"Username:" } else { b"" })
                .await?
            {
                AuthStep::Data(v) => v,
                AuthStep::Done(flow) => return Ok(flow),
            },
        };
        let good = match mech.as_str() {
            "PLAIN" => {
                let parts: Vec<&[u8]> = first.split(|&b| b == 0).collect();
                matches!(parts[..], [authz, authc, pass]
                    if authc == cfg.user.as_bytes()
                        && pass == cfg.password.as_bytes()
                        && (authz.is_empty() || authz == cfg.user.as_bytes()))
            }
            "LOGIN" => match self.challenge(b"Password:").await? {
                AuthStep::Data(pass) => {
                    first == cfg.user.as_bytes() && pass == cfg.password.as_bytes()
                }
                AuthStep::Done(flow) => return Ok(flow),
            },
            "XOAUTH2" => {
                let fields = kv_fields(&first);
                let ok = fields
                    .iter()
                    .any(|f| *f == format!("user={}", cfg.user).as_bytes())
                    && fields
                        .iter()
                        .any(|f| *f == format!("auth=Bearer {token}").as_bytes());
                if !ok {
                    // Like Gmail: a JSON error as a challenge, then -ERR.
                    let json = br#"{"status":"401","schemes":"Bearer","scope":"https://mail.google.com/"}"#;
                    if let AuthStep::Done(flow) = self.challenge(json).await? {
                        return Ok(flow);
                    }
                }
                ok
            }
            "OAUTHBEARER" => {
                let fields = kv_fields(&first);
                let authz_ok = fields.first().is_some_and(|gs2| {
                    gs2.split(|&b| b == b',')
                        .filter_map(|p| p.strip_prefix(b"a="))
                        .all(|a| a == cfg.user.as_bytes())
                });
                let ok = authz_ok
                    && fields
                        .iter()
                        .any(|f| *f == format!("auth=Bearer {token}").as_bytes());
                if !ok {
                    // RFC 7628 section 3.2.2: error JSON, the client answers %x01.
                    let json = br#"{"status":"invalid_token","scope":"pop"}"#;
                    if let AuthStep::Done(flow) = self.challenge(json).await? {
                        return Ok(flow);
                    }
                }
                ok
            }
            _ => false,
        };
        self.finish_login(good).await
    }

    /// Sends `+ base64(payload)` and reads the client's response line.
    async fn challenge(&mut self, payload: &[u8]) -> io::Result<AuthStep> {
        let line = format!("+ {}\r\n", B64.encode(payload));
        self.conn.write(line.as_bytes()).await?;
        self.conn.flush().await?;
        match self.conn.read_line_limited(MAX_SASL_RESPONSE).await {
            Input::Closed | Input::Idle => Ok(AuthStep::Done(Flow::Close)),
            Input::TooLong => {
                self.shared.record("<line too long>".into());
                self.err("[AUTH] response too long").await?;
                Ok(AuthStep::Done(Flow::Continue))
            }
            Input::Line(l) if l == b"*" => {
                self.shared.record("*".into());
                self.err("authentication cancelled").await?;
                Ok(AuthStep::Done(Flow::Continue))
            }
            Input::Line(l) => {
                self.shared.record(if l.is_empty() {
                    String::new()
                } else {
                    "***".into()
                });
                match B64.decode(&l) {
                    Ok(v) => Ok(AuthStep::Data(v)),
                    Err(_) => {
                        self.err("invalid base64 in the response").await?;
                        Ok(AuthStep::Done(Flow::Continue))
                    }
                }
            }
        }
    }

    /// RFC 2595 section 4: `STLS`, then the handshake on the same socket and
    /// a fresh AUTHORIZATION state.
    async fn stls(&mut self) -> io::Result<Flow> {
        let cfg = &self.shared.config;
        let acceptor = match self.shared.acceptor.clone() {
            Some(a) if !cfg.implicit_tls && !self.tls_active => a,
            Some(_) => {
                self.err("TLS is already active").await?;
                return Ok(Flow::Continue);
            }
            None => {
                self.err("STLS is not supported").await?;
                return Ok(Flow::Continue);
            }
        };
        if cfg.faults.stls_inject {
            self.conn
                .write(b"+OK Begin TLS\r\n+OK injected\r\n")
                .await?;
        } else {
            self.ok("Begin TLS negotiation").await?;
        }
        self.conn.flush().await?;
        let discarded = self.conn.discard_input();
        if discarded > 0 {
            tracing::warn!(
                bytes = discarded,
                "discarded input sent before the TLS handshake"
            );
        }
        if let Err(e) = self.conn.start_tls(&acceptor).await {
            tracing::info!(error = %e, "TLS handshake after STLS failed");
            return Ok(Flow::Close);
        }
        self.tls_active = true;
        self.user = None;
        Ok(Flow::Continue)
    }
}

/// Splits a SASL OAuth message into its %x01-separated fields, empty ones dropped.
fn kv_fields(msg: &[u8]) -> Vec<&[u8]> {
    msg.split(|&b| b == 1).filter(|f| !f.is_empty()).collect()
}
