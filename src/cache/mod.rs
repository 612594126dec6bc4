//! The header cache: what the list shows for each message (its
//! [`Summary`]), kept between runs per account and keyed by UIDL, so that a
//! reopen sends `TOP` only for messages it has not seen. An entry is used
//! only when its UIDL **and** its LIST size match this session's listing.
//!
//! One file per account (`user@host:port`, hashed into the name) in
//! popdoc's folder of the user's cache folder (`directories`; on Linux
//! `$XDG_CACHE_HOME/popdoc`, else `~/.cache/popdoc`), mode 0600 in a 0700
//! folder. A file is written whole (temporary file, then rename in the
//! same folder), holds at most [`MAX_ENTRIES`] entries and [`MAX_BYTES`]
//! bytes (the newest messages), only the messages of the last listing, and
//! no secret: no password, no token, only header summaries. A file that
//! is damaged, cut short, of another version or another account is
//! ignored and rebuilt (`format.rs`). A server without UIDL is never
//! cached. Failing to read or write the cache never fails a session.

pub mod format;

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::account::{Account, CacheSetting};
use crate::client::ops::Listing;
use crate::mail::Summary;

/// At most this many messages are kept per account (the newest).
pub const MAX_ENTRIES: usize = 200_000;
/// At most this many bytes per file (the newest messages first).
pub const MAX_BYTES: usize = 64 * 1024 * 1024;
/// How a cache file's name ends.
pub const EXTENSION: &str = "hdrcache";

/// popdoc's folder in the user's cache folder.
pub fn default_folder() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "popdoc").map(|d| d.cache_dir().to_path_buf())
}

/// The folder `setting` names; None when the cache is off (or there is
/// no home folder to put it in).
pub fn folder(setting: &CacheSetting) -> Option<PathBuf> {
    match setting {
        CacheSetting::Off => None,
        CacheSetting::Default => default_folder(),
        CacheSetting::In(p) => Some(p.clone()),
    }
}

/// What identifies an account's cache: SHA-256 of `user@host:port`.
fn account_key(a: &Account) -> [u8; 32] {
    Sha256::digest(a.server_label().as_bytes()).into()
}

/// The file of `account` in `folder`: a hash of `user@host:port`, so the
/// name tells nothing about the account.
pub fn file_in(folder: &Path, account: &Account) -> PathBuf {
    let key = account_key(account);
    folder.join(format!("{}.{EXTENSION}", crate::store::hex(&key[..16])))
}

/// The account's cache file, when its cache is on.
pub fn file_of(account: &Account) -> Option<PathBuf> {
    folder(&account.cache).map(|f| file_in(&f, account))
}

/// The header cache of one session: which of its messages may be cached,
/// and the entries known for them so far.
pub struct Cache {
    path: PathBuf,
    key: [u8; 32],
    /// This session's cacheable messages not in the file: number → (UIDL,
    /// LIST size), for [`Cache::record`].
    ids: HashMap<u32, (String, u64)>,
    /// Encoded entries known for this listing, by number.
    known: BTreeMap<u32, Vec<u8>>,
    /// The file differs from what `known` would write.
    dirty: bool,
}

