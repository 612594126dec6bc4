//! A private SMTP submission server for one test: Exim (Debian's
//! `exim4-daemon-light`) with a generated config, its own certificate from a
//! private CA, a submission port with STARTTLS and an SMTPS port, AUTH
//! PLAIN, LOGIN and XOAUTH2 for one user, and every accepted message kept in
//! the queue (never delivered), all in a fresh temporary directory. The
//! daemon and its children are killed, and the directory removed, on drop.
//!
//! Why Exim: one binary that takes a whole config with `-C`, runs in the
//! foreground with `-bdf`, keeps its spool, logs and pid file where the
//! config says, checks passwords itself (no SASL daemon), and has TLS built
//! in. Postfix needs a queue tree with fixed owners, a master process and a
//! separate SASL service; OpenSMTPD has a compiled-in queue and control
//! socket, so two instances cannot run side by side; Dovecot's submission
//! service only relays to another MTA.
//!
//! It must not touch the system's Exim (no systemd, nothing under /etc or
//! /var/spool/exim4), listen anywhere but 127.0.0.1, or let two instances
//! share a directory or a port.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio_rustls::rustls::pki_types::CertificateDer;

use super::common::{
    self, certificates, client_config, first_line_plain, first_line_tls, free_ports, hex, kill_pid,
    owner_gone, proc_cmdlines, temp_parent, write_owner,
};

/// `1` turns "the SMTP server could not start" from a skip into a failure (CI).
pub const REQUIRE_ENV: &str = "POPDOC_REQUIRE_SMTP";
/// Path of the Exim binary, overriding the search.
pub const BIN_ENV: &str = "POPDOC_EXIM_BIN";

pub const USER: &str = "alice";
pub const PASSWORD: &str = "smtp-Pass-93";
pub const TOKEN: &str = "smtp-token-17";

const DIR_PREFIX: &str = "popdoc-smtp-";
const READY_TIMEOUT: Duration = Duration::from_secs(10);
const START_ATTEMPTS: usize = 5;

static REAP_ORPHANS: Once = Once::new();
static SEQ: AtomicU64 = AtomicU64::new(0);

/// How the server is set up.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server certificate expires this many days from now.
    pub cert_days: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options { cert_days: 365 }
    }
}

/// A running private Exim.
pub struct SmtpServer {
    child: Child,
    config: PathBuf,
    submission_port: u16,
    smtps_port: u16,
    fingerprint: String,
    // Last: removed after `drop` has killed the processes that write into it.
    dir: TempDir,
}

/// A message the server accepted and queued.
#[derive(Debug)]
pub struct Queued {
    pub id: String,
    /// The envelope and headers (Exim's `-H` spool file).
    pub envelope: String,
    /// The body as Exim stored it (LF line ends, dot-stuffing removed).
    pub body: Vec<u8>,
}

impl SmtpServer {
    /// Starts a private instance, or returns None (after one line on stderr
    /// per test process) when Exim is unavailable. With POPDOC_REQUIRE_SMTP=1
    /// it panics instead.
    pub fn start() -> Option<SmtpServer> {
        Self::start_with(Options::default())
    }

    pub fn start_with(opts: Options) -> Option<SmtpServer> {
        REAP_ORPHANS.call_once(reap_orphans);
        match try_start(&opts) {
            Ok(s) => Some(s),
            Err(why) => {
                super::skip::skip(REQUIRE_ENV, "real-server (SMTP/Exim) tests", &why);
                None
            }
        }
    }

    /// Submission port: plain greeting, STARTTLS, AUTH only after TLS.
    pub fn submission_port(&self) -> u16 {
        self.submission_port
    }

    /// Port with TLS from the first byte.
    pub fn smtps_port(&self) -> u16 {
        self.smtps_port
    }

