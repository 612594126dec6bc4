//! Drawing the [`App`](crate::app::App) with ratatui. Reads the state,
//! never changes it, never does I/O.

pub mod layout;
