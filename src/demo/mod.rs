//! A small but real POP3 server on loopback: it serves `popdoc demo` and the
//! fault-injecting server that popdoc's tests talk to.
//!
//! It speaks RFC 1939 (with `TOP`, `UIDL`, `APOP`), RFC 2449 `CAPA` and
//! response codes, RFC 5034 `AUTH` (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER) and
//! RFC 2595 `STLS`, or TLS from the first byte. [`Faults`] make it misbehave
//! on purpose; `Faults::popa3d()` and `Faults::mailutils()` copy real servers. It must only listen on 127.0.0.1, never panic on client input,
//! and delete messages only when `QUIT` is accepted. It shares no code with
//! the client side beyond [`crate::pop3::stuff`].

pub mod assets;
mod auth;
mod chaos;
mod config;
mod conn;
mod mailbox;
mod quirks;
mod server;
mod session;
mod transaction;

pub use chaos::Chaos;
pub use config::{Faults, ServerConfig};
pub use mailbox::Mailbox;
pub use server::Server;