    /// PEM file of the private CA that signed the server certificate.
    pub fn ca_file(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    /// SHA-256 of the server certificate's DER: lowercase hex.
    pub fn fingerprint(&self) -> String {
        self.fingerprint.clone()
    }

    /// Messages in the queue, oldest first.
    pub fn queued(&self) -> Vec<Queued> {
        let input = self.dir.path().join("spool/input");
        let mut ids: Vec<String> = fs::read_dir(&input)
            .map(|it| {
                it.filter_map(|e| {
                    let name = e.ok()?.file_name().into_string().ok()?;
                    name.strip_suffix("-H").map(str::to_string)
                })
                .collect()
            })
            .unwrap_or_default();
        ids.sort();
        ids.into_iter()
            .map(|id| {
                let envelope =
                    fs::read_to_string(input.join(format!("{id}-H"))).unwrap_or_default();
                let data = fs::read(input.join(format!("{id}-D"))).unwrap_or_default();
                // The -D file starts with a line naming itself.
                let body = match data.iter().position(|b| *b == b'\n') {
                    Some(i) => data[i + 1..].to_vec(),
                    None => Vec::new(),
                };
                Queued { id, envelope, body }
            })
            .collect()
    }

    /// Exim's logs so far, and anything it wrote to stderr.
    pub fn log(&self) -> String {
        read_log(self.dir.path())
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // Connection processes are forks of the daemon with its arguments.
        for pid in pids_with_config(&self.config) {
            kill_pid(pid);
        }
    }
}

fn try_start(opts: &Options) -> Result<SmtpServer, String> {
    let bin = find_binary()?;
    let (owner_name, owner) = exim_owner()?;
    let parent = temp_parent();
    let dir = tempfile::Builder::new()
        .prefix(DIR_PREFIX)
        .tempdir_in(&parent)
        .map_err(|e| format!("temporary directory in {}: {e}", parent.display()))?;
    let root = dir.path().to_path_buf();
    let err = |what: &str, e: io::Error| format!("{what}: {e}");
    // Exim gives up root for an untrusted -C config: its own user must
    // reach every file.
    fs::set_permissions(&root, fs::Permissions::from_mode(0o755))
        .map_err(|e| err("chmod dir", e))?;
    let (ca_pem, ca_der, leaf_pem, leaf_der, key_pem) = certificates(
        "popdoc SMTP test CA",
        "smtp.localhost",
        Some(opts.cert_days),
    )?;
    fs::write(root.join("ca.pem"), ca_pem).map_err(|e| err("ca.pem", e))?;
    fs::write(root.join("cert.pem"), leaf_pem).map_err(|e| err("cert.pem", e))?;
    fs::write(root.join("key.pem"), key_pem).map_err(|e| err("key.pem", e))?;
    fs::set_permissions(root.join("key.pem"), fs::Permissions::from_mode(0o600))
        .map_err(|e| err("chmod key.pem", e))?;
    for sub in ["spool", "log"] {
        fs::create_dir(root.join(sub)).map_err(|e| err(sub, e))?;
    }
    for p in ["spool", "log", "key.pem"] {
        if let Some((uid, gid)) = owner {
            std::os::unix::fs::chown(root.join(p), Some(uid), Some(gid))
                .map_err(|e| err("chown", e))?;
        }
    }
    write_owner(&root).map_err(|e| err("owner", e))?;
    let me = std::process::id();
    let token = format!("{me}x{}", SEQ.fetch_add(1, Ordering::Relaxed));
    let ca = CertificateDer::from(ca_der);
    let config = root.join("exim.conf");

    let mut last_error = String::new();
    for _ in 0..START_ATTEMPTS {
        let (sub, smtps) = free_ports().map_err(|e| err("free ports", e))?;
        fs::write(&config, config_text(&root, &owner_name, &token, sub, smtps))
            .map_err(|e| err("exim.conf", e))?;
        fs::set_permissions(&config, fs::Permissions::from_mode(0o644))
            .map_err(|e| err("chmod exim.conf", e))?;
        let stderr = fs::File::create(root.join("stderr.log")).map_err(|e| err("stderr", e))?;
        let mut child = Command::new(&bin)
            .arg("-C")
            .arg(&config)
            .arg("-bdf")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", bin.display()))?;
        match wait_ready(&mut child, &ca, &token, sub, smtps) {
            Ok(()) => {
                return Ok(SmtpServer {
                    child,
                    config,
                    submission_port: sub,
                    smtps_port: smtps,
                    fingerprint: hex(&Sha256::digest(&leaf_der)),
                    dir,
                });
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                for pid in pids_with_config(&config) {
                    kill_pid(pid);
                }
                let log = read_log(&root);
                last_error = format!("{e}\n--- Exim log ---\n{log}");
                if !log.contains("Address already in use") {
                    break;
                }
            }
        }
    }
    Err(last_error)
}

fn find_binary() -> Result<PathBuf, String> {
    common::find_binary(
        BIN_ENV,
        &["exim4", "exim"],
        &["/usr/sbin/exim4", "/usr/sbin/exim"],
        "no exim4 binary in PATH or /usr/sbin (install exim4-daemon-light)",
    )
}

/// The user Exim runs as, and its ids when files must be handed to it
/// (running as root); otherwise the current user.
fn exim_owner() -> Result<(String, Option<(u32, u32)>), String> {
    let id = |arg: &str| -> Result<String, String> {
        let out = Command::new("id")
            .arg(arg)
            .output()
            .map_err(|e| format!("cannot run id: {e}"))?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    if id("-u")? != "0" {
        return Ok((id("-un")?, None));
    }
    let passwd = fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    for name in ["Debian-exim", "exim"] {
        let found = passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > 3 && f[0] == name)
            .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)));
        if let Some(ids) = found {
            return Ok((name.to_string(), Some(ids)));
        }
    }
    Err("running as root but there is no Debian-exim or exim user".into())
}

