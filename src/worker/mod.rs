//! The connection layer: transport (TCP, TLS, STLS), the POP3 connection
//! with its command engine, the session log, and the typed operations the
//! commands and the TUI use. Touches the network, timers and the files it
//! streams to; never UI state.

pub mod conn;
pub mod engine;
pub mod error;
pub mod log;
pub mod ops;
mod refusal;
pub mod run;
pub mod transport;
pub mod verify;

pub use conn::{Connection, Credentials, LoginMethod, Stage};
pub use engine::{Outcome, Reply};
pub use error::Error;
pub use transport::{CertCheck, Endpoint, Security};
