//! Streaming save: a message goes to a temporary file in the destination
//! folder while its SHA-256 is computed, then is fsynced, re-read to verify
//! the hash, and renamed into place without ever replacing an existing
//! file. A save that fails or is cancelled leaves nothing behind.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::task::{Context, Poll};

use sha2::{Digest, Sha256};
use tokio::io::{AsyncWrite, BufWriter};

use crate::mail::Summary;

/// A message saved and checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saved {
    pub path: PathBuf,
    pub size: u64,
    /// Lowercase hex.
    pub sha256: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{} already exists; popdoc never overwrites a file. Choose another name.", .0.display())]
    Exists(PathBuf),
    #[error("cannot write in {}: {reason}.", dir.display())]
    Folder { dir: PathBuf, reason: String },
    #[error("the folder {} does not exist, and popdoc does not create a folder you named (a typo would scatter files). Check the path, or create the folder first.", .0.display())]
    NoFolder(PathBuf),
    #[error("writing {} failed: {reason}. Nothing was saved.", path.display())]
    Io { path: PathBuf, reason: String },
    #[error("the saved file {} does not read back as written (SHA-256 differs). It was removed; check the disk.", .0.display())]
    Verify(PathBuf),
    /// The disk refused: full, a size limit, permissions, or the folder
    /// removed while the message was being written.
    #[error("{}", fault.sentence(dir))]
    Disk { dir: PathBuf, fault: DiskFault },
}

/// Why the disk refused a save, told to the user with the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiskFault {
    /// `ENOSPC` or `EDQUOT`.
    Full,
    /// `EFBIG`: past the file-size limit (`ulimit -f`) or the file system's.
    TooLarge,
    /// `EACCES`/`EPERM`.
    Denied,
    /// `EROFS`.
    ReadOnly,
    /// The folder disappeared while the file was being written.
    FolderGone,
}

impl DiskFault {
    /// The fault behind `e`, if it is one the user can act on.
    fn of(e: &io::Error, dir: &Path) -> Option<DiskFault> {
        match e.kind() {
            io::ErrorKind::StorageFull | io::ErrorKind::QuotaExceeded => Some(DiskFault::Full),
            io::ErrorKind::FileTooLarge => Some(DiskFault::TooLarge),
            io::ErrorKind::PermissionDenied => Some(DiskFault::Denied),
            io::ErrorKind::ReadOnlyFilesystem => Some(DiskFault::ReadOnly),
            io::ErrorKind::NotFound if !dir.is_dir() => Some(DiskFault::FolderGone),
            _ => None,
        }
    }

    fn sentence(self, dir: &Path) -> String {
        let dir = dir.display();
        match self {
            DiskFault::Full => format!(
                "the disk holding {dir} is full (or your quota there is used up), so the message was not saved and the partial file was removed. Free some space or choose another folder, then save again."
            ),
            DiskFault::TooLarge => format!(
                "the message is larger than the biggest file popdoc may write in {dir} (a file-size limit such as `ulimit -f`, or the file system's), so it was not saved and the partial file was removed. Raise the limit or choose another folder, then save again."
            ),
            DiskFault::Denied => format!(
                "popdoc may not write in {dir} (permission denied), so the message was not saved. Choose a folder you can write to, or change this one's permissions, then save again."
            ),
            DiskFault::ReadOnly => format!(
                "{dir} is on a read-only file system, so the message was not saved. Choose another folder, then save again."
            ),
            DiskFault::FolderGone => format!(
                "the folder {dir} was removed while the message was being saved, so nothing was saved. Create the folder again or choose another, then save again."
            ),
        }
    }
}

/// `e`, met while writing `dest`, as the user should read it.
fn write_error(dest: &Path, e: io::Error) -> SaveError {
    let dir = folder_of(dest);
    match DiskFault::of(&e, dir) {
        Some(fault) => SaveError::Disk {
            dir: dir.to_path_buf(),
            fault,
        },
        None => SaveError::Io {
            path: dest.to_path_buf(),
            reason: e.to_string(),
        },
    }
}

/// The folder a file goes to (`.` for a bare name).
fn folder_of(dest: &Path) -> &Path {
    dest.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// What to do when the chosen name is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Collision {
    /// Fail (an explicit `-o FILE`).
    Fail,
    /// Add `-2`, `-3`, ... before the extension (generated names).
    Number,
}

