//! The connection library: transport (TCP, TLS, STLS) and certificate
//! checks, the POP3 connection with its login and command engine, the
//! session log, and the typed operations that `popdoc list`/`save`/`check`
//! and the TUI's worker use. It takes plain values (an endpoint, a security
//! mode, credentials) and knows nothing of accounts, the config file,
//! reports or the UI. Touches the network, timers and the files it streams
//! to; never UI state.

pub mod conn;
pub mod deadline;
pub mod engine;
pub mod error;
mod idle;
pub mod log;
mod login;
pub mod ops;
mod refusal;
pub mod transport;
pub mod verify;

pub use conn::{Connection, Credentials, LoginMethod, Stage};
pub use engine::{CommandOutcome, CommandReply};
pub use error::Error;
pub use transport::{CertCheck, Endpoint, Security};
