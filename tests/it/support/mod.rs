//! Shared support for the integration tests: the one runner of the real
//! binary (`cli`) and reading what it printed (`report`), the one starter of
//! the built-in server (`demo`), private Dovecot and GNU Mailutils POP3
//! servers (`dovecot`, `mailutils`), a private Exim SMTP server (`smtp`), tmux
//! (`tmux`), certificates (`certs`, `common`) and a deterministic generator of
//! test messages (`mailgen`); `skip` is how a test that cannot reach its
//! server says so (or fails, when required).
//! Nothing here talks to anything but 127.0.0.1 or touches the system's mail setup.

pub mod actor;
pub mod bigbox;
pub mod certs;
pub mod cli;
pub mod common;
pub mod demo;
pub mod dovecot;
pub mod mailgen;
pub mod mailutils;
pub mod report;
pub mod skip;
pub mod smtp;
pub mod tmux;
