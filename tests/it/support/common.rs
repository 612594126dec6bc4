//! What the real-server harnesses (Dovecot, Exim) share: free loopback
//! ports, the folder for instance directories, a private CA and server
//! certificate, reading a server's first line over TCP or TLS, and finding
//! and killing processes through /proc (Linux; elsewhere nothing is found).

use std::fs;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::{CertificateDer, ServerName};

/// Two free loopback ports (free now; a server may still lose a race).
pub fn free_ports() -> io::Result<(u16, u16)> {
    let a = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    let b = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}

/// Where instance directories go: the temporary directory, unless its path
/// is too long for the Unix sockets servers create under it (108 bytes).
pub fn temp_parent() -> PathBuf {
    let parent = std::env::temp_dir();
    if parent.as_os_str().len() > 40 {
        PathBuf::from("/tmp")
    } else {
        parent
    }
}

/// PEM of the CA, DER of the CA, PEM of the leaf, DER of the leaf, PEM of
/// the leaf's key.
pub type Pems = (String, Vec<u8>, String, Vec<u8>, String);

/// A private CA named `ca_name` and a server certificate for `localhost`
/// and 127.0.0.1 with common name `leaf_cn`. With `days`, the leaf is valid
/// from yesterday until `days` whole days from now; otherwise rcgen's
/// default (long) validity.
pub fn certificates(ca_name: &str, leaf_cn: &str, days: Option<i64>) -> Result<Pems, String> {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    let e = |e: rcgen::Error| format!("certificate generation: {e}");
    let date = |offset_days: i64| {
        let d = jiff::Timestamp::now()
            .checked_add(jiff::SignedDuration::from_hours(24 * offset_days))
            .expect("date in range")
            .to_zoned(jiff::tz::TimeZone::UTC)
            .date();
        rcgen::date_time_ymd(i32::from(d.year()), d.month() as u8, d.day() as u8)
    };
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).map_err(e)?;
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, ca_name);
    ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_key = KeyPair::generate().map_err(e)?;
    let ca_cert = ca_params.self_signed(&ca_key).map_err(e)?;
    let issuer = Issuer::new(ca_params, ca_key);
    let mut leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .map_err(e)?;
    leaf.distinguished_name.push(DnType::CommonName, leaf_cn);
    if let Some(days) = days {
        leaf.not_before = date(-1);
        // The day after the wanted date at 00:00 UTC: `days` whole days remain.
        leaf.not_after = date(days + 1);
    }
    leaf.use_authority_key_identifier_extension = true;
    leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf_key = KeyPair::generate().map_err(e)?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(e)?;
    Ok((
        ca_cert.pem(),
        ca_cert.der().to_vec(),
        leaf_cert.pem(),
        leaf_cert.der().to_vec(),
        leaf_key.serialize_pem(),
    ))
}

/// A rustls client that trusts only `ca`.
pub fn client_config(ca: &CertificateDer<'static>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.clone()).expect("CA certificate is valid");
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("ring supports the default protocol versions")
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// The server's first line on a plain connection (then QUIT).
pub fn first_line_plain(port: u16) -> io::Result<String> {
    let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    s.set_read_timeout(Some(Duration::from_secs(2)))?;
    let line = read_line(&mut s)?;
    let _ = s.write_all(b"QUIT\r\n");
    Ok(line)
}

/// The server's first line after a verified TLS handshake (then QUIT).
pub fn first_line_tls(port: u16, config: Arc<rustls::ClientConfig>) -> io::Result<String> {
    let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, port))?;
    tcp.set_read_timeout(Some(Duration::from_secs(2)))?;
    let name = ServerName::try_from("localhost").expect("valid name");
    let conn = rustls::ClientConnection::new(config, name).map_err(io::Error::other)?;
    let mut s = rustls::StreamOwned::new(conn, tcp);
    let line = read_line(&mut s)?;
    let _ = s.write_all(b"QUIT\r\n");
    Ok(line)
}

/// One line without its CRLF, at most 1024 bytes.
pub fn read_line(r: &mut impl Read) -> io::Result<String> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while !line.ends_with(b"\r\n") {
        if line.len() > 1024 || r.read(&mut byte)? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("no complete line: {:?}", String::from_utf8_lossy(&line)),
            ));
        }
        line.push(byte[0]);
    }
    line.truncate(line.len() - 2);
    Ok(String::from_utf8_lossy(&line).into_owned())
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Live (non-zombie) processes and their arguments.
pub fn proc_cmdlines() -> Vec<(u32, Vec<String>)> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| {
            let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
            let raw = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            if raw.is_empty() {
                return None; // zombie or kernel thread
            }
            let args = raw
                .split(|&b| b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            Some((pid, args))
        })
        .collect()
}

/// Field 22 of /proc/PID/stat: start time in clock ticks after boot.
pub fn proc_start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_comm = &stat[stat.rfind(')')? + 1..];
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

pub fn kill_pid(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .stderr(Stdio::null())
        .status();
}

/// Writes `dir/owner`: this process's pid and start time, so that a later
/// test process can tell whether the instance's owner has died.
pub fn write_owner(dir: &Path) -> io::Result<()> {
    let pid = std::process::id();
    let started = proc_start_time(pid).unwrap_or(0);
    fs::write(dir.join("owner"), format!("{pid} {started}\n"))
}

/// `dir` is an instance directory (named with `prefix`) whose `owner` file
/// names a pid and start time that no longer match a process. False when
/// there is no `owner` file yet (being set up).
pub fn owner_gone(dir: &Path, prefix: &str) -> bool {
    let ours = dir
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(prefix));
    let Ok(owner) = fs::read_to_string(dir.join("owner")) else {
        return false;
    };
    let mut it = owner.split_whitespace();
    match (
        it.next().and_then(|p| p.parse::<u32>().ok()),
        it.next().and_then(|s| s.parse::<u64>().ok()),
    ) {
        (Some(pid), Some(started)) => ours && proc_start_time(pid) != Some(started),
        _ => false,
    }
}

/// A server binary: the file named by the environment variable `env` if
/// set, else the first of `names` in PATH or in `fallbacks`; `missing`
/// says what to install.
pub fn find_binary(
    env: &str,
    names: &[&str],
    fallbacks: &[&str],
    missing: &str,
) -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os(env) {
        let p = PathBuf::from(p);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("{env}={} is not a file", p.display()))
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .flat_map(|d| names.iter().map(move |n| d.join(n)))
        .chain(fallbacks.iter().map(PathBuf::from))
        .find(|p| p.is_file())
        .ok_or_else(|| missing.to_string())
}