fn config_text(root: &Path, user: &str, token: &str, sub: u16, smtps: u16) -> String {
    CONFIG
        .replace("@ROOT@", &root.display().to_string())
        .replace("@EXIM_USER@", user)
        .replace("@TOKEN@", token)
        .replace("@SUBMISSION@", &sub.to_string())
        .replace("@SMTPS@", &smtps.to_string())
        .replace("@USER@", USER)
        .replace("@PASSWORD@", PASSWORD)
        .replace("@OAUTH@", TOKEN)
}

const CONFIG: &str = r#"# Private Exim for one popdoc integration test; everything under @ROOT@.
primary_hostname = smtp.localhost
smtp_banner = $smtp_active_hostname ESMTP Exim $version_number popdoc test (@TOKEN@)
exim_user = @EXIM_USER@
exim_group = @EXIM_USER@
spool_directory = @ROOT@/spool
split_spool_directory = false
log_file_path = @ROOT@/log/%slog
pid_file_path = @ROOT@/exim.pid
local_interfaces = 127.0.0.1
daemon_smtp_ports = @SUBMISSION@ : @SMTPS@
tls_on_connect_ports = @SMTPS@
tls_certificate = @ROOT@/cert.pem
tls_privatekey = @ROOT@/key.pem
tls_advertise_hosts = *
# AUTH only over TLS.
auth_advertise_hosts = ${if eq{$tls_in_cipher}{}{}{*}}
# Accept and keep: nothing is ever delivered.
queue_only = true
message_size_limit = 10M
# No DNS or ident lookups of the client.
host_lookup =
rfc1413_hosts =
keep_environment =
timezone = UTC
acl_smtp_rcpt = acl_check_rcpt

begin acl
acl_check_rcpt:
  accept authenticated = *
  deny message = relay not permitted: log in first

begin routers
begin transports
begin retry
* * F,1h,10m
begin rewrite

