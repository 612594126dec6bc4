//! popdoc: look after a POP3 mailbox on the server.
#![forbid(unsafe_code)]

pub mod demo;
pub mod mail;
pub mod pop3;
pub mod store;
pub mod util;
pub mod worker;
