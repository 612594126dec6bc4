//! A private GNU Mailutils `pop3d` (Debian `mailutils-pop3d`) for one test:
//! a generated config, a POP3S port with a certificate from a private CA,
//! users in a virtual-domain password file (log in as `NAME@popdoc.test`),
//! and an mbox `INBOX` per user, all in a fresh temporary directory; the
//! server is killed and the directory removed on drop.
//!
//! It must not touch the system's mail setup (no systemd, nothing under
//! /etc or /var/mail), listen anywhere but 127.0.0.1, or let two instances
//! share a directory or a port.
//!
//! Mailutils facts this relies on (3.15):
//! - `--config-file` replaces the site config; `mode daemon; foreground
//!   true;` keeps the master in the foreground, forking one child per session.
//! - `virtdomain` authorization reads `passwd-dir/DOMAIN` (passwd format,
//!   crypt(3) hashes; `generic` authentication compares them); the maildrop
//!   is `HOME/INBOX`. The session runs as the uid in that file: `mail`,
//!   which owns the homes.
//! - pop3d switches to the `mail` group at start-up and exits when it
//!   cannot, so it must start as root; for another user the tests skip.
//! - The first session that reads a message adds `X-UIDL` to what it sends
//!   (LIST does not count it); QUIT writes `X-UIDL`, `X-UID`, `Status` (and
//!   `X-IMAPbase` on the first message) into the mbox, so sizes change
//!   between sessions. A second session gets `-ERR [IN-USE]` (a dotlock).

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

use super::common::{
    self, certificates, client_config, first_line_tls, free_ports, kill_pid, owner_gone,
    proc_cmdlines, read_line, temp_parent, write_owner,
};

/// `1` turns "pop3d could not start" from a skip into a test failure (CI).
pub const REQUIRE_ENV: &str = "POPDOC_REQUIRE_MAILUTILS";
/// Path of the `pop3d` binary, overriding the search of PATH and /usr/sbin.
pub const BIN_ENV: &str = "POPDOC_MAILUTILS_BIN";
/// The virtual domain every user belongs to.
pub const DOMAIN: &str = "popdoc.test";

const DIR_PREFIX: &str = "popdoc-mailutils-";
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const START_ATTEMPTS: usize = 5;
/// The `From ` line that starts every stored message.
const FROM_LINE: &[u8] = b"From popdoc@example.invalid Thu Jan  1 00:00:00 2026\n";

static REAP_ORPHANS: Once = Once::new();

/// A running private pop3d; killed, and its directory removed, on drop.
pub struct Mailutils {
    child: Child,
    port: u16,
    ca_der: CertificateDer<'static>,
    /// Owner of the homes and mboxes (running as root), else None.
    chown_to: Option<(u32, u32)>,
    uid_gid: (u32, u32),
    // Last: removed after `drop` has killed the server.
    dir: TempDir,
}

/// A user of a running [`Mailutils`], with its mbox.
pub struct MuUser {
    pub name: String,
    pub password: String,
    mbox: PathBuf,
    chown_to: Option<(u32, u32)>,
}

impl Mailutils {
    /// Starts a private instance, or returns None after a one-line note (see
    /// `support::skip`) when pop3d is unavailable; with
    /// POPDOC_REQUIRE_MAILUTILS=1 it panics instead.
    pub fn start() -> Option<Mailutils> {
        REAP_ORPHANS.call_once(reap_orphans);
        match try_start() {
            Ok(m) => Some(m),
            Err(why) => {
                super::skip::skip(REQUIRE_ENV, "real-server (GNU Mailutils) tests", &why);
                None
            }
        }
    }

