//! The one way the tests run the real binary: `popdoc ARGS` in an isolated
//! environment (a fresh temporary folder for `HOME` and the `XDG_*` folders,
//! no session bus, no `POPDOC_PASSWORD`, `POPDOC_CONFIG` or `POPDOC_LOG`
//! unless the test gives them) and no controlling terminal (`setsid`), so a
//! password prompt fails at once instead of waiting on the developer's
//! terminal. It must never let the developer's own config, keyring or
//! environment reach the binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use tokio::io::AsyncWriteExt;

/// One run of the binary: its arguments, the variables the test gives, and
/// what it reads on stdin. Owns the temporary home until it is dropped.
pub struct Run {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
    home: tempfile::TempDir,
}

impl Run {
    pub fn new(args: &[&str]) -> Run {
        Run {
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
            stdin: None,
            home: tempfile::tempdir().unwrap(),
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Run {
        self.env.push((key.into(), value.into()));
        self
    }

    /// `POPDOC_PASSWORD=password`.
    pub fn password(self, password: &str) -> Run {
        self.env("POPDOC_PASSWORD", password)
    }

    pub fn stdin(mut self, bytes: &[u8]) -> Run {
        self.stdin = Some(bytes.to_vec());
        self
    }

    /// The isolated command, not started, for a test that watches the
    /// process while it runs. Keep the `Run` alive until the process ends.
    pub fn command(&self) -> Command {
        // A home and config folder that do not exist unless the test makes them.
        let home: PathBuf = self.home.path().join("home");
        let mut cmd = Command::new("setsid");
        cmd.arg("-w")
            .arg(env!("CARGO_BIN_EXE_popdoc"))
            .args(&self.args)
            .env_remove("POPDOC_PASSWORD")
            .env_remove("POPDOC_CONFIG")
            .env_remove("POPDOC_LOG")
            .env_remove("DBUS_SESSION_BUS_ADDRESS");
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("XDG_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("HOME", &home)
            .env("XDG_CONFIG_HOME", home.join("config"))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .stdin(if self.stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            });
        cmd
    }
}

/// Runs `popdoc` as `run` says and waits for its output.
pub async fn popdoc(run: Run) -> Output {
    let mut child = tokio::process::Command::from(run.command())
        .spawn()
        .expect("setsid (util-linux) runs popdoc");
    if let Some(bytes) = &run.stdin {
        let mut stdin = child.stdin.take().unwrap();
        // popdoc may exit without reading: a broken pipe is fine.
        let _ = stdin.write_all(bytes).await;
    }
    child.wait_with_output().await.unwrap()
}

/// Writes `popdoc.toml` in `dir` with these permission bits.
pub fn write_config(dir: &Path, text: &str, mode: u32) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let p = dir.join("popdoc.toml");
    std::fs::write(&p, text).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p
}
