//! The raw pipelined reference client: the lower bound popdoc is compared
//! with. It connects (plain TCP, or implicit TLS), reads the greeting,
//! sends USER and PASS together, reads their two replies, then sends every
//! `TOP n 0` at once (written while the replies are read) and reads until
//! the last reply's terminator. It parses nothing: it counts lines that
//! start with `+OK` or `-ERR` up to the login, then `CRLF.CRLF` terminators,
//! and the bytes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::ServerName;

/// What one run measured.
pub struct Fetched {
    pub elapsed: Duration,
    pub bytes: u64,
}

/// Fetches the headers of messages 1..=`count` through 127.0.0.1:`port`;
/// with `tls`, the port speaks implicit TLS (POP3S).
pub fn fetch_headers(
    port: u16,
    tls: Option<Arc<rustls::ClientConfig>>,
    user: &str,
    pass: &str,
    count: usize,
) -> Fetched {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let start = Instant::now();
        let tcp = TcpStream::connect(("127.0.0.1", port))
            .await
            .expect("connect");
        tcp.set_nodelay(true).unwrap();
        let bytes = match tls {
            Some(config) => {
                let name = ServerName::try_from("127.0.0.1").unwrap();
                let s = tokio_rustls::TlsConnector::from(config)
                    .connect(name, tcp)
                    .await
                    .expect("TLS handshake");
                session(s, user, pass, count).await
            }
            None => session(tcp, user, pass, count).await,
        };
        Fetched {
            elapsed: start.elapsed(),
            bytes,
        }
    })
}

async fn session<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    s: S,
    user: &str,
    pass: &str,
    count: usize,
) -> u64 {
    let (mut r, mut w) = tokio::io::split(s);
    let mut buf = vec![0u8; 256 * 1024];
    let mut got: Vec<u8> = Vec::new();
    // Greeting, then USER and PASS in one write.
    let mut total = read_lines(&mut r, &mut buf, &mut got, 1).await;
    w.write_all(format!("USER {user}\r\nPASS {pass}\r\n").as_bytes())
        .await
        .unwrap();
    total += read_lines(&mut r, &mut buf, &mut got, 2).await;
    assert!(
        got.split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"+OK"))
            .count()
            == 3,
        "the reference client logged in: {}",
        String::from_utf8_lossy(&got)
    );
    let writer = tokio::spawn(async move {
        let mut cmds = Vec::with_capacity(count * 16);
        for n in 1..=count {
            cmds.extend_from_slice(format!("TOP {n} 0\r\n").as_bytes());
        }
        w.write_all(&cmds).await.unwrap();
        w.flush().await.unwrap();
        w
    });
    // Count terminators across chunk ends: keep the last 4 bytes.
    let mut carry: Vec<u8> = Vec::with_capacity(256 * 1024 + 4);
    let mut done = 0usize;
    while done < count {
        let n = r.read(&mut buf).await.expect("read replies");
        assert!(n > 0, "the server closed after {done} of {count} replies");
        total += n as u64;
        let keep = carry.len().min(4);
        carry.drain(..carry.len() - keep);
        carry.extend_from_slice(&buf[..n]);
        // The 4 kept bytes cannot hold a whole terminator: none is counted twice.
        done += memchr::memmem::find_iter(&carry, b"\r\n.\r\n").count();
    }
    let mut w = writer.await.unwrap();
    let _ = w.write_all(b"QUIT\r\n").await;
    total
}

/// Reads until `lines` more line ends have arrived; returns the bytes read.
async fn read_lines<R: AsyncRead + Unpin>(
    r: &mut R,
    buf: &mut [u8],
    got: &mut Vec<u8>,
    lines: usize,
) -> u64 {
    let want = got.iter().filter(|&&b| b == b'\n').count() + lines;
    let mut total = 0;
    while got.iter().filter(|&&b| b == b'\n').count() < want {
        let n = r.read(buf).await.expect("read");
        assert!(n > 0, "the server closed the connection");
        total += n as u64;
        got.extend_from_slice(&buf[..n]);
    }
    total
}