    /// Port with TLS from the first byte (POP3S).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// PEM file of the private CA that signed the server certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// What pop3d logged (its transcript included; passwords show as `***`).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.path().join("pop3d.log")).unwrap_or_default()
    }

    /// Adds a user (letters and digits) with an empty mbox; it can log in at once
    /// as `NAME@popdoc.test`.
    pub fn add_user(&self, name: &str, password: &str) -> MuUser {
        assert!(name.bytes().all(|b| b.is_ascii_alphanumeric()), "{name:?}");
        let out = Command::new("openssl")
            .args(["passwd", "-6", "-salt", "popdocsalt", "-stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().unwrap().write_all(password.as_bytes())?;
                c.wait_with_output()
            })
            .expect("openssl passwd hashes the password");
        let hash = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        assert!(hash.starts_with("$6$"), "openssl passwd gave {hash:?}");
        let home = self.dir.path().join("home").join(name);
        fs::create_dir_all(&home).unwrap();
        set_owner(&home, self.chown_to);
        let (uid, gid) = self.uid_gid;
        let line = format!("{name}:{hash}:{uid}:{gid}::{}:/bin/false\n", home.display());
        let passwd = self.dir.path().join("passwd").join(DOMAIN);
        let mut f = fs::OpenOptions::new().append(true).open(&passwd).unwrap();
        f.write_all(line.as_bytes()).unwrap();
        let user = MuUser {
            name: name.to_owned(),
            password: password.to_owned(),
            mbox: home.join("INBOX"),
            chown_to: self.chown_to,
        };
        user.store::<&[u8]>(&[]);
        user
    }

    /// The URL popdoc opens for `user`.
    pub fn url(&self, user: &MuUser) -> String {
        format!("pop3s://{}%40{DOMAIN}@127.0.0.1:{}", user.name, self.port)
    }

    /// One session of the test's own: login, `RETR n` (unstuffed, CRLF
    /// kept), `QUIT`. Err with the server's line when a command is refused.
    pub fn retr(&self, user: &MuUser, n: usize) -> Result<Vec<u8>, String> {
        let tcp =
            TcpStream::connect((Ipv4Addr::LOCALHOST, self.port)).map_err(|e| e.to_string())?;
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(client_config(&self.ca_der), name).unwrap();
        let mut s = rustls::StreamOwned::new(conn, tcp);
        let cmd = |s: &mut rustls::StreamOwned<_, _>, c: String| -> Result<(), String> {
            s.write_all(format!("{c}\r\n").as_bytes())
                .map_err(|e| e.to_string())?;
            let reply = read_line(s).map_err(|e| e.to_string())?;
            reply.starts_with("+OK").then_some(()).ok_or(reply)
        };
        read_line(&mut s).map_err(|e| e.to_string())?;
        cmd(&mut s, format!("USER {}@{DOMAIN}", user.name))?;
        cmd(&mut s, format!("PASS {}", user.password))?;
        cmd(&mut s, format!("RETR {n}"))?;
        let mut body = Vec::new();
        loop {
            let mut line = Vec::new();
            let mut byte = [0u8; 1];
            while !line.ends_with(b"\r\n") {
                s.read_exact(&mut byte).map_err(|e| e.to_string())?;
                line.push(byte[0]);
            }
            match line.as_slice() {
                b".\r\n" => break,
                [b'.', rest @ ..] => body.extend_from_slice(rest),
                _ => body.extend_from_slice(&line),
            }
        }
        cmd(&mut s, "QUIT".into())?;
        Ok(body)
    }
}

