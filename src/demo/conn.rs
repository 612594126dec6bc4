//! One client connection of the demo server: bounded line reading, buffered
//! writing, and the switch to TLS (STLS or implicit).
//!
//! Reading never holds more than one command line plus one read's worth of
//! bytes; a command line longer than RFC 2449's 255 octets is reported as
//! [`Input::TooLong`] and discarded. This module must not interpret commands.

use std::io;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;

/// RFC 2449 section 4: a command line is at most 255 octets, CRLF included.
pub(crate) const MAX_COMMAND_LINE: usize = 255;
/// Buffered replies are written out once they reach this size.
const WRITE_CHUNK: usize = 64 * 1024;

pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// What the client sent next.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// A line without its CRLF (or bare LF).
    Line(Vec<u8>),
    /// A line longer than [`MAX_COMMAND_LINE`]; its bytes were dropped.
    TooLong,
    /// The client closed the connection (or it failed).
    Closed,
    /// Nothing arrived within the idle timeout.
    Idle,
}

pub(crate) struct ServerConn {
    io: Box<dyn Io>,
    rbuf: Vec<u8>,
    wbuf: Vec<u8>,
    /// Inside a line that is already too long: drop bytes until its LF.
    overlong: bool,
    idle: Duration,
    /// `Faults::trickle_on`: output goes out at about this many bytes/s.
    trickle: Option<u64>,
}

impl ServerConn {
    pub(crate) fn new(io: Box<dyn Io>, idle: Duration) -> Self {
        ServerConn {
            io,
            rbuf: Vec::with_capacity(1024),
            wbuf: Vec::with_capacity(8 * 1024),
            overlong: false,
            idle,
            trickle: None,
        }
    }

    /// Reads the next command line (at most [`MAX_COMMAND_LINE`] octets).
    pub(crate) async fn read_line(&mut self) -> Input {
        self.read_line_limited(MAX_COMMAND_LINE).await
    }

    /// Reads the next line of at most `max` octets, CRLF included.
    pub(crate) async fn read_line_limited(&mut self, max: usize) -> Input {
        loop {
            if let Some(i) = memchr::memchr(b'\n', &self.rbuf) {
                let mut line: Vec<u8> = self.rbuf.drain(..=i).collect();
                if std::mem::take(&mut self.overlong) || line.len() > max {
                    return Input::TooLong;
                }
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
                return Input::Line(line);
            }
            if self.rbuf.len() > max {
                self.overlong = true;
                self.rbuf.clear();
            }
            let mut tmp = [0u8; 4096];
            match tokio::time::timeout(self.idle, self.io.read(&mut tmp)).await {
                Err(_) => return Input::Idle,
                Ok(Ok(0)) => return Input::Closed,
                Ok(Ok(n)) => self.rbuf.extend_from_slice(&tmp[..n]),
                Ok(Err(e)) => {
                    tracing::debug!(error = %e, "read failed");
                    return Input::Closed;
                }
            }
        }
    }

    /// Whether a complete command line is already buffered (pipelining).
    pub(crate) fn has_pending_line(&self) -> bool {
        memchr::memchr(b'\n', &self.rbuf).is_some()
    }

    /// Whether any byte the client sent is buffered and not yet read as
    /// a line.
    pub(crate) fn has_input(&self) -> bool {
        !self.rbuf.is_empty()
    }

