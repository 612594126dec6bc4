//! The one way the tests start popdoc's built-in POP3 server: a user, a
//! password and a fault plan (`Faults`), or a whole `ServerConfig`, over a
//! mailbox, on a free loopback port. It only starts the server; what the
//! mailbox holds is each test's business.

use popdoc::demo::{Faults, Mailbox, Server, ServerConfig};

/// The built-in server for `user`/`password` with this fault plan.
pub async fn start(user: &str, password: &str, faults: Faults, mailbox: Mailbox) -> Server {
    start_with(
        ServerConfig {
            user: user.into(),
            password: password.into(),
            faults,
            ..Default::default()
        },
        mailbox,
    )
    .await
}

/// The built-in server with this whole configuration.
pub async fn start_with(config: ServerConfig, mailbox: Mailbox) -> Server {
    Server::start(config, mailbox)
        .await
        .expect("the built-in server starts on loopback")
}
