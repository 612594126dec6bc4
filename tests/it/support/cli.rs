//! Running the real binary in tests: a clean environment (no session bus,
//! no password variables, a home and config folder that do not exist unless
//! the test makes them) and no controlling terminal (`setsid`), so a
//! password prompt fails at once instead of waiting on the developer's
//! terminal.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};

use tokio::io::AsyncWriteExt;

pub struct Run {
    args: Vec<String>,
    env: Vec<(String, String)>,
    stdin: Option<Vec<u8>>,
}

impl Run {
    pub fn new(args: &[&str]) -> Run {
        Run {
            args: args.iter().map(|a| a.to_string()).collect(),
            env: Vec::new(),
            stdin: None,
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Run {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn stdin(mut self, bytes: &[u8]) -> Run {
        self.stdin = Some(bytes.to_vec());
        self
    }
}

pub async fn popdoc(run: Run) -> Output {
    let nowhere = std::env::temp_dir().join("popdoc-test-no-such-home");
    let mut cmd = tokio::process::Command::new("setsid");
    cmd.arg("-w")
        .arg(env!("CARGO_BIN_EXE_popdoc"))
        .args(&run.args)
        .env_remove("POPDOC_PASSWORD")
        .env_remove("POPDOC_CONFIG")
        .env_remove("POPDOC_LOG")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env_remove("XDG_RUNTIME_DIR")
        .env("HOME", &nowhere)
        .env("XDG_CONFIG_HOME", nowhere.join("config"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if run.stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    for (k, v) in &run.env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().expect("setsid (util-linux) runs popdoc");
    if let Some(bytes) = run.stdin {
        let mut stdin = child.stdin.take().unwrap();
        // popdoc may exit without reading: a broken pipe is fine.
        let _ = stdin.write_all(&bytes).await;
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