impl Cache {
    /// Opens `account`'s cache for this `listing`: the cache and the
    /// summaries it already holds (UIDL and size both match), by number.
    /// None when the cache is off, or the server gave no UIDL.
    pub fn open(account: &Account, listing: &[Listing]) -> Option<(Cache, Vec<(u32, Summary)>)> {
        let path = file_of(account)?;
        if !listing.is_empty() && listing.iter().all(|l| l.uidl.is_none()) {
            return None;
        }
        let key = account_key(account);
        let file = match std::fs::read(&path) {
            Ok(bytes) => Some(bytes),
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::info!(file = %path.display(), error = %e, "header cache unreadable");
                }
                None
            }
        };
        let (entries, mut dirty) = match file.as_deref().map(|b| format::index(b, &key)) {
            None => (Vec::new(), false),
            Some(Ok(e)) => (e, false),
            Some(Err(why)) => {
                tracing::info!(file = %path.display(), %why, "header cache ignored; it will be rebuilt");
                (Vec::new(), true)
            }
        };
        let in_file = entries.len();
        let by_uidl: HashMap<&str, format::Raw<'_>> =
            entries.into_iter().map(|e| (e.uidl, e)).collect();
        // A UIDL given to two messages (a broken server) identifies neither.
        let mut count: HashMap<&str, u32> = HashMap::with_capacity(listing.len());
        for u in listing.iter().filter_map(|l| l.uidl.as_deref()) {
            *count.entry(u).or_default() += 1;
        }
        let mut known = BTreeMap::new();
        let mut hits = Vec::new();
        let mut ids = HashMap::new();
        for l in listing {
            let Some(uidl) = l.uidl.as_deref().filter(|u| count.get(u) == Some(&1)) else {
                continue;
            };
            let hit = by_uidl.get(uidl).filter(|e| e.size == l.size);
            match hit.and_then(|e| Some((e, e.summary()?))) {
                Some((e, summary)) => {
                    known.insert(l.number, e.bytes.to_vec());
                    hits.push((l.number, summary));
                }
                None => {
                    ids.insert(l.number, (uidl.to_string(), l.size));
                }
            }
        }
        // Entries of vanished messages, or of changed sizes, are dropped.
        dirty |= hits.len() != in_file;
        let cache = Cache {
            path,
            key,
            ids,
            known,
            dirty,
        };
        Some((cache, hits))
    }

    /// Whether message `number`'s summary is known (no `TOP` needed).
    pub fn has(&self, number: u32) -> bool {
        self.known.contains_key(&number)
    }

    /// Keeps the summary fetched for message `number`.
    pub fn record(&mut self, number: u32, summary: &Summary) {
        // Taken out: the UIDL is in the entry from now on.
        let Some((uidl, size)) = self.ids.remove(&number) else {
            return;
        };
        if let Some(bytes) = format::encode_entry(&uidl, size, summary) {
            self.known.insert(number, bytes);
            self.dirty = true;
        }
    }

    /// Writes the file when it changed: the newest messages (highest
    /// numbers) within the bounds, atomically, readable only by the user.
    pub fn save(&mut self) -> std::io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let mut newest = self.newest(MAX_ENTRIES, MAX_BYTES);
        newest.reverse();
        write_private(&self.path, |out| {
            format::write_file(out, &self.key, &newest)
        })?;
        self.dirty = false;
        Ok(())
    }

    /// The entries a file keeps, newest first, within the bounds.
    fn newest(&self, max_entries: usize, max_bytes: usize) -> Vec<&[u8]> {
        let mut bytes = 0;
        self.known
            .values()
            .rev()
            .take(max_entries)
            .take_while(|e| {
                bytes += e.len();
                bytes <= max_bytes
            })
            .map(Vec::as_slice)
            .collect()
    }

    /// The file this cache reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Writes `data` to `path` whole or not at all: a temporary file (0600) in
/// the same folder (made 0700 if missing), synced, then renamed.
fn write_private(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if !dir.exists() {
        let mut b = std::fs::DirBuilder::new();
        b.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
        b.create(dir)?;
    }
    // tempfile creates the file with mode 0600.
    let mut tmp = tempfile::Builder::new()
        .prefix(".popdoc-cache")
        .tempfile_in(dir)?;
    {
        let mut out = std::io::BufWriter::with_capacity(256 * 1024, tmp.as_file_mut());
        write(&mut out)?;
        out.flush()?;
    }
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Removes the cache files in `folder` (every account's, or only
/// `account`'s): the paths removed.
pub fn clear(folder: &Path, account: Option<&Account>) -> std::io::Result<Vec<PathBuf>> {
    let files = match account {
        Some(a) => vec![file_in(folder, a)],
        None => match std::fs::read_dir(folder) {
            Ok(dir) => dir
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == EXTENSION))
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(e),
        },
    };
    let mut removed = Vec::new();
    for f in files {
        match std::fs::remove_file(&f) {
            Ok(()) => removed.push(f),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests;
