//! A private Dovecot POP3 server for one test: generated config, certificates
//! from a private CA, users in passwd-files and Maildirs, all in a fresh
//! temporary directory; the server is killed and the directory removed on drop.
//!
//! It must not touch the system's Dovecot (no systemd, nothing under
//! /etc/dovecot or /var/run/dovecot), listen anywhere but 127.0.0.1, or let two
//! instances share a directory or a port.
//!
//! Dovecot facts this relies on (2.3):
//! - Mail processes never run as uid 0: as root, the Maildirs belong to the
//!   `mail` user and the mail processes run as it.
//! - New Maildir files get UIDs, and so POP3 message numbers, in the order of
//!   the seconds part of their file name (compared as a number), then the
//!   `M` microseconds, then the rest; this module names files so that the
//!   order is the order of storing.
//! - A passwd-file is re-read when its mtime or size changes, but checked at
//!   most once a second; so each user gets a file of its own, read at its
//!   first login, and users can be added while the server runs.
//! - Connections from 127.0.0.1 to 127.0.0.1 count as secured: USER/PASS works
//!   there without TLS even with `disable_plaintext_auth = yes`.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once, OnceLock};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::CertificateDer;

use super::common::{
    self, certificates, client_config, first_line_plain, first_line_tls, free_ports, hex, kill_pid,
    owner_gone, proc_cmdlines, temp_parent, write_owner,
};

mod setup;
use setup::*;

/// `1` turns "Dovecot could not start" from a skip into a test failure (CI).
pub const REQUIRE_ENV: &str = "POPDOC_REQUIRE_DOVECOT";
/// Path of the `dovecot` binary, overriding the search of PATH and /usr/sbin.
pub const BIN_ENV: &str = "POPDOC_DOVECOT_BIN";

const DIR_PREFIX: &str = "popdoc-dovecot-";
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const START_ATTEMPTS: usize = 5;
/// First "seconds" value of generated Maildir file names (2001-09-09).
const NAME_BASE_SECS: u64 = 1_000_000_000;

static REAP_ORPHANS: Once = Once::new();
static INSTANCE_SEQ: AtomicU64 = AtomicU64::new(0);

/// A running private Dovecot; killed, and its directory removed, on drop.
pub struct Dovecot {
    child: Child,
    instance: String,
    plain_port: u16,
    pop3s_port: u16,
    ca_file: PathBuf,
    ca_der: CertificateDer<'static>,
    fingerprint: String,
    accounts: Accounts,
    passwd_dir: PathBuf,
    // Last: removed after `drop` has killed the processes that write into it.
    dir: TempDir,
}

/// A POP3 account on a running `Dovecot`, with its Maildir.
pub struct User {
    pub name: String,
    pub password: String,
    maildir: PathBuf,
    /// Owner to give every file and directory (running as root), else None.
    chown_to: Option<(u32, u32)>,
    /// Counter behind the seconds part of the next Maildir file name.
    next_name: AtomicU64,
}

/// Who runs what: as root, Dovecot's own users plus `mail` for the Maildirs;
/// otherwise everything runs as the current user.
#[derive(Clone, Debug)]
struct Accounts {
    root: bool,
    mail_uid: u32,
    mail_gid: u32,
    internal_user: String,
    internal_group: String,
    login_user: String,
}

impl Dovecot {
    /// Starts a private instance, or returns None (after one line on stderr per
    /// test process) when Dovecot is unavailable. With POPDOC_REQUIRE_DOVECOT=1
    /// it panics instead of skipping.
    pub fn start() -> Option<Dovecot> {
        REAP_ORPHANS.call_once(reap_orphans);
        match try_start() {
            Ok(d) => Some(d),
            Err(why) => {
                super::skip::skip(REQUIRE_ENV, "real-server (Dovecot) tests", &why);
                None
            }
        }
    }

    /// Port with a plaintext greeting and STLS.
    pub fn plain_port(&self) -> u16 {
        self.plain_port
    }

    /// Port with implicit TLS (POP3S).
    pub fn pop3s_port(&self) -> u16 {
        self.pop3s_port
    }

