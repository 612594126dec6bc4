//! SASL client mechanisms for POP3 AUTH (RFC 5034): PLAIN (RFC 4616),
//! LOGIN, XOAUTH2 (Google/Microsoft) and OAUTHBEARER (RFC 7628).
//!
//! [`SaslClient`] turns credentials into the AUTH command and the answers
//! to `+ ` continuations. An initial response that would make the AUTH line
//! longer than 255 octets is sent after the first continuation instead
//! (RFC 5034 §4; Microsoft 365 needs this for XOAUTH2). Sans-I/O; secrets
//! stay in [`SecretString`].

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use secrecy::{ExposeSecret, SecretString};

use super::command::{Command, MAX_COMMAND_LINE};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    Plain,
    Login,
    XOAuth2,
    OAuthBearer,
}

impl Mechanism {
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Plain => "PLAIN",
            Mechanism::Login => "LOGIN",
            Mechanism::XOAuth2 => "XOAUTH2",
            Mechanism::OAuthBearer => "OAUTHBEARER",
        }
    }

    pub fn from_name(name: &str) -> Option<Mechanism> {
        [
            Mechanism::Plain,
            Mechanism::Login,
            Mechanism::XOAuth2,
            Mechanism::OAuthBearer,
        ]
        .into_iter()
        .find(|m| m.name().eq_ignore_ascii_case(name))
    }

    /// Whether the secret is an OAuth2 bearer token rather than a password.
    pub fn uses_token(self) -> bool {
        matches!(self, Mechanism::XOAuth2 | Mechanism::OAuthBearer)
    }
}

/// The server's reply could not be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SaslError {
    #[error("the server's SASL challenge is not valid base64")]
    BadChallenge,
}

pub struct SaslClient {
    mechanism: Mechanism,
    user: String,
    secret: SecretString,
    host: String,
    port: u16,
    /// The initial response, when it did not fit on the AUTH line.
    deferred: Option<Vec<u8>>,
    step: usize,
    /// An error document the server sent in a continuation (OAuth2).
    server_error: Option<String>,
}

impl SaslClient {
    /// `host` and `port` go into the OAUTHBEARER message (RFC 7628 §3.1).
    pub fn new(
        mechanism: Mechanism,
        user: &str,
        secret: SecretString,
        host: &str,
        port: u16,
    ) -> Self {
        SaslClient {
            mechanism,
            user: user.to_string(),
            secret,
            host: host.to_string(),
            port,
            deferred: None,
            step: 0,
            server_error: None,
        }
    }

    pub fn mechanism(&self) -> Mechanism {
        self.mechanism
    }

    fn initial_response(&self) -> Option<Vec<u8>> {
        let user = &self.user;
        let secret = self.secret.expose_secret();
        match self.mechanism {
            Mechanism::Plain => Some(format!("\0{user}\0{secret}").into_bytes()),
            Mechanism::Login => None,
            Mechanism::XOAuth2 => {
                Some(format!("user={user}\x01auth=Bearer {secret}\x01\x01").into_bytes())
            }
            Mechanism::OAuthBearer => Some(
                format!(
                    "n,a={},\x01host={}\x01port={}\x01auth=Bearer {secret}\x01\x01",
                    gs2_escape(user),
                    self.host,
                    self.port
                )
                .into_bytes(),
            ),
        }
    }

    /// The AUTH command that starts the exchange.
    pub fn start(&mut self) -> Command {
        let mechanism = self.mechanism.name().to_string();
        let Some(ir) = self.initial_response() else {
            return Command::Auth {
                mechanism,
                initial: None,
            };
        };
        let encoded = if ir.is_empty() {
            "=".to_string()
        } else {
            B64.encode(&ir)
        };
        // "AUTH " + mechanism + " " + response + CRLF
        if 5 + mechanism.len() + 1 + encoded.len() + 2 > MAX_COMMAND_LINE {
            self.deferred = Some(ir);
            Command::Auth {
                mechanism,
                initial: None,
            }
        } else {
            Command::Auth {
                mechanism,
                initial: Some(encoded.into()),
            }
        }
    }

