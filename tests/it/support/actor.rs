//! Driving the TUI's worker from a test: an account for a private loopback
//! server, and waiting for the worker's events with a deadline.

use std::time::Duration;

use popdoc::account::{Account, SecretSource};
use popdoc::client::Security;
use popdoc::client::ops::Listing;
use popdoc::worker::Event;
use tokio::sync::mpsc;

/// How long a test waits for one event before it fails.
const EVENT_DEADLINE: Duration = Duration::from_secs(20);

/// An account on 127.0.0.1 with a fixed password, no keepalive (tests count
/// what goes over the wire) and short timeouts.
pub fn account(
    label: &str,
    port: u16,
    user: &str,
    password: &str,
    security: Security,
    timeout: Duration,
) -> Account {
    Account {
        secret: SecretSource::Fixed(password.into()),
        timeout,
        connect_timeout: timeout,
        preview_lines: 10,
        keepalive: None,
        ..Account::new(label, "127.0.0.1", port, user, security)
    }
}

/// Waits for the first event `pick` accepts, dropping the others.
pub async fn until<T>(
    rx: &mut mpsc::Receiver<Event>,
    what: &str,
    mut pick: impl FnMut(Event) -> Option<T>,
) -> T {
    let deadline = tokio::time::Instant::now() + EVENT_DEADLINE;
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

/// Waits for the listing; a failure on the way fails the test.
pub async fn listed(rx: &mut mpsc::Receiver<Event>) -> Vec<Listing> {
    until(rx, "the listing", |e| match e {
        Event::Listing(l) => Some(l),
        Event::Failed(f) => panic!("{f}"),
        _ => None,
    })
    .await
}
