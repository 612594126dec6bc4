//! A latency-injecting TCP proxy for the benchmark: listens on 127.0.0.1
//! only and forwards each connection to a port on 127.0.0.1, holding every
//! chunk back until its arrival time plus the one-way delay (RTT / 2) in
//! each direction. A chunk is never held for the chunks before it to be
//! written first (each is due at its own arrival + delay), so the proxy
//! adds latency but does not limit bandwidth; order is kept because the
//! chunks of one direction go through one queue. It runs on its own tokio
//! runtime and stops, with every connection, when dropped.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio::time::Instant;

pub struct Proxy {
    port: u16,
    // Dropped last: stops the listener and every connection's tasks.
    _runtime: tokio::runtime::Runtime,
}

impl Proxy {
    /// A proxy to 127.0.0.1:`upstream` adding `rtt` to every round trip.
    pub fn start(upstream: u16, rtt: Duration) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("a tokio runtime for the proxy");
        let listener = runtime
            .block_on(TcpListener::bind((Ipv4Addr::LOCALHOST, 0)))
            .expect("bind the proxy on 127.0.0.1");
        let port = listener.local_addr().unwrap().port();
        let delay = rtt / 2;
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let to = SocketAddr::from((Ipv4Addr::LOCALHOST, upstream));
                    if let Ok(server) = TcpStream::connect(to).await {
                        forward(client, server, delay).await;
                    }
                });
            }
        });
        Proxy {
            port,
            _runtime: runtime,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

async fn forward(client: TcpStream, server: TcpStream, delay: Duration) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (cr, cw) = client.into_split();
    let (sr, sw) = server.into_split();
    let up = tokio::spawn(pipe(cr, sw, delay));
    let down = tokio::spawn(pipe(sr, cw, delay));
    let _ = tokio::join!(up, down);
}

/// Copies `from` to `to`, each chunk due `delay` after it was read; the
/// end of the stream is passed on (as a shutdown) after the same delay.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    delay: Duration,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let writer = tokio::spawn(async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if chunk.is_empty() || to.write_all(&chunk).await.is_err() {
                break;
            }
        }
        let _ = to.shutdown().await;
    });
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = from.read(&mut buf).await.unwrap_or(0);
        let due = Instant::now() + delay;
        if tx.send((due, buf[..n].to_vec())).is_err() || n == 0 {
            break;
        }
    }
    drop(tx);
    let _ = writer.await;
}