    /// The answer to a `+ ` continuation whose base64 text is `challenge`.
    pub fn respond(&mut self, challenge: &[u8]) -> Result<Command, SaslError> {
        let challenge = decode(challenge)?;
        let step = self.step;
        self.step += 1;
        if let Some(ir) = self.deferred.take() {
            return Ok(response(&ir));
        }
        let answer: Vec<u8> = match self.mechanism {
            Mechanism::Login => match step {
                0 => self.user.as_bytes().to_vec(),
                1 => self.secret.expose_secret().as_bytes().to_vec(),
                _ => return Ok(Command::AuthResponse("*".into())),
            },
            Mechanism::XOAuth2 | Mechanism::OAuthBearer => {
                // A continuation after the token is an error document; the
                // client answers with an empty response (XOAUTH2) or a
                // single %x01 (RFC 7628 §3.2.3) and the server says -ERR.
                self.server_error = Some(String::from_utf8_lossy(&challenge).into_owned());
                if self.mechanism == Mechanism::XOAuth2 {
                    Vec::new()
                } else {
                    vec![1]
                }
            }
            Mechanism::Plain => return Ok(Command::AuthResponse("*".into())),
        };
        Ok(response(&answer))
    }

    /// The OAuth2 error the server sent, in a sentence.
    pub fn server_error(&self) -> Option<String> {
        self.server_error.as_deref().map(explain_oauth_error)
    }
}

fn response(raw: &[u8]) -> Command {
    Command::AuthResponse(B64.encode(raw).into())
}

fn decode(challenge: &[u8]) -> Result<Vec<u8>, SaslError> {
    let trimmed = challenge.trim_ascii();
    if trimmed.is_empty() {
        return Ok(Vec::new());
    }
    B64.decode(trimmed).map_err(|_| SaslError::BadChallenge)
}

/// RFC 5801 §5.1: `,` and `=` in the authzid.
fn gs2_escape(s: &str) -> String {
    s.replace('=', "=3D").replace(',', "=2C")
}