begin authenticators
plain:
  driver = plaintext
  public_name = PLAIN
  server_prompts = :
  server_condition = ${if and{{eq{$auth2}{@USER@}}{eq{$auth3}{@PASSWORD@}}}}
  server_set_id = $auth2
login:
  driver = plaintext
  public_name = LOGIN
  server_prompts = <| Username: | Password:
  server_condition = ${if and{{eq{$auth1}{@USER@}}{eq{$auth2}{@PASSWORD@}}}}
  server_set_id = $auth1
xoauth2:
  driver = plaintext
  public_name = XOAUTH2
  server_prompts = :
  server_condition = ${if eq{$auth1}{user=@USER@\x01auth=Bearer @OAUTH@\x01\x01}}
  server_set_id = @USER@
"#;

/// Waits until both ports greet with this instance's banner (SMTPS after a
/// verified handshake).
fn wait_ready(
    child: &mut Child,
    ca: &CertificateDer<'static>,
    token: &str,
    sub: u16,
    smtps: u16,
) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let mine = |g: &str| g.starts_with("220 ") && g.contains(&format!("({token})"));
    let tls = client_config(ca);
    let (mut sub_ok, mut smtps_ok) = (false, false);
    let mut last = String::new();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exim exited during start-up ({status})"));
        }
        if !sub_ok {
            match first_line_plain(sub) {
                Ok(g) if mine(&g) => sub_ok = true,
                Ok(g) => last = format!("port {sub} greeted {g:?}"),
                Err(e) => last = format!("port {sub}: {e}"),
            }
        }
        if sub_ok && !smtps_ok {
            match first_line_tls(smtps, tls.clone()) {
                Ok(g) if mine(&g) => smtps_ok = true,
                Ok(g) => last = format!("port {smtps} greeted {g:?}"),
                Err(e) => last = format!("port {smtps}: {e}"),
            }
        }
        if sub_ok && smtps_ok {
            return match child.try_wait() {
                Ok(None) => Ok(()),
                _ => Err("exim exited during start-up".into()),
            };
        }
        if Instant::now() > deadline {
            return Err(format!("exim not ready after {READY_TIMEOUT:?} ({last})"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn read_log(root: &Path) -> String {
    let mut out = String::new();
    for name in ["log/mainlog", "log/rejectlog", "log/paniclog", "stderr.log"] {
        if let Ok(text) = fs::read_to_string(root.join(name))
            && !text.trim().is_empty()
        {
            out.push_str(&format!("--- {name} ---\n{text}"));
        }
    }
    out
}

// --- processes, via /proc (Linux); elsewhere these find nothing ---

/// Live processes whose arguments include `-C <config>`.
fn pids_with_config(config: &Path) -> Vec<u32> {
    let want = config.as_os_str().to_string_lossy().into_owned();
    proc_cmdlines()
        .into_iter()
        .filter(|(_, args)| args.windows(2).any(|w| w[0] == "-C" && w[1] == want))
        .map(|(pid, _)| pid)
        .collect()
}

/// Kills the Exims of test processes that died without dropping their
/// instance, and removes their directories (the `owner` file names a
/// process that is gone).
fn reap_orphans() {
    if !Path::new("/proc/self/stat").exists() {
        return;
    }
    let gone = |dir: &Path| owner_gone(dir, DIR_PREFIX);
    for (pid, args) in proc_cmdlines() {
        let conf = args
            .windows(2)
            .find(|w| w[0] == "-C")
            .map(|w| PathBuf::from(&w[1]));
        if let Some(dir) = conf.as_deref().and_then(Path::parent)
            && gone(dir)
        {
            kill_pid(pid);
        }
    }
    if let Ok(entries) = fs::read_dir(temp_parent()) {
        for dir in entries.filter_map(|e| Some(e.ok()?.path())) {
            if gone(&dir) {
                let _ = fs::remove_dir_all(&dir);
            }
        }
    }
}
