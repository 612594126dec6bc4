//! The demo server's maildrop: messages in a directory (one file each) or in memory.
//!
//! A [`Mailbox`] is a cheap handle shared by all connections. Only one session
//! may hold the maildrop at a time ([`Mailbox::try_lock`], RFC 1939 section 8
//! "exclusive-access lock"); deletions happen only through [`Maildrop::commit`],
//! which the server calls when `QUIT` is accepted. Message bodies are read in
//! chunks, never whole. This module must not know about the protocol.

use std::collections::HashSet;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use sha2::{Digest, Sha256};
use tokio::io::AsyncReadExt;

/// Longest UIDL the server hands out (RFC 1939 section 7 allows 70).
const MAX_UIDL: usize = 70;

/// A shared set of messages. Clone it freely: all clones see the same maildrop.
#[derive(Clone, Debug)]
pub struct Mailbox {
    inner: Arc<Mutex<MailboxState>>,
}

#[derive(Debug)]
struct MailboxState {
    messages: Vec<Arc<Message>>,
    locked: bool,
}

/// One stored message.
#[derive(Debug)]
pub(crate) struct Message {
    /// Unique within the mailbox, used to remove the entry on commit.
    key: usize,
    pub(crate) uidl: String,
    /// Exact size in octets of the stored bytes (what `LIST` reports).
    pub(crate) size: u64,
    body: StoredBody,
}

#[derive(Debug)]
enum StoredBody {
    File(PathBuf),
    Memory(Arc<[u8]>),
}

impl Mailbox {
    /// Every regular, non-hidden file in `dir` is a message; they are numbered
    /// in the order of their names. Sizes are taken now; contents are read only
    /// when a message is sent.
    pub fn from_dir(dir: impl AsRef<Path>) -> io::Result<Mailbox> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir.as_ref())? {
            let entry = entry?;
            let name = entry.file_name();
            if name.as_encoded_bytes().starts_with(b".") {
                continue;
            }
            let meta = entry.metadata()?;
            if meta.is_file() {
                files.push((name, entry.path(), meta.len()));
            }
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        let mut seen = HashSet::new();
        let messages = files
            .into_iter()
            .enumerate()
            .map(|(key, (_, path, size))| {
                let stem = path.file_stem().unwrap_or_default().as_encoded_bytes();
                let uidl = unique(uidl_from_name(stem), &mut seen);
                Arc::new(Message {
                    key,
                    uidl,
                    size,
                    body: StoredBody::File(path),
                })
            })
            .collect();
        Ok(Mailbox::new(messages))
    }

    /// Messages held in memory, numbered in the given order. UIDLs are a hash of
    /// the content plus the position, so they are stable and unique.
    pub fn from_messages(messages: Vec<Vec<u8>>) -> Mailbox {
        let messages = messages
            .into_iter()
            .enumerate()
            .map(|(key, bytes)| {
                let digest = Sha256::digest(&bytes);
                let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
                Arc::new(Message {
                    key,
                    uidl: format!("{hex}-{}", key + 1),
                    size: bytes.len() as u64,
                    body: StoredBody::Memory(bytes.into()),
                })
            })
            .collect();
        Mailbox::new(messages)
    }

    fn new(messages: Vec<Arc<Message>>) -> Mailbox {
        Mailbox {
            inner: Arc::new(Mutex::new(MailboxState {
                messages,
                locked: false,
            })),
        }
    }

    fn state(&self) -> MutexGuard<'_, MailboxState> {
        // A poisoned lock only means a panic elsewhere; the data is still whole.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Number of messages currently stored (deletions are counted once committed).
    pub fn len(&self) -> usize {
        self.state().messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Paths of the files still in the mailbox (empty for an in-memory mailbox).
    pub fn files(&self) -> Vec<PathBuf> {
        self.state()
            .messages
            .iter()
            .filter_map(|m| match &m.body {
                StoredBody::File(p) => Some(p.clone()),
                StoredBody::Memory(_) => None,
            })
            .collect()
    }

    /// Contents of the in-memory messages still in the mailbox (empty for a directory).
    pub fn messages(&self) -> Vec<Vec<u8>> {
        self.state()
            .messages
            .iter()
            .filter_map(|m| match &m.body {
                StoredBody::Memory(b) => Some(b.to_vec()),
                StoredBody::File(_) => None,
            })
            .collect()
    }

    /// UIDLs of the messages still in the mailbox, in order.
    pub fn uidls(&self) -> Vec<String> {
        self.state()
            .messages
            .iter()
            .map(|m| m.uidl.clone())
            .collect()
    }

    /// Whether a session holds the maildrop now.
    pub fn is_locked(&self) -> bool {
        self.state().locked
    }

    /// Takes the exclusive lock and a snapshot of the messages, or `None` when
    /// another session holds it. The lock is released when the guard is dropped.
    pub(crate) fn try_lock(&self) -> Option<Maildrop> {
        let mut state = self.state();
        if state.locked {
            return None;
        }
        state.locked = true;
        let messages = state.messages.clone();
        drop(state);
        Some(Maildrop {
            mailbox: self.clone(),
            messages,
        })
    }
}