/// Turns an OAuth2 SASL error document, such as Google's
/// `{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`,
/// into a sentence.
pub fn explain_oauth_error(doc: &str) -> String {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(doc) else {
        let shown = super::text::printable(doc.as_bytes());
        return format!("the server rejected the token: {shown}");
    };
    let field = |k: &str| {
        map.get(k).map(|v| match v {
            serde_json::Value::String(s) => super::text::printable(s.as_bytes()),
            other => other.to_string(),
        })
    };
    let status = field("status");
    let mut s = match status.as_deref() {
        Some("401") | Some("invalid_token") => {
            "the server rejected the OAuth2 token (expired, revoked or for another account)"
                .to_string()
        }
        Some("400") | Some("invalid_request") => {
            "the server found the OAuth2 request malformed".to_string()
        }
        Some("403") | Some("insufficient_scope") => {
            "the OAuth2 token lacks the permission (scope) for mail access".to_string()
        }
        Some(other) => format!("the server rejected the OAuth2 token (status {other})"),
        None => "the server rejected the OAuth2 token".to_string(),
    };
    if let Some(scope) = field("scope") {
        s.push_str(&format!("; the server asks for scope {scope}"));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(c: &Command) -> String {
        let mut out = Vec::new();
        c.encode(&mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn client(m: Mechanism, secret: &str) -> SaslClient {
        SaslClient::new(
            m,
            "alice@example.com",
            secret.into(),
            "pop.example.com",
            995,
        )
    }

    #[test]
    fn plain_sends_initial_response() {
        let mut c = client(Mechanism::Plain, "pw");
        let ir = B64.encode(b"\0alice@example.com\0pw");
        assert_eq!(line(&c.start()), format!("AUTH PLAIN {ir}\r\n"));
        // A continuation after PLAIN's response is answered with a cancel.
        assert_eq!(line(&c.respond(b"").unwrap()), "*\r\n");
    }

    #[test]
    fn login_answers_user_then_password() {
        let mut c = client(Mechanism::Login, "pw");
        assert_eq!(line(&c.start()), "AUTH LOGIN\r\n");
        let user = c.respond(b"VXNlcm5hbWU6").unwrap();
        assert_eq!(
            line(&user),
            format!("{}\r\n", B64.encode("alice@example.com"))
        );
        let pass = c.respond(b"UGFzc3dvcmQ6").unwrap();
        assert_eq!(line(&pass), format!("{}\r\n", B64.encode("pw")));
        assert_eq!(line(&c.respond(b"").unwrap()), "*\r\n");
        assert!(matches!(
            c.respond(b"!!notbase64"),
            Err(SaslError::BadChallenge)
        ));
    }

    #[test]
    fn xoauth2_short_token_goes_on_the_auth_line() {
        let mut c = client(Mechanism::XOAuth2, "ya29.short");
        let ir = B64.encode("user=alice@example.com\x01auth=Bearer ya29.short\x01\x01");
        assert_eq!(line(&c.start()), format!("AUTH XOAUTH2 {ir}\r\n"));
    }

    #[test]
    fn long_initial_response_waits_for_the_continuation() {
        let token = "t".repeat(1500);
        let mut c = client(Mechanism::XOAuth2, &token);
        assert_eq!(line(&c.start()), "AUTH XOAUTH2\r\n");
        let r = c.respond(b"").unwrap();
        let expected = B64.encode(format!(
            "user=alice@example.com\x01auth=Bearer {token}\x01\x01"
        ));
        assert_eq!(line(&r), format!("{expected}\r\n"));
        // The line may be at most 255 octets, CRLF included.
        let mut seen = (false, false);
        for pw_len in 150..220 {
            let full = 13 + B64.encode(vec![0u8; 3 + pw_len]).len();
            let mut c = SaslClient::new(Mechanism::Plain, "u", "p".repeat(pw_len).into(), "h", 1);
            let l = line(&c.start());
            if full <= 255 {
                assert_eq!(l.len(), full);
                seen.0 = true;
            } else {
                assert_eq!(l, "AUTH PLAIN\r\n", "{pw_len}");
                seen.1 = true;
            }
        }
        assert_eq!(seen, (true, true), "both sides of the limit were tried");
    }

    #[test]
    fn oauthbearer_message() {
        let mut c = client(Mechanism::OAuthBearer, "tok");
        let Command::Auth {
            initial: Some(ir), ..
        } = c.start()
        else {
            panic!()
        };
        let raw = B64.decode(ir.expose_secret()).unwrap();
        assert_eq!(
            raw,
            b"n,a=alice@example.com,\x01host=pop.example.com\x01port=995\x01auth=Bearer tok\x01\x01"
        );
        let err = B64.encode(r#"{"status":"invalid_token","scope":"mail"}"#);
        let r = c.respond(err.as_bytes()).unwrap();
        assert_eq!(line(&r), "AQ==\r\n");
        let msg = c.server_error().unwrap();
        assert!(msg.contains("rejected the OAuth2 token"), "{msg}");
        assert!(msg.contains("scope mail"), "{msg}");
    }

    #[test]
    fn xoauth2_error_is_decoded() {
        let mut c = client(Mechanism::XOAuth2, "tok");
        c.start();
        let doc = r#"{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}"#;
        let r = c.respond(B64.encode(doc).as_bytes()).unwrap();
        assert_eq!(line(&r), "\r\n");
        assert_eq!(
            c.server_error().unwrap(),
            "the server rejected the OAuth2 token (expired, revoked or for another account); the server asks for scope https://mail.google.com/"
        );
        assert!(explain_oauth_error("not json").contains("not json"));
        assert!(explain_oauth_error(r#"{"status":"403"}"#).contains("permission"));
    }

    #[test]
    fn gs2_escaping() {
        assert_eq!(gs2_escape("a,b=c"), "a=2Cb=3Dc");
    }
}
