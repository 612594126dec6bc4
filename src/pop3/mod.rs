//! POP3 protocol core (sans-I/O).
pub mod stuff;
