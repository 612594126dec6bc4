//! popdoc: look after a POP3 mailbox on the server.
#![forbid(unsafe_code)]

pub mod account;
pub mod app;
pub mod cache;
pub mod check;
pub mod cleanup;
pub mod cli;
pub mod client;
pub mod cmd;
pub mod config;
pub mod demo;
pub mod mail;
pub mod pop3;
pub mod report;
pub mod runtime;
pub mod secret;
pub mod store;
pub mod ui;
pub mod util;
pub mod worker;
