//! POP3 protocol core (sans-I/O): commands, replies, the incremental
//! reader, CAPA and SASL, and the one sanitiser for outside text on a
//! terminal (`text`). Bytes in, bytes out; no sockets, no tokio, no
//! clocks, no UI, nothing else of popdoc.

pub mod capa;
pub mod command;
pub mod reader;
pub mod reply;
pub mod sasl;
pub mod stuff;
pub mod text;

pub use capa::Capabilities;
pub use command::Command;
/// The reader's event under its old name, only until `client/engine.rs`
/// (being reworked for the pipeline) says `ReadEvent`; then remove this.
pub use reader::ReadEvent as Event;
pub use reader::{Expect, ProtocolError, ReadEvent, Reader};
pub use reply::{RespCode, Status};

#[cfg(test)]
mod tests;