    /// PEM file of the private CA that signed the server certificate.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// DER of the private CA certificate.
    pub fn ca_der(&self) -> &CertificateDer<'static> {
        &self.ca_der
    }

    /// SHA-256 of the server (leaf) certificate's DER: lowercase hex, no colons.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    /// A rustls client config that trusts only this instance's CA (for
    /// `tokio_rustls::TlsConnector::from`); the certificate is for `localhost`
    /// and `127.0.0.1`.
    pub fn tls_client_config(&self) -> Arc<rustls::ClientConfig> {
        client_config(&self.ca_der)
    }

    /// Adds a user that can log in at once; creates ~/Maildir with cur, new, tmp.
    /// Names are letters, digits, `.`, `_`, `-`; passwords have no `:` or line breaks.
    pub fn add_user(&self, name: &str, password: &str) -> User {
        assert!(
            !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)),
            "unsupported user name {name:?}"
        );
        assert!(
            !password.contains([':', '\r', '\n']),
            "unsupported password for {name}"
        );
        let home = self.dir.path().join("home").join(name);
        let maildir = home.join("Maildir");
        let chown_to = self
            .accounts
            .root
            .then_some((self.accounts.mail_uid, self.accounts.mail_gid));
        for d in [
            home.clone(),
            maildir.clone(),
            maildir.join("cur"),
            maildir.join("new"),
            maildir.join("tmp"),
        ] {
            fs::create_dir(&d).unwrap_or_else(|e| panic!("create {}: {e}", d.display()));
            set_owner(&d, chown_to);
        }

        // One passwd-file per user: Dovecot stats a passwd-file at most once
        // a second, so a user added to a shared file right after a login would
        // stay unknown for up to a second. A new file is read at first use.
        // Fields: user:password:uid:gid:gecos:home:shell.
        let path = self.passwd_dir.join(name);
        assert!(!path.exists(), "user {name} already exists");
        let line = format!(
            "{name}:{{PLAIN}}{password}:{}:{}::{}::\n",
            self.accounts.mail_uid,
            self.accounts.mail_gid,
            home.display()
        );
        write_world_readable(&path, line.as_bytes());

        User {
            name: name.to_owned(),
            password: password.to_owned(),
            maildir,
            chown_to,
            next_name: AtomicU64::new(0),
        }
    }

    /// Dovecot's log so far, plus anything it wrote to stderr.
    pub fn log(&self) -> String {
        read_log(self.dir.path())
    }

    /// Root of this instance's temporary directory.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// PID of the Dovecot master process.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `instance_name` of this Dovecot: its processes are titled
    /// `dovecot-<instance>/<service>`.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// PIDs of this instance's processes still alive (master and services).
    /// Empty where /proc is not available.
    pub fn live_pids(&self) -> Vec<u32> {
        let mut pids = instance_pids(&self.instance);
        if proc_alive(self.child.id()) {
            pids.push(self.child.id());
        }
        pids
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        // SIGKILL: a graceful SIGTERM shutdown takes Dovecot 1.5-2.5 s, and
        // nothing of a test instance needs saving. The services notice their
        // master's death and exit within a few tens of milliseconds.
        let _ = self.child.kill();
        let _ = self.child.wait();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left = instance_pids(&self.instance);
            if left.is_empty() {
                break;
            }
            if Instant::now() > deadline {
                for pid in left {
                    kill_pid(pid);
                }
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl User {
    /// Replaces the mailbox: afterwards POP3 message number i (1-based) is
    /// `messages[i-1]`, stored byte for byte. Dovecot's UID list and indexes
    /// are removed (the UIDVALIDITY counter is kept, so the new messages get
    /// new UIDLs). Do not call while a POP3 session of this user is open.
    pub fn store<M: AsRef<[u8]>>(&self, messages: &[M]) {
        for sub in ["cur", "new", "tmp"] {
            for entry in read_dir_sorted(&self.maildir.join(sub)) {
                remove_file(&entry);
            }
        }
        for entry in read_dir_sorted(&self.maildir) {
            let name = entry.file_name().unwrap_or_default().to_string_lossy();
            let is_index = name == "dovecot-uidlist"
                || name == "dovecot-keywords"
                || name.starts_with("dovecot.index")
                || name.starts_with("dovecot.list.index");
            if is_index && entry.is_file() {
                remove_file(&entry);
            }
        }
        for m in messages {
            self.store_with(|w| w.write_all(m.as_ref()));
        }
    }

    /// Stores one message written by `write` (streamed to disk, never held in
    /// memory) as the next message number; returns its path in `new/`
    /// (Dovecot moves it to `cur/` once a session has seen it).
    pub fn store_with(&self, write: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> PathBuf {
        let n = self.next_name.fetch_add(1, Ordering::Relaxed);
        let name = format!(
            "{}.M{}P{}.popdoc",
            NAME_BASE_SECS + n,
            n % 1_000_000,
            std::process::id()
        );
        let tmp = self.maildir.join("tmp").join(&name);
        let file =
            fs::File::create(&tmp).unwrap_or_else(|e| panic!("create {}: {e}", tmp.display()));
        let mut w = BufWriter::with_capacity(64 * 1024, file);
        write(&mut w).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
        w.flush()
            .unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
        drop(w);
        set_owner(&tmp, self.chown_to);
        let dest = self.maildir.join("new").join(&name);
        fs::rename(&tmp, &dest).unwrap_or_else(|e| panic!("rename to {}: {e}", dest.display()));
        dest
    }

    /// Message files now in cur/ and new/, in POP3 message-number order.
    pub fn message_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = ["cur", "new"]
            .iter()
            .flat_map(|sub| read_dir_sorted(&self.maildir.join(sub)))
            .filter(|p| p.is_file())
            .collect();
        files.sort_by_cached_key(|p| maildir_sort_key(p));
        files
    }
}

/// Dovecot's order for new Maildir files: seconds, then `M` microseconds
/// (both as numbers), then the name.
fn maildir_sort_key(path: &Path) -> (u64, u64, String) {
    let name = path
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let number = |s: &str| -> u64 {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().unwrap_or(0)
    };
    let secs = number(&name);
    let usecs = name
        .split_once('.')
        .and_then(|(_, rest)| rest.strip_prefix('M'))
        .map_or(0, number);
    (secs, usecs, name)
}

fn try_start() -> Result<Dovecot, String> {
    let bin = find_binary()?;
    let accounts = accounts()?;
    let seq = INSTANCE_SEQ.fetch_add(1, Ordering::Relaxed);
    let dir = make_temp_dir()?;
    let token = format!("{}x{seq}", std::process::id());
    let instance = format!("popdoc-{token}");
    let root = dir.path().to_path_buf();

    let (ca_pem, ca_der, leaf_pem, leaf_der, key_pem) =
        certificates("popdoc test CA", "localhost", None)?;
    let ca_der = CertificateDer::from(ca_der);
    let io_err = |what: &str, e: io::Error| format!("{what}: {e}");
    fs::write(root.join("ca.pem"), ca_pem).map_err(|e| io_err("write ca.pem", e))?;
    fs::write(root.join("cert.pem"), leaf_pem).map_err(|e| io_err("write cert.pem", e))?;
    fs::write(root.join("key.pem"), key_pem).map_err(|e| io_err("write key.pem", e))?;
    fs::set_permissions(root.join("key.pem"), fs::Permissions::from_mode(0o600))
        .map_err(|e| io_err("chmod key.pem", e))?;
    for sub in ["run", "state", "home"] {
        fs::create_dir(root.join(sub)).map_err(|e| io_err(sub, e))?;
    }
    // Owner of this test process and when it started: `reap_orphans` kills
    // instances whose owner is gone.
    write_owner(&root).map_err(|e| io_err("write owner", e))?;
    let passwd_dir = root.join("passwd.d");
    fs::create_dir(&passwd_dir).map_err(|e| io_err("passwd.d", e))?;

    let mut last_error = String::new();
    for _attempt in 0..START_ATTEMPTS {
        let (plain_port, pop3s_port) = free_ports().map_err(|e| io_err("pick free ports", e))?;
        let config = config_text(&root, &accounts, &token, plain_port, pop3s_port);
        let config_path = root.join("dovecot.conf");
        fs::write(&config_path, config).map_err(|e| io_err("write dovecot.conf", e))?;
        let _ = fs::remove_file(root.join("dovecot.log"));
        let stderr =
            fs::File::create(root.join("stderr.log")).map_err(|e| io_err("stderr.log", e))?;
        let mut child = Command::new(&bin)
            .arg("-F")
            .arg("-c")
            .arg(&config_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        // Dovecot stays in the test runner's process group, so a Ctrl-C
        // stops it too; `reap_orphans` covers a runner killed outright.
        match wait_ready(&mut child, &root, &ca_der, &token, plain_port, pop3s_port) {
            Ok(()) => {
                return Ok(Dovecot {
                    child,
                    instance,
                    plain_port,
                    pop3s_port,
                    ca_file: root.join("ca.pem"),
                    ca_der,
                    fingerprint: hex(&Sha256::digest(&leaf_der)),
                    accounts,
                    passwd_dir,
                    dir,
                });
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                wait_instance_gone(&instance);
                let log = read_log(&root);
                let last_line = log.lines().rev().find(|l| !l.starts_with("---"));
                last_error = format!(
                    "{e}{}\n--- Dovecot log ---\n{}",
                    last_line
                        .map(|l| format!("; last log line: {l}"))
                        .unwrap_or_default(),
                    tail(&log, 40)
                );
                // Another test took a port between our probe and Dovecot's bind: retry.
                if !log.contains("Address already in use") {
                    break;
                }
            }
        }
    }
    Err(last_error)
}