/// Checks, before any work, that `dest` can be an explicitly named new
/// file: its folder exists (a mistyped folder is not created) and the name
/// is free. The rename at the end still refuses to overwrite, in case the
/// name is taken meanwhile.
pub fn check_new_file(dest: &Path) -> Result<(), SaveError> {
    check_folder(folder_of(dest))?;
    if dest.symlink_metadata().is_ok() {
        return Err(SaveError::Exists(dest.to_path_buf()));
    }
    Ok(())
}

/// Checks that `dir`, named by the user, is an existing folder.
pub fn check_folder(dir: &Path) -> Result<(), SaveError> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => Err(SaveError::Folder {
            dir: dir.to_path_buf(),
            reason: "it is not a folder".into(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(SaveError::NoFolder(dir.to_path_buf()))
        }
        Err(e) => Err(SaveError::Folder {
            dir: dir.to_path_buf(),
            reason: e.to_string(),
        }),
    }
}

/// How much of a message is gathered before it goes to the file.
const WRITE_BUF: usize = 1024 * 1024;

/// A file being written: bytes go to a hidden temporary file beside the
/// destination and are hashed on the way.
pub struct PendingFile {
    temp: Option<tempfile::NamedTempFile>,
    /// On the list of files a signal or panic removes.
    _listed: crate::cleanup::Registered,
    /// The first write error, kept whole (the copy loop reports only its
    /// text) to tell the user what it means.
    write_failed: Option<io::Error>,
    /// Buffered: each write to a `tokio::fs::File` is a trip to a blocking
    /// thread, and a RETR hands over pieces of a few KiB.
    file: BufWriter<tokio::fs::File>,
    hasher: Sha256,
    size: u64,
    dest: PathBuf,
    collision: Collision,
}

impl PendingFile {
    /// Starts a save to `dest`. For a generated name (`Collision::Number`)
    /// a missing folder is created; an explicit name (`Collision::Fail`)
    /// needs its folder to exist already.
    pub fn create(dest: &Path, collision: Collision) -> Result<PendingFile, SaveError> {
        let dir = folder_of(dest);
        let folder_err = |e: io::Error| match DiskFault::of(&e, dir) {
            Some(fault) => SaveError::Disk {
                dir: dir.to_path_buf(),
                fault,
            },
            None => SaveError::Folder {
                dir: dir.to_path_buf(),
                reason: e.to_string(),
            },
        };
        if collision == Collision::Fail {
            check_new_file(dest)?;
        } else {
            std::fs::create_dir_all(dir).map_err(folder_err)?;
        }
        let temp = tempfile::Builder::new()
            .prefix(".popdoc-")
            .suffix(".part")
            .tempfile_in(dir)
            .map_err(folder_err)?;
        let file = temp.as_file().try_clone().map_err(folder_err)?;
        Ok(PendingFile {
            _listed: crate::cleanup::file(temp.path()),
            write_failed: None,
            temp: Some(temp),
            file: BufWriter::with_capacity(WRITE_BUF, tokio::fs::File::from_std(file)),
            hasher: Sha256::new(),
            size: 0,
            dest: dest.to_path_buf(),
            collision,
        })
    }

    fn io_err(&self, e: io::Error) -> SaveError {
        write_error(&self.dest, e)
    }

    /// What the first failed write means for the user, if one failed.
    pub fn write_failure(&mut self) -> Option<SaveError> {
        let e = self.write_failed.take()?;
        Some(self.io_err(e))
    }

    /// Flushes, fsyncs, verifies by reading back, and moves the file into
    /// place. Returns where it went (which may carry a `-2` suffix).
    pub async fn commit(mut self) -> Result<Saved, SaveError> {
        use tokio::io::AsyncWriteExt;
        self.file.flush().await.map_err(|e| self.io_err(e))?;
        self.file
            .get_ref()
            .sync_all()
            .await
            .map_err(|e| self.io_err(e))?;
        let expected = hex(&std::mem::take(&mut self.hasher).finalize());
        let temp = self.temp.take().expect("commit once");
        let size = self.size;
        let dest = self.dest.clone();
        let collision = self.collision;
        tokio::task::spawn_blocking(move || finish(temp, dest, collision, size, expected))
            .await
            .map_err(|e| SaveError::Io {
                path: self.dest.clone(),
                reason: e.to_string(),
            })?
    }
}