/// Keeps the UIDL unique within the mailbox by adding `-2`, `-3`, ... when needed.
fn unique(base: String, seen: &mut HashSet<String>) -> String {
    let mut candidate = base.clone();
    let mut n = 2usize;
    while seen.contains(&candidate) {
        let suffix = format!("-{n}");
        let keep = base.len().min(MAX_UIDL - suffix.len());
        candidate = format!("{}{suffix}", &base[..keep]);
        n += 1;
    }
    seen.insert(candidate.clone());
    candidate
}

/// RFC 1939 section 7: a unique-id is 1 to 70 characters in 0x21 to 0x7E.
fn uidl_from_name(stem: &[u8]) -> String {
    let s: String = stem
        .iter()
        .filter(|b| (0x21..=0x7e).contains(*b))
        .take(MAX_UIDL)
        .map(|&b| b as char)
        .collect();
    if s.is_empty() { "msg".to_string() } else { s }
}

/// The maildrop as one session sees it: numbering is fixed at login.
#[derive(Debug)]
pub(crate) struct Maildrop {
    mailbox: Mailbox,
    pub(crate) messages: Vec<Arc<Message>>,
}

impl Maildrop {
    /// RFC 1939 section 6 (UPDATE state): removes the messages at the given
    /// indexes. Returns how many were removed, and the first error if some
    /// could not be. The lock is released afterwards.
    pub(crate) async fn commit(self, indexes: &[usize]) -> (usize, Option<io::Error>) {
        let mut removed = HashSet::new();
        let mut error = None;
        for &i in indexes {
            let Some(msg) = self.messages.get(i) else {
                continue;
            };
            let result = match &msg.body {
                StoredBody::File(path) => tokio::fs::remove_file(path).await,
                StoredBody::Memory(_) => Ok(()),
            };
            match result {
                Ok(()) => {
                    removed.insert(msg.key);
                }
                Err(e) => {
                    tracing::warn!(uidl = %msg.uidl, error = %e, "could not remove message");
                    error.get_or_insert(e);
                }
            }
        }
        self.mailbox
            .state()
            .messages
            .retain(|m| !removed.contains(&m.key));
        (removed.len(), error)
    }
}

impl Maildrop {
    /// Stores `bytes` as the new content of the message at index `i` (same
    /// UIDL, new size), for sessions that start later; this session's
    /// numbering and sizes stay.
    pub(crate) async fn replace(&self, i: usize, bytes: Vec<u8>) -> io::Result<()> {
        let Some(old) = self.messages.get(i) else {
            return Ok(());
        };
        let body = match &old.body {
            StoredBody::File(path) => {
                tokio::fs::write(path, &bytes).await?;
                StoredBody::File(path.clone())
            }
            StoredBody::Memory(_) => StoredBody::Memory(bytes.clone().into()),
        };
        let new = Arc::new(Message {
            key: old.key,
            uidl: old.uidl.clone(),
            size: bytes.len() as u64,
            body,
        });
        let mut state = self.mailbox.state();
        if let Some(slot) = state.messages.iter_mut().find(|m| m.key == old.key) {
            *slot = new;
        }
        Ok(())
    }
}

/// What Courier sends instead of a message with 8-bit content to a client
/// that did not send `UTF8`.
const UNICODE_PLACEHOLDER: &[u8] = b"From: Mail Delivery Subsystem <MAILER-DAEMON@localhost>\r\n\
Subject: Cannot display Unicode content\r\n\
MIME-Version: 1.0\r\n\
Content-Type: text/plain; charset=us-ascii\r\n\
\r\n\
This message contains Unicode content that cannot be displayed by your\r\n\
mail client. Use a mail client that supports UTF8 (RFC 6856).\r\n";

