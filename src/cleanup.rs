//! Temporary files and folders that must not outlive the process: the
//! demo's mailbox copy and partial saves register here while they exist,
//! and the ways out that skip destructors (a signal, a closed terminal, a
//! panic: each ends the process at once, see `runtime::stop`) remove them
//! with [`remove_all`]. Normal code paths still clean up by dropping their
//! own guards; this list is only the last resort. Imports nothing of
//! popdoc, and never panics (it runs inside the panic hook).

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

/// `(id, path, is a folder)`.
static PATHS: Mutex<Vec<(u64, PathBuf, bool)>> = Mutex::new(Vec::new());
static NEXT: AtomicU64 = AtomicU64::new(0);

/// A path on the list until dropped. Dropping it does not remove the
/// path: its owner does (or has renamed it into place).
#[derive(Debug)]
pub struct Registered(u64);

/// Puts a temporary file on the list.
pub fn file(path: &Path) -> Registered {
    register(path, false)
}

/// Puts a temporary folder (removed with all it holds) on the list.
pub fn folder(path: &Path) -> Registered {
    register(path, true)
}

fn register(path: &Path, dir: bool) -> Registered {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut paths = PATHS.lock().unwrap_or_else(|p| p.into_inner());
    paths.push((id, path.to_path_buf(), dir));
    Registered(id)
}

impl Drop for Registered {
    fn drop(&mut self) {
        let mut paths = PATHS.lock().unwrap_or_else(|p| p.into_inner());
        paths.retain(|(id, _, _)| *id != self.0);
    }
}

/// Removes every path on the list (errors ignored: the process is
/// ending) and empties it. Returns how many were listed.
pub fn remove_all() -> usize {
    remove_matching(|_| true)
}

fn remove_matching(wanted: impl Fn(&Path) -> bool) -> usize {
    let taken: Vec<_> = {
        let mut paths = PATHS.lock().unwrap_or_else(|p| p.into_inner());
        let (taken, rest) = std::mem::take(&mut *paths)
            .into_iter()
            .partition(|(_, path, _)| wanted(path));
        *paths = rest;
        taken
    };
    for (_, path, dir) in &taken {
        let _ = if *dir {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
    }
    taken.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_paths_are_removed_and_dropped_ones_are_not() {
        let base = tempfile::tempdir().unwrap();
        let part = base.path().join(".popdoc-x.part");
        std::fs::write(&part, b"partial").unwrap();
        let copy = base.path().join("mailbox");
        std::fs::create_dir(&copy).unwrap();
        std::fs::write(copy.join("1.eml"), b"x").unwrap();
        let kept = base.path().join("kept.eml");
        std::fs::write(&kept, b"done").unwrap();

        let _a = file(&part);
        let _b = folder(&copy);
        // Registered, then finished by its owner: off the list.
        drop(file(&kept));
        // Only this test's paths: other tests run alongside.
        assert_eq!(remove_matching(|p| p.starts_with(base.path())), 2);
        assert!(!part.exists() && !copy.exists());
        assert!(
            kept.exists(),
            "a path whose guard was dropped is left alone"
        );
    }
}
