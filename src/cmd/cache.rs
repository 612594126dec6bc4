//! `popdoc cache path` and `popdoc cache clear`: where the header cache is
//! (the folder, or one account's file) and removing it; and `--no-cache`.
//! Paths go to stdout alone (for scripts), remarks to stderr.

use std::path::PathBuf;

use crate::account::{Account, CacheSetting};
use crate::cache;

/// `--no-cache`: this run neither reads nor writes the cache.
pub fn apply_flag(account: &mut Account, no_cache: bool) {
    if no_cache {
        account.cache = CacheSetting::Off;
    }
}

/// The folder `account` (or, without one, every account) caches in.
fn folder(account: Option<&Account>) -> Result<PathBuf, String> {
    account
        .and_then(|a| cache::folder(&a.cache))
        .or_else(cache::default_folder)
        .ok_or_else(|| {
            "cannot tell where the cache folder is (no home folder), so there is no header cache"
                .to_string()
        })
}

/// Prints the cache folder, or `account`'s cache file.
pub fn path(account: Option<&Account>) -> Result<(), String> {
    let folder = folder(account)?;
    let Some(a) = account else {
        println!("{}", folder.display());
        return Ok(());
    };
    let file = cache::file_in(&folder, a);
    println!("{}", file.display());
    if a.cache == CacheSetting::Off {
        eprintln!(
            "popdoc: the header cache is off for this account (cache = false in the config file), so this file is neither read nor written."
        );
    } else if !file.exists() {
        eprintln!(
            "popdoc: this file does not exist yet; popdoc writes it when it has listed the mailbox."
        );
    }
    Ok(())
}

/// Removes the cache files (every account's, or `account`'s) and says which.
pub fn clear(account: Option<&Account>) -> Result<(), String> {
    let folder = folder(account)?;
    let removed = cache::clear(&folder, account).map_err(|e| {
        format!(
            "cannot remove the header cache in {}: {e}. Remove the files ending in .{} there by hand.",
            folder.display(),
            cache::EXTENSION
        )
    })?;
    for f in &removed {
        println!("removed {}", f.display());
    }
    if removed.is_empty() {
        let whose = if account.is_some() {
            "for this account "
        } else {
            ""
        };
        eprintln!(
            "popdoc: there were no cached headers {whose}in {}; nothing removed.",
            folder.display()
        );
    }
    Ok(())
}
