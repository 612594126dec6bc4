//! How the private Dovecot is set up and cleaned up: finding the binary,
//! the accounts it runs as, its generated configuration, waiting until it
//! greets, its log, file helpers, and its processes found through /proc.
//! It starts nothing by itself (see `Dovecot::start` in the parent).

use super::*;

pub(super) fn find_binary() -> Result<PathBuf, String> {
    common::find_binary(
        BIN_ENV,
        &["dovecot"],
        &["/usr/sbin/dovecot", "/usr/local/sbin/dovecot"],
        "no dovecot binary in PATH, /usr/sbin or /usr/local/sbin \
         (install dovecot-core and dovecot-pop3d)",
    )
}

pub(super) fn accounts() -> Result<Accounts, String> {
    static ACCOUNTS: OnceLock<Result<Accounts, String>> = OnceLock::new();
    ACCOUNTS.get_or_init(lookup_accounts).clone()
}

pub(super) fn lookup_accounts() -> Result<Accounts, String> {
    let uid: u32 = id(&["-u"])?.parse().map_err(|e| format!("id -u: {e}"))?;
    if uid != 0 {
        let gid: u32 = id(&["-g"])?.parse().map_err(|e| format!("id -g: {e}"))?;
        let user = id(&["-un"])?;
        let group = id(&["-gn"])?;
        return Ok(Accounts {
            root: false,
            mail_uid: uid,
            mail_gid: gid,
            internal_user: user.clone(),
            internal_group: group,
            login_user: user,
        });
    }
    let passwd = fs::read_to_string("/etc/passwd").map_err(|e| format!("/etc/passwd: {e}"))?;
    let find = |name: &str| -> Result<(u32, u32), String> {
        passwd
            .lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() > 3 && f[0] == name)
            .and_then(|f| Some((f[2].parse().ok()?, f[3].parse().ok()?)))
            .ok_or_else(|| format!("running as root but there is no user {name:?}"))
    };
    let (mail_uid, mail_gid) = find("mail")?;
    find("dovecot")?;
    find("dovenull")?;
    Ok(Accounts {
        root: true,
        mail_uid,
        mail_gid,
        internal_user: "dovecot".into(),
        internal_group: "dovecot".into(),
        login_user: "dovenull".into(),
    })
}

pub(super) fn id(args: &[&str]) -> Result<String, String> {
    let out = Command::new("id")
        .args(args)
        .output()
        .map_err(|e| format!("cannot run id: {e}"))?;
    if !out.status.success() {
        return Err(format!("id {args:?} failed"));
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

pub(super) fn make_temp_dir() -> Result<TempDir, String> {
    let parent = temp_parent();
    let dir = tempfile::Builder::new()
        .prefix(DIR_PREFIX)
        .tempdir_in(&parent)
        .map_err(|e| format!("temporary directory in {}: {e}", parent.display()))?;
    // Dovecot's unprivileged processes (auth, login, mail) must reach their files.
    fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755))
        .map_err(|e| format!("chmod {}: {e}", dir.path().display()))?;
    Ok(dir)
}

pub(super) fn config_text(
    root: &Path,
    a: &Accounts,
    token: &str,
    plain: u16,
    pop3s: u16,
) -> String {
    let r = root.display();
    let mut c = format!(
        r#"# Private Dovecot for one popdoc integration test.
# Everything lives under {r}; nothing is shared with a system Dovecot.

# Process titles become "dovecot-popdoc-{token}/<service>".
instance_name = popdoc-{token}
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
info_log_path = {r}/dovecot.log

protocols = pop3
listen = 127.0.0.1
# Lets the readiness probe tell this instance from another one on a reused port.
login_greeting = Dovecot ready ({token}).

ssl = yes
ssl_cert = <{r}/cert.pem
ssl_key = <{r}/key.pem
ssl_min_protocol = TLSv1.2

auth_mechanisms = plain login
auth_verbose = yes
# Answer a failed login at once (default 2 s). Dovecot still adds its auth
# penalty: after a failure, the next login from 127.0.0.1 waits about 4 s.
auth_failure_delay = 0
# No plaintext login without TLS, except that Dovecot counts a connection
# from 127.0.0.1 to 127.0.0.1 as secured. login_trusted_networks stays unset.
disable_plaintext_auth = yes
# One file per user (see Dovecot::add_user).
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {r}/passwd.d/%u
}}
userdb {{
  driver = passwd-file
  args = {r}/passwd.d/%u
}}

mail_location = maildir:~/Maildir
# The defaults, spelled out because tests depend on them.
pop3_uidl_format = %08Xu%08Xv
pop3_client_workarounds =

# Mail processes run with the uid/gid from the passwd-file.
first_valid_uid = {uid}
first_valid_gid = {gid}
default_internal_user = {iu}
default_internal_group = {ig}
default_login_user = {lu}

service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {plain}
  }}
  inet_listener pop3s {{
    address = 127.0.0.1
    port = {pop3s}
    ssl = yes
  }}
}}
"#,
        uid = a.mail_uid,
        gid = a.mail_gid,
        iu = a.internal_user,
        ig = a.internal_group,
        lu = a.login_user,
    );
    if !a.root {
        c.push_str(
            r#"
# Not root: chroot is not permitted.
service anvil {
  chroot =
}
service pop3-login {
  chroot =
}
"#,
        );
    }
    c
}

