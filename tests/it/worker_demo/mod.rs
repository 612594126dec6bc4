//! The worker task the TUI talks to, against the built-in server: listing
//! and headers, commit with UIDL checks, refused DELE, cancelled saves and
//! the reconnect that follows, and leaving without deleting. This file
//! holds the server, account and event helpers; `commit.rs` the commits,
//! `save.rs` saves, previews and the report, `app_loop.rs` a real `App`
//! driven by the worker's events.

use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use popdoc::account::{Account, SecretSource};
use popdoc::app::{App, Effect, Msg, update};
use popdoc::client::{CertCheck, Connection, Credentials, LoginMethod, Security};
use popdoc::demo::{Faults, Mailbox, Server, ServerConfig};
use popdoc::report::Step;
use popdoc::store::Collision;
use popdoc::worker::{Event, Mark, MsgKey, Request, spawn};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

fn messages(n: usize) -> Vec<Vec<u8>> {
    (1..=n)
        .map(|i| {
            format!("Subject: message {i}\r\nFrom: a{i}@example.org\r\n\r\nbody {i}\r\n")
                .into_bytes()
        })
        .collect()
}

async fn server(dir: &std::path::Path, n: usize, faults: Faults) -> (Server, Mailbox) {
    for (i, m) in messages(n).into_iter().enumerate() {
        std::fs::write(dir.join(format!("{:02}.eml", i + 1)), m).unwrap();
    }
    let mailbox = Mailbox::from_dir(dir).unwrap();
    let server = crate::support::demo::start("u", "p", faults, mailbox.clone()).await;
    (server, mailbox)
}

fn account(port: u16) -> Account {
    Account {
        label: "test".into(),
        host: "127.0.0.1".into(),
        port,
        user: "u".into(),
        security: Security::Plaintext,
        cert: CertCheck::System,
        login: LoginMethod::Auto,
        secret: SecretSource::Fixed("p".into()),
        timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(5),
        save_dir: None,
        preview_lines: 10,
        keepalive: None,
        plaintext_by: None,
    }
}

/// Waits for the first event `pick` accepts, dropping the others.
async fn until<T>(
    rx: &mut mpsc::Receiver<Event>,
    what: &str,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let e = tokio::time::timeout_at(deadline, rx.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|| panic!("worker ended while waiting for {what}"));
        if let Some(t) = pick(e) {
            return t;
        }
    }
}

async fn listed(rx: &mut mpsc::Receiver<Event>) -> Vec<popdoc::client::ops::Listing> {
    until(rx, "the listing", |e| match e {
        Event::Listing(l) => Some(l),
        _ => None,
    })
    .await
}

mod app_loop;
mod commit;
mod save;
