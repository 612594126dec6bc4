//! The diagnostic report as data ([`model`]) and its text rendering
//! ([`text`]), with the pieces that build it from what a connection
//! recorded (timings, TLS and certificate, UIDL sanity). Used by
//! `popdoc check` (whose probes live in `check/`) and by the TUI's `i`,
//! which gets the report from the worker as data and renders it to the
//! screen's width. Nothing here sends a command.

pub mod cert;
pub mod model;
pub mod session;
pub mod stats;
pub mod text;
pub mod tls;
pub mod uidl;

pub use model::*;
pub use session::report_from_session;
pub use text::render as render_text;