fn finish(
    temp: tempfile::NamedTempFile,
    dest: PathBuf,
    collision: Collision,
    size: u64,
    expected: String,
) -> Result<Saved, SaveError> {
    let io_err = |e: io::Error| write_error(&dest, e);
    // Read back what the disk holds and compare.
    let mut f = std::fs::File::open(temp.path()).map_err(io_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut read = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(io_err)?;
        if n == 0 {
            break;
        }
        read += n as u64;
        hasher.update(&buf[..n]);
    }
    if read != size || hex(&hasher.finalize()) != expected {
        return Err(SaveError::Verify(dest));
    }
    let mut candidate = dest.clone();
    let mut temp = temp;
    for n in 2.. {
        match temp.persist_noclobber(&candidate) {
            Ok(_) => break,
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => {
                if collision == Collision::Fail || n > 999 {
                    return Err(SaveError::Exists(candidate));
                }
                temp = e.file;
                candidate = numbered(&dest, n);
            }
            Err(e) => return Err(io_err(e.error)),
        }
    }
    if let Some(dir) = candidate.parent().filter(|p| !p.as_os_str().is_empty()) {
        // Make the rename itself durable.
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(Saved {
        path: candidate,
        size,
        sha256: expected,
    })
}

fn numbered(dest: &Path, n: u32) -> PathBuf {
    let stem = dest
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match dest.extension() {
        Some(ext) => format!("{stem}-{n}.{}", ext.to_string_lossy()),
        None => format!("{stem}-{n}"),
    };
    dest.with_file_name(name)
}

impl AsyncWrite for PendingFile {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        match Pin::new(&mut this.file).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                this.hasher.update(&buf[..n]);
                this.size += n as u64;
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => {
                let copy = io::Error::new(e.kind(), e.to_string());
                this.write_failed.get_or_insert(e);
                Poll::Ready(Err(copy))
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.file).poll_shutdown(cx)
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A file name for a message: `2026-11-20_Ann-Smith_Quarterly-report_UIDL.eml`,
/// safe on every common file system (no separators, no control or reserved
/// characters, at most 10 + 40 + 60 + 100 + 7 = 217 bytes, under the usual
/// limit of 255).
pub fn file_name(summary: Option<&Summary>, uidl: Option<&str>, number: u32) -> String {
    let mut parts = Vec::new();
    if let Some(s) = summary {
        if let Some(d) = s.date.and_then(crate::util::rfc3339) {
            parts.push(d[..10].to_string());
        }
        let from = s.from_address.as_deref().unwrap_or(&s.from);
        let from = if !s.from.is_empty() && s.from != from {
            &s.from
        } else {
            from
        };
        parts.push(sanitize(from, 40));
        parts.push(sanitize(&s.subject, 60));
    }
    parts.push(match uidl {
        // The whole UIDL (RFC 1939 allows up to 70 characters, all ASCII),
        // so that the file can be matched with `list` and `save --uidl`. The
        // bound only keeps a server that breaks the rule within the name
        // length limit.
        Some(u) => sanitize(u, 100),
        None => format!("msg{number}"),
    });
    let name: Vec<String> = parts.into_iter().filter(|p| !p.is_empty()).collect();
    format!("{}.eml", name.join("_"))
}

/// Keeps letters, digits and `.+@`; every other run (dashes included)
/// becomes one `-`.
fn sanitize(s: &str, max_bytes: usize) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in s.chars() {
        let keep = c.is_alphanumeric() || matches!(c, '.' | '+' | '@');
        if keep {
            if out.len() + c.len_utf8() > max_bytes {
                break;
            }
            out.push(c);
            dash = false;
        } else if !dash && !out.is_empty() {
            out.push('-');
            dash = true;
        }
    }
    let trimmed = out.trim_matches(|c| c == '-' || c == '.');
    trimmed.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test]
    async fn save_hashes_verifies_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("sub/m.eml");
        // An explicit name in a missing folder: refused, nothing created.
        assert!(matches!(
            PendingFile::create(&dest, Collision::Fail),
            Err(SaveError::NoFolder(d)) if d == dir.path().join("sub")
        ));
        assert!(!dir.path().join("sub").exists());
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let mut f = PendingFile::create(&dest, Collision::Fail).unwrap();
        f.write_all(b"Subject: x\r\n\r\nbody\r\n").await.unwrap();
        let saved = f.commit().await.unwrap();
        assert_eq!(saved.path, dest);
        assert_eq!(saved.size, 20);
        assert_eq!(
            saved.sha256,
            hex(&Sha256::digest(b"Subject: x\r\n\r\nbody\r\n"))
        );
        assert_eq!(std::fs::read(&dest).unwrap(), b"Subject: x\r\n\r\nbody\r\n");

        // Explicit name taken: refused before anything is written.
        assert!(matches!(
            PendingFile::create(&dest, Collision::Fail),
            Err(SaveError::Exists(_))
        ));
        // Generated name taken: numbered.
        let mut f = PendingFile::create(&dest, Collision::Number).unwrap();
        f.write_all(b"other").await.unwrap();
        let saved = f.commit().await.unwrap();
        assert_eq!(saved.path, dir.path().join("sub/m-2.eml"));
        assert_eq!(
            std::fs::read(&dest).unwrap(),
            b"Subject: x\r\n\r\nbody\r\n",
            "first file untouched"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path().join("sub"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "no temporary files left: {names:?}");
    }

    #[tokio::test]
    async fn dropped_save_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("m.eml");
        let mut f = PendingFile::create(&dest, Collision::Fail).unwrap();
        f.write_all(&[b'x'; 100_000]).await.unwrap();
        drop(f);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[tokio::test]
    async fn a_folder_removed_before_the_rename_is_named() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("d");
        let mut f = PendingFile::create(&dir.join("m.eml"), Collision::Number).unwrap();
        f.write_all(b"Subject: x\r\n\r\n").await.unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let e = f.commit().await.unwrap_err();
        assert!(
            matches!(&e, SaveError::Disk { dir: d, fault: DiskFault::FolderGone } if *d == dir),
            "{e:?}"
        );
        let text = e.to_string();
        assert!(
            text.contains("was removed while") && text.contains("then save again"),
            "{text}"
        );
        assert!(!dir.exists(), "not made again");
    }

    #[test]
    fn names_are_safe() {
        let s = Summary {
            from: "Ann / \"Boss\" Smith".into(),
            from_address: Some("ann@example.org".into()),
            subject: "Re: Q3 report: final?! ../../etc/passwd \u{1F600}".into(),
            date: Some(1_795_162_500),
            ..Default::default()
        };
        let n = file_name(Some(&s), Some("0000000a/5f:x"), 3);
        assert_eq!(
            n,
            "2026-11-20_Ann-Boss-Smith_Re-Q3-report-final-..-..-etc-passwd_0000000a-5f-x.eml"
        );
        assert!(!n.contains('/') && !n.contains(':'));
        assert_eq!(file_name(None, None, 7), "msg7.eml");
        let long = Summary {
            subject: "é".repeat(300),
            ..Default::default()
        };
        assert!(file_name(Some(&long), None, 1).len() < 150);
        // GNU Mailutils makes 67-character UIDLs: kept whole, even with
        // long headers, and the name stays within 255 bytes.
        let uidl = "67ea8182e3dc7a5ac80948a3c1d2e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f";
        let long = Summary {
            from: "x".repeat(300),
            subject: "é".repeat(300),
            date: Some(1_795_162_500),
            ..Default::default()
        };
        let n = file_name(Some(&long), Some(uidl), 1);
        assert!(n.ends_with(&format!("_{uidl}.eml")), "{n}");
        assert!(n.len() <= 255, "{}", n.len());
        assert!(file_name(None, Some(&"u".repeat(500)), 1).len() <= 255);
    }
}

