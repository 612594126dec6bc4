//! `popdoc config path`: where the config file is looked for, whether it
//! exists, and whether it reads cleanly. Prints the path alone on stdout
//! (for scripts), the rest on stderr.

use std::path::Path;

use crate::config::{self, Origin};

pub fn path(config_flag: Option<&Path>) -> Result<(), String> {
    let location = config::locate(config_flag).map_err(|e| e.to_string())?;
    println!("{}", location.path.display());
    let from = match location.origin {
        Origin::Flag => " (given by --config)",
        Origin::Env => " (given by POPDOC_CONFIG)",
        Origin::Default => "",
    };
    if !location.path.exists() {
        eprintln!(
            "popdoc: this file does not exist yet{from}; create it with an [accounts.NAME] table for each mailbox (config/popdoc.example.toml shows every key)."
        );
        return Ok(());
    }
    let config = config::load(&location).map_err(|e| e.to_string())?;
    for w in config.warnings() {
        eprintln!("popdoc: warning: {w}");
    }
    eprintln!(
        "popdoc: the file exists{from} and reads cleanly; accounts: {}{}.",
        config.names(),
        config
            .default
            .as_ref()
            .map(|d| format!(" (default: {d})"))
            .unwrap_or_default()
    );
    Ok(())
}
