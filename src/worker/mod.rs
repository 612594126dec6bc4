//! The TUI's actor: one task that owns the connection (a
//! `client::Connection`), takes `Request`s from the app and answers with
//! `Event`s. Never touches UI state; the app never touches the socket.

pub mod run;
