//! popdoc's integration tests, built as one test binary (`cargo test --test
//! it`): one module per subject, and one `support` for what they share (the
//! runner of the real binary, the built-in server's starter, the private real
//! servers and tmux).
//!
//! A test module (a file, or a folder when it is long) is named
//! `<subject>_<what it runs against>`: the subject
//! (`cli`, `check`, `client`, `worker`, `config`, ...) and then `demo` (the
//! built-in server, in this process or via `popdoc demo`), `dovecot`,
//! `mailutils`, `exim` (the real servers `support` starts), `tmux` (the binary
//! in a real terminal), or `offline` (no server at all). Filter a run by
//! either half: `cargo test --test it dovecot`, `cargo test --test it check_`.

mod support;

mod assets_offline;
mod cache_demo;
mod check_demo;
mod check_dovecot;
mod check_exim;
mod cli_demo;
mod cli_dovecot;
mod client_demo;
mod client_dovecot;
mod cmdline_demo;
mod config_demo;
mod deadlines_demo;
mod e2e_tmux;
mod faults_local_demo;
mod faults_local_tmux;
mod harness_dovecot;
mod layers_offline;
mod pop3_demo;
mod quirks_demo;
mod readme_offline;
mod secrets_demo;
mod session_mailutils;
mod skip_offline;
mod soak_demo;
mod tls_demo;
mod ui_offline;
mod utf8_demo;
mod worker_demo;