impl Drop for Mailutils {
    fn drop(&mut self) {
        // Session children end with their connections; the master goes now.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl MuUser {
    /// Replaces the mbox: message i (1-based) is `messages[i-1]`, which must
    /// have CRLF line ends only, end with one, and have no line starting
    /// with `From ` (so that the mbox needs no quoting).
    pub fn store<M: AsRef<[u8]>>(&self, messages: &[M]) {
        let mut mbox = Vec::new();
        for m in messages {
            let m = m.as_ref();
            assert!(m.ends_with(b"\r\n"), "a message ends with CRLF");
            mbox.extend_from_slice(FROM_LINE);
            for line in m.split_inclusive(|&b| b == b'\n') {
                let text = line.strip_suffix(b"\r\n").expect("CRLF line ends only");
                assert!(!text.contains(&b'\r') && !text.starts_with(b"From "));
                mbox.extend_from_slice(text);
                mbox.push(b'\n');
            }
            mbox.push(b'\n');
        }
        fs::write(&self.mbox, mbox).unwrap();
        set_owner(&self.mbox, self.chown_to);
    }

    /// The messages now in the mbox, each without its `From ` line and the
    /// blank line after it.
    pub fn stored(&self) -> Vec<Vec<u8>> {
        let mbox = fs::read(&self.mbox).unwrap();
        let mut messages: Vec<Vec<u8>> = Vec::new();
        let mut prev_blank = true;
        for line in mbox.split_inclusive(|&b| b == b'\n') {
            if prev_blank && line.starts_with(b"From ") {
                if let Some(last) = messages.last_mut() {
                    last.pop(); // the blank line before this `From `
                }
                messages.push(Vec::new());
            } else if let Some(last) = messages.last_mut() {
                last.extend_from_slice(line);
            }
            prev_blank = line == b"\n";
        }
        if let Some(last) = messages.last_mut() {
            last.pop();
        }
        messages
    }
}

fn try_start() -> Result<Mailutils, String> {
    let bin = common::find_binary(
        BIN_ENV,
        &["pop3d"],
        &["/usr/sbin/pop3d"],
        "no pop3d binary in PATH or /usr/sbin (install mailutils-pop3d)",
    )?;
    // Passwords go into the passwd file as SHA-512 crypt hashes.
    super::skip::commands_on_path(&["openssl"], "openssl")?;
    // pop3d sets its group to `mail` at start-up (for dotlocks) and exits
    // when it cannot, which needs root.
    if user_id("-u")? != 0 {
        return Err("pop3d must be started as root (it switches to the mail group)".into());
    }
    let mail = mail_ids()?;
    let (chown_to, uid_gid) = (Some(mail), mail);
    let parent = temp_parent();
    let dir = tempfile::Builder::new()
        .prefix(DIR_PREFIX)
        .tempdir_in(&parent)
        .map_err(|e| format!("temporary directory in {}: {e}", parent.display()))?;
    let root = dir.path().to_path_buf();
    let err = |what: &str, e: io::Error| format!("{what}: {e}");
    // The session runs as the user of the passwd file and must reach its home.
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755)).map_err(|e| err("chmod", e))?;
    let (ca_pem, ca_der, leaf_pem, _, key_pem) = certificates("popdoc test CA", "localhost", None)?;
    fs::write(root.join("ca.pem"), ca_pem).map_err(|e| err("ca.pem", e))?;
    fs::write(root.join("cert.pem"), leaf_pem).map_err(|e| err("cert.pem", e))?;
    fs::write(root.join("key.pem"), key_pem).map_err(|e| err("key.pem", e))?;
    fs::set_permissions(root.join("key.pem"), fs::Permissions::from_mode(0o600))
        .map_err(|e| err("chmod key.pem", e))?;
    fs::create_dir(root.join("passwd")).map_err(|e| err("passwd", e))?;
    fs::write(root.join("passwd").join(DOMAIN), "").map_err(|e| err("passwd file", e))?;
    fs::create_dir(root.join("home")).map_err(|e| err("home", e))?;
    write_owner(&root).map_err(|e| err("owner", e))?;
    let ca_der = CertificateDer::from(ca_der);

    let mut last_error = String::new();
    for _ in 0..START_ATTEMPTS {
        let (port, _) = free_ports().map_err(|e| err("free port", e))?;
        let r = root.display();
        let config = format!(
            "# Private GNU Mailutils pop3d for one popdoc test.\n\
             mode daemon;\nforeground true;\npidfile {r}/pop3d.pid;\n\
             logging {{ syslog false; }}\n\
             virtdomain {{ passwd-dir {r}/passwd; }}\n\
             auth {{ authorization virtdomain; authentication generic; }}\n\
             server 127.0.0.1:{port} {{\n  transcript true;\n  tls-mode connection;\n  \
             tls {{ ssl-certificate-file {r}/cert.pem; ssl-key-file {r}/key.pem; }}\n}}\n"
        );
        fs::write(root.join("pop3d.conf"), config).map_err(|e| err("pop3d.conf", e))?;
        let log = fs::File::create(root.join("pop3d.log")).map_err(|e| err("pop3d.log", e))?;
        let mut child = Command::new(&bin)
            .arg(format!("--config-file={r}/pop3d.conf"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().map_err(|e| err("pop3d.log", e))?)
            .stderr(log)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        match wait_ready(&mut child, port, &ca_der) {
            Ok(()) => {
                return Ok(Mailutils {
                    child,
                    port,
                    ca_der,
                    chown_to,
                    uid_gid,
                    dir,
                });
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = fs::read_to_string(root.join("pop3d.log")).unwrap_or_default();
                last_error = format!("{e}\n--- pop3d log ---\n{log}");
                // Another test took the port between the probe and the bind: retry.
                if !log.contains("in use") {
                    break;
                }
            }
        }
    }
    Err(last_error)
}

/// Until the port greets over a verified TLS handshake and the master still runs.
fn wait_ready(child: &mut Child, port: u16, ca: &CertificateDer<'static>) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let tls = client_config(ca);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("pop3d exited during start-up ({status})"));
        }
        match first_line_tls(port, tls.clone()) {
            Ok(g) if g.starts_with("+OK POP3 Ready") => {
                return match child.try_wait() {
                    Ok(None) => Ok(()),
                    _ => Err("pop3d exited during start-up".into()),
                };
            }
            Ok(g) if Instant::now() > deadline => return Err(format!("port {port} greeted {g:?}")),
            Err(e) if Instant::now() > deadline => return Err(format!("port {port}: {e}")),
            _ => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn user_id(arg: &str) -> Result<u32, String> {
    let out = Command::new("id")
        .arg(arg)
        .output()
        .map_err(|e| format!("cannot run id: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .map_err(|e| format!("id {arg}: {e}"))
}

/// uid and gid of the `mail` user.
fn mail_ids() -> Result<(u32, u32), String> {
    let passwd = fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 3 && f[0] == "mail")
        .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
        .ok_or_else(|| "running as root but there is no user \"mail\"".into())
}

fn set_owner(path: &Path, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    }
}

/// Kills pop3d masters, and removes instance directories, whose owning test
/// process died without dropping them.
fn reap_orphans() {
    if !Path::new("/proc/self/stat").exists() {
        return;
    }
    for (pid, args) in proc_cmdlines() {
        let conf = args.iter().find_map(|a| a.strip_prefix("--config-file="));
        if let Some(dir) = conf.map(Path::new).and_then(Path::parent)
            && owner_gone(dir, DIR_PREFIX)
        {
            kill_pid(pid);
        }
    }
    if let Ok(entries) = fs::read_dir(temp_parent()) {
        for dir in entries.filter_map(|e| Some(e.ok()?.path())) {
            if owner_gone(&dir, DIR_PREFIX) {
                let _ = fs::remove_dir_all(&dir);
            }
        }
    }
}