/// Why [`retr_to_file`] saved nothing.
#[derive(Debug)]
pub enum RetrFailed {
    /// The file could not be started, written or finished. After a failed
    /// write the RETR is still arriving: `conn.broken()` says so.
    File(SaveError),
    /// The RETR failed (or was cancelled).
    Retr(crate::client::Error),
}

/// The save sequence of `popdoc save` and the TUI: `RETR number` streamed
/// into a pending file beside `dest`, then verified and renamed into place.
/// Returns the file and how long the RETR took. On failure or cancel the
/// pending file is removed.
pub async fn retr_to_file(
    conn: &mut crate::client::Connection,
    number: u32,
    dest: &Path,
    collision: Collision,
    progress: &mut (dyn FnMut(u64) + Send),
    cancel: Option<&tokio_util::sync::CancellationToken>,
) -> Result<(Saved, std::time::Duration), RetrFailed> {
    let mut file = PendingFile::create(dest, collision).map_err(RetrFailed::File)?;
    let started = std::time::Instant::now();
    if let Err(e) = conn.retr_to(number, &mut file, progress, cancel).await {
        // The disk, not the server, failed: say what it means. (The RETR
        // is still coming, so the connection is unusable: `conn.broken()`.)
        let disk = file.write_failure();
        return Err(match disk {
            Some(disk) if matches!(e, crate::client::Error::Write { .. }) => RetrFailed::File(disk),
            _ => RetrFailed::Retr(e),
        });
    }
    let elapsed = started.elapsed();
    let saved = file.commit().await.map_err(RetrFailed::File)?;
    Ok((saved, elapsed))
}
