//! POP3 protocol core (sans-I/O): commands, replies, the incremental
//! reader, the pipeline window, CAPA and SASL, and the one sanitiser for
//! outside text on a terminal (`text`). Bytes in, bytes out; no sockets,
//! no tokio, no clocks, no UI, nothing else of popdoc.

pub mod capa;
pub mod command;
pub mod pipeline;
pub mod reader;
pub mod reply;
pub mod sasl;
pub mod stuff;
pub mod text;

pub use capa::Capabilities;
pub use command::Command;
pub use reader::{Expect, ProtocolError, ReadEvent, Reader};
pub use reply::{RespCode, Status};

#[cfg(test)]
mod pipeline_tests;
#[cfg(test)]
mod tests;