    /// Queues bytes; they go out at the next [`ServerConn::flush`] or once enough
    /// have gathered.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if let Some(rate) = self.trickle {
            // A piece every 1/10 s (at least one byte), flushed at once.
            let piece = usize::try_from(rate / 10).unwrap_or(1).max(1);
            for p in bytes.chunks(piece) {
                self.io.write_all(p).await?;
                self.io.flush().await?;
                tokio::time::sleep(Duration::from_secs_f64(p.len() as f64 / rate as f64)).await;
            }
            return Ok(());
        }
        self.wbuf.extend_from_slice(bytes);
        if self.wbuf.len() >= WRITE_CHUNK {
            self.flush().await?;
        }
        Ok(())
    }

    /// Sends what is queued. A client that reads nothing for the idle timeout
    /// ends the session.
    pub(crate) async fn flush(&mut self) -> io::Result<()> {
        let send = async {
            if !self.wbuf.is_empty() {
                self.io.write_all(&self.wbuf).await?;
                self.wbuf.clear();
            }
            self.io.flush().await
        };
        tokio::time::timeout(self.idle, send)
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "client stopped reading"))?
    }

    /// From now on (with `Some`), output goes out at about `rate` bytes per
    /// second, unbuffered. Flush before turning it on.
    pub(crate) fn set_trickle(&mut self, rate: Option<u64>) {
        self.trickle = rate.map(|r| r.max(1));
    }

    /// Writes `bytes` at once, unbuffered (what is queued goes first).
    pub(crate) async fn write_now(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.flush().await?;
        self.io.write_all(bytes).await?;
        self.io.flush().await
    }

    /// Flushes what is queued and closes the write side; errors are ignored
    /// because the connection ends anyway.
    pub(crate) async fn close(&mut self) {
        let _ = self.flush().await;
        let _ = self.io.shutdown().await;
    }

    /// Throws away what the client sent but was not read yet. RFC 2595
    /// section 4: bytes sent before the TLS handshake must not be taken as
    /// commands after it.
    pub(crate) fn discard_input(&mut self) -> usize {
        self.overlong = false;
        std::mem::take(&mut self.rbuf).len()
    }

    /// Runs the TLS handshake as the server on this connection. Queued output
    /// must have been flushed first.
    pub(crate) async fn start_tls(&mut self, acceptor: &TlsAcceptor) -> io::Result<()> {
        debug_assert!(self.wbuf.is_empty());
        let plain = std::mem::replace(&mut self.io, Box::new(tokio::io::empty()));
        let tls = tokio::time::timeout(self.idle, acceptor.accept(plain))
            .await
            .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "TLS handshake timed out"))??;
        self.io = Box::new(tls);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn lines_are_split_bounded_and_overlong_ones_reported() {
        let (client, server) = tokio::io::duplex(1 << 16);
        let mut conn = ServerConn::new(Box::new(server), Duration::from_secs(5));
        let mut client = client;
        let long = vec![b'a'; 300];
        let mut input = b"NOOP\r\nstat\n".to_vec();
        input.extend_from_slice(&long);
        input.extend_from_slice(b"\r\nQUIT\r\n");
        input.extend_from_slice(&vec![b'b'; 254]);
        input.extend_from_slice(b"\r\n");
        client.write_all(&input).await.unwrap();
        drop(client);
        assert_eq!(conn.read_line().await, Input::Line(b"NOOP".to_vec()));
        assert!(conn.has_pending_line());
        assert_eq!(conn.read_line().await, Input::Line(b"stat".to_vec()));
        assert_eq!(conn.read_line().await, Input::TooLong);
        assert_eq!(conn.read_line().await, Input::Line(b"QUIT".to_vec()));
        // 254 + CRLF = 256 octets: one over the limit
        assert_eq!(conn.read_line().await, Input::TooLong);
        assert!(!conn.has_pending_line());
        assert_eq!(conn.read_line().await, Input::Closed);
    }

    #[tokio::test]
    async fn a_line_of_exactly_255_octets_is_accepted() {
        let (mut client, server) = tokio::io::duplex(1 << 16);
        let mut conn = ServerConn::new(Box::new(server), Duration::from_secs(5));
        let mut input = vec![b'c'; 253];
        input.extend_from_slice(b"\r\n");
        client.write_all(&input).await.unwrap();
        assert_eq!(conn.read_line().await, Input::Line(vec![b'c'; 253]));
    }

    #[tokio::test]
    async fn a_client_that_stops_reading_makes_flush_fail() {
        let (_client, server) = tokio::io::duplex(64);
        let mut conn = ServerConn::new(Box::new(server), Duration::from_millis(50));
        conn.write(&[b'x'; 1000]).await.unwrap();
        let err = conn.flush().await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test]
    async fn silence_is_reported_as_idle() {
        let (_client, server) = tokio::io::duplex(64);
        let mut conn = ServerConn::new(Box::new(server), Duration::from_millis(20));
        assert_eq!(conn.read_line().await, Input::Idle);
    }
}
