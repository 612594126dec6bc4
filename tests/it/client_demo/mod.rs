//! The connection layer against the built-in server and scripted peers,
//! one part per concern: login (`login.rs`), commands and pipelining
//! (`commands.rs`), faults, timeouts and their errors (`faults.rs`),
//! certificate checks (`tls.rs`), round trips and TLS resumption
//! (`flights.rs`). This file holds only the shared server
//! and client set-up; it must not hold tests of its own.

mod commands;
mod faults;
mod flights;
mod login;
mod tls;

use std::time::Duration;

use popdoc::client::{CertCheck, Connection, Credentials, Endpoint, Error, LoginMethod, Security};
use popdoc::demo::{Faults, Mailbox, Server, ServerConfig};

const PASSWORD: &str = "s3cret-Pa55";

fn messages() -> Vec<Vec<u8>> {
    vec![
        b"From: Ann <ann@example.org>\r\nSubject: one\r\n\r\nHello\r\n.dot line\r\n..two\r\n\xe9t\xe9\r\n.\r\nlast\r\n".to_vec(),
        b"Subject: two\r\n\r\nbare\rcr and cr cr lf\r\r\n".to_vec(),
        b"Subject: three\r\n\r\nbody\r\n".to_vec(),
    ]
}

fn config(faults: Faults) -> ServerConfig {
    ServerConfig {
        user: "ann".into(),
        password: PASSWORD.into(),
        faults,
        ..Default::default()
    }
}

async fn server(faults: Faults) -> Server {
    crate::support::demo::start_with(config(faults), Mailbox::from_messages(messages())).await
}

fn endpoint(port: u16, security: Security) -> Endpoint {
    Endpoint {
        host: "127.0.0.1".into(),
        port,
        security,
        cert: CertCheck::System,
        connect_timeout: Duration::from_secs(5),
    }
}

fn creds() -> Credentials {
    Credentials {
        user: "ann".into(),
        secret: PASSWORD.into(),
        token: false,
    }
}

async fn open(ep: Endpoint) -> Result<Connection, Error> {
    Connection::open(ep, Duration::from_secs(5), &mut |_, _| {}).await
}

async fn logged_in(s: &Server) -> Connection {
    let mut c = open(endpoint(s.port(), Security::Plaintext)).await.unwrap();
    c.login(&creds(), LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap();
    c
}