/// Waits until both ports greet with this instance's greeting (POP3S after a
/// verified TLS handshake).
pub(super) fn wait_ready(
    child: &mut Child,
    root: &Path,
    ca: &CertificateDer<'static>,
    token: &str,
    plain: u16,
    pop3s: u16,
) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let expected = format!("+OK Dovecot ready ({token}).");
    let tls = client_config(ca);
    let (mut plain_ok, mut pop3s_ok) = (false, false);
    let mut last = String::new();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("dovecot exited during start-up ({status})"));
        }
        if !plain_ok {
            match first_line_plain(plain) {
                Ok(g) if g == expected => plain_ok = true,
                Ok(g) => last = format!("port {plain} greeted {g:?}"),
                Err(e) => last = format!("port {plain}: {e}"),
            }
        }
        if plain_ok && !pop3s_ok {
            match first_line_tls(pop3s, tls.clone()) {
                Ok(g) if g == expected => pop3s_ok = true,
                Ok(g) => last = format!("port {pop3s} greeted {g:?}"),
                Err(e) => last = format!("port {pop3s}: {e}"),
            }
        }
        if plain_ok && pop3s_ok {
            // A listener of someone else's on our port would have failed the
            // greeting check; make sure ours is still alive.
            return match child.try_wait() {
                Ok(None) => Ok(()),
                _ => Err("dovecot exited during start-up".into()),
            };
        }
        if Instant::now() > deadline {
            return Err(format!(
                "dovecot not ready after {READY_TIMEOUT:?} ({last}); config {}",
                root.join("dovecot.conf").display()
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

pub(super) fn read_log(root: &Path) -> String {
    let mut log = fs::read_to_string(root.join("dovecot.log")).unwrap_or_default();
    let stderr = fs::read_to_string(root.join("stderr.log")).unwrap_or_default();
    if !stderr.trim().is_empty() {
        log.push_str("--- stderr ---\n");
        log.push_str(&stderr);
    }
    log
}

pub(super) fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

pub(super) fn set_owner(path: &Path, owner: Option<(u32, u32)>) {
    if let Some((uid, gid)) = owner {
        std::os::unix::fs::chown(path, Some(uid), Some(gid))
            .unwrap_or_else(|e| panic!("chown {}: {e}", path.display()));
    }
}

pub(super) fn write_world_readable(path: &Path, bytes: &[u8]) {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push("~"); // no user name contains '~'
    let tmp = PathBuf::from(tmp);
    fs::write(&tmp, bytes).unwrap_or_else(|e| panic!("write {}: {e}", tmp.display()));
    fs::set_permissions(&tmp, fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", tmp.display()));
    fs::rename(&tmp, path).unwrap_or_else(|e| panic!("rename to {}: {e}", path.display()));
}

pub(super) fn read_dir_sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    v.sort();
    v
}

pub(super) fn remove_file(path: &Path) {
    fs::remove_file(path).unwrap_or_else(|e| panic!("remove {}: {e}", path.display()));
}

// --- processes, via /proc (Linux); elsewhere these find nothing ---

/// PIDs of processes titled `dovecot-<instance>/...` (this instance's services).
pub(super) fn instance_pids(instance: &str) -> Vec<u32> {
    let prefix = format!("dovecot-{instance}/");
    proc_cmdlines()
        .into_iter()
        .filter(|(_, args)| args.first().is_some_and(|a| a.starts_with(&prefix)))
        .map(|(pid, _)| pid)
        .collect()
}

pub(super) fn wait_instance_gone(instance: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !instance_pids(instance).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(super) fn proc_alive(pid: u32) -> bool {
    fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|c| !c.is_empty())
}

/// Cleans up after test processes that died without dropping their
/// instances (killed by a timeout or SIGKILL): kills Dovecots whose config
/// lies in an instance directory, and removes instance directories, whose
/// `owner` file names a process that no longer exists.
pub(super) fn reap_orphans() {
    if !Path::new("/proc/self/stat").exists() {
        return; // no way to tell a live owner from a dead one
    }
    let mut killed = false;
    for (pid, args) in proc_cmdlines() {
        let conf = args
            .windows(2)
            .find(|w| w[0] == "-c")
            .map(|w| PathBuf::from(&w[1]));
        let Some(conf) = conf.filter(|c| c.ends_with("dovecot.conf")) else {
            continue;
        };
        let Some(dir) = conf.parent() else { continue };
        if owner_gone(dir, DIR_PREFIX) {
            kill_pid(pid);
            killed = true;
        }
    }
    if killed {
        // Their services exit within tens of milliseconds of the master.
        std::thread::sleep(Duration::from_millis(200));
    }
    let Ok(entries) = fs::read_dir(temp_parent()) else {
        return;
    };
    for dir in entries.filter_map(|e| Some(e.ok()?.path())) {
        if owner_gone(&dir, DIR_PREFIX) {
            let _ = fs::remove_dir_all(&dir);
        }
    }
}