impl Maildrop {
    /// Courier's quirk (`Faults::utf8_placeholder`): every message with
    /// 8-bit bytes is replaced, for this session, by a placeholder with the
    /// same UIDL (deleting it deletes the real message).
    pub(crate) async fn hide_8bit(&mut self) {
        for m in &mut self.messages {
            if m.has_8bit().await {
                *m = Arc::new(Message {
                    key: m.key,
                    uidl: m.uidl.clone(),
                    size: UNICODE_PLACEHOLDER.len() as u64,
                    body: StoredBody::Memory(UNICODE_PLACEHOLDER.into()),
                });
            }
        }
    }
}

impl Message {
    async fn has_8bit(&self) -> bool {
        let Ok(mut r) = self.open().await else {
            return false;
        };
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n) = r.read(&mut buf).await {
            if n == 0 {
                return false;
            }
            if buf[..n].iter().any(|b| *b >= 0x80) {
                return true;
            }
        }
        false
    }
}

impl Drop for Maildrop {
    fn drop(&mut self) {
        self.mailbox.state().locked = false;
    }
}

impl Message {
    /// Opens the stored bytes for reading in chunks.
    pub(crate) async fn open(&self) -> io::Result<BodyReader> {
        Ok(match &self.body {
            StoredBody::File(path) => BodyReader::File(tokio::fs::File::open(path).await?),
            StoredBody::Memory(bytes) => BodyReader::Memory(bytes.clone(), 0),
        })
    }
}

pub(crate) enum BodyReader {
    File(tokio::fs::File),
    Memory(Arc<[u8]>, usize),
}

impl BodyReader {
    /// Reads the next chunk into `buf`; 0 means the end.
    pub(crate) async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            BodyReader::File(f) => f.read(buf).await,
            BodyReader::Memory(bytes, pos) => {
                let n = buf.len().min(bytes.len() - *pos);
                buf[..n].copy_from_slice(&bytes[*pos..*pos + n]);
                *pos += n;
                Ok(n)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uidl_from_file_names_is_printable_short_and_unique() {
        assert_eq!(uidl_from_name(b"01 hello\xc3\xa9\tx"), "01hellox");
        assert_eq!(uidl_from_name(b"\xc3\xa9"), "msg");
        assert_eq!(uidl_from_name(&[b'a'; 100]).len(), 70);
        let mut seen = HashSet::new();
        let long = "b".repeat(70);
        assert_eq!(unique(long.clone(), &mut seen), long);
        let second = unique(long.clone(), &mut seen);
        assert_eq!(second.len(), 70);
        assert!(second.ends_with("-2"));
        assert_eq!(unique("x".into(), &mut seen), "x");
        assert_eq!(unique("x".into(), &mut seen), "x-2");
    }

    #[test]
    fn dir_mailbox_sorts_skips_hidden_and_commits_by_removing_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("b.eml"), b"second").unwrap();
        std::fs::write(dir.path().join("a.eml"), b"first!").unwrap();
        std::fs::write(dir.path().join(".hidden"), b"x").unwrap();
        std::fs::create_dir(dir.path().join("sub")).unwrap();
        let mb = Mailbox::from_dir(dir.path()).unwrap();
        assert_eq!(mb.uidls(), ["a", "b"]);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let md = mb.try_lock().unwrap();
            assert!(mb.try_lock().is_none(), "second lock must fail");
            let mut r = md.messages[1].open().await.unwrap();
            let mut buf = [0u8; 3];
            assert_eq!(r.read(&mut buf).await.unwrap(), 3);
            assert_eq!(&buf, b"sec");
            let (n, err) = md.commit(&[0]).await;
            assert_eq!(n, 1);
            assert!(err.is_none());
        });
        assert!(!mb.is_locked());
        assert!(!dir.path().join("a.eml").exists());
        assert_eq!(mb.files(), [dir.path().join("b.eml")]);
    }

    #[test]
    fn dropping_the_maildrop_releases_the_lock_and_deletes_nothing() {
        let mb = Mailbox::from_messages(vec![b"one".to_vec(), b"one".to_vec()]);
        let uidls = mb.uidls();
        assert_ne!(uidls[0], uidls[1], "same content still needs unique UIDLs");
        assert_eq!(
            Mailbox::from_messages(vec![b"one".to_vec()]).uidls()[0],
            uidls[0]
        );
        let guard = mb.try_lock().unwrap();
        assert!(mb.is_locked());
        drop(guard);
        assert!(!mb.is_locked());
        assert_eq!(mb.len(), 2);
    }
}
