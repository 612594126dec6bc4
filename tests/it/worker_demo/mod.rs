//! The worker task the TUI talks to, against the built-in server: listing
//! and headers, commit with UIDL checks, refused DELE, cancelled saves and
//! the reconnect that follows, and leaving without deleting. This file
//! holds the server, account and event helpers; `commit.rs` the commits,
//! `save.rs` saves, previews and the report, `app_loop.rs` a real `App`
//! driven by the worker's events, `flight.rs` the header load's pipeline.

use crate::support::actor::{self, listed, until};
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use popdoc::account::Account;
use popdoc::app::{App, Effect, Msg, update};
use popdoc::client::{Connection, Credentials, LoginMethod, Security};
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
    actor::account(
        "test",
        port,
        "u",
        "p",
        Security::Plaintext,
        Duration::from_secs(5),
    )
}

mod app_loop;
mod cache;
mod commit;
mod commit_edges;
mod flight;
mod flights;
mod gave_up;
mod reconnect;
mod save;
mod waiting;
