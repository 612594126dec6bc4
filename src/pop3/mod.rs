//! POP3 protocol core (sans-I/O): commands, replies, the incremental
//! reader, the pipeline window, CAPA and SASL. Bytes in, bytes out; no
//! sockets, no tokio, no clocks, no UI.

pub mod capa;
pub mod command;
pub mod pipeline;
pub mod reader;
pub mod reply;
pub mod sasl;
pub mod stuff;

pub use capa::Capabilities;
pub use command::Command;
pub use reader::{Event, Expect, ProtocolError, Reader};
pub use reply::{RespCode, Status};

#[cfg(test)]
mod pipeline_tests;
#[cfg(test)]
mod tests;
