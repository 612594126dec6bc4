//! Shared support for the integration tests: private Dovecot and GNU
//! Mailutils POP3 servers (`dovecot`, `mailutils`), a private Exim SMTP server (`smtp`) and a deterministic
//! generator of test messages (`mailgen`); `skip` is how a test that
//! cannot reach its server says so (or fails, when required).
//! Nothing here talks to anything but 127.0.0.1 or touches the system's mail setup.
#![allow(dead_code)]

pub mod certs;
pub mod cli;
pub mod common;
pub mod dovecot;
pub mod mailgen;
pub mod mailutils;
pub mod report;
pub mod skip;
pub mod smtp;
pub mod tmux;
