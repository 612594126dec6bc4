//! Watching a connection while nothing is asked. A POP3 server speaks only
//! when asked (RFC 1939 §3), so a byte or the end of the stream while no
//! command is outstanding means the session is over: an autologout's last
//! `-ERR`, a restart, a cut line. No command is sent here.

use tokio::io::AsyncReadExt;

use super::conn::Connection;
use super::error::Error;
use crate::pop3::text::printable;

impl Connection {
    /// Waits until the server sends something or closes the connection
    /// while no command is outstanding; then marks the connection unusable
    /// and says what came. Cancel-safe: dropped before it ends, nothing is
    /// read or lost, so it can sit in a `select!` beside other work.
    pub async fn closed_while_idle(&mut self) -> Error {
        let mut buf = [0u8; 512];
        let said = match self.io.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                let line = buf[..n].split(|&b| b == b'\n').next().unwrap_or_default();
                let text = printable(line.strip_suffix(b"\r").unwrap_or(line));
                Some(text.chars().take(200).collect::<String>())
            }
        };
        let e = Error::ClosedIdle { said };
        if self.broken.is_none() {
            self.broken = Some(e.to_string());
            self.log.note(format!("connection unusable: {e}"));
        }
        e
    }
}
