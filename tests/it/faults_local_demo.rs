//! Local faults of `popdoc save` against the built-in server, each made
//! for real: a full disk (a tiny tmpfs, where mounting is allowed), the
//! file-size limit (`RLIMIT_FSIZE`: EFBIG), a folder popdoc may not write
//! in, the folder removed during a trickled RETR, and Ctrl-C (SIGINT) in
//! the middle. Each ends with one sentence naming the folder, no partial
//! file left, and nothing deleted. Also the panic hook, in a child process.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use popdoc::demo::{Faults, Mailbox, Server};

use crate::support::cli::Run;
use crate::support::demo;

const PASSWORD: &str = "local-Secret-99";
/// Message 3's body: 300 kB, past every limit below.
const BIG: usize = 300_000;

fn messages() -> Vec<Vec<u8>> {
    let big = b"Subject: big\r\n\r\n"
        .iter()
        .copied()
        .chain(std::iter::repeat_n(b'a', BIG))
        .chain(*b"\r\n");
    vec![
        b"Subject: one\r\n\r\nx\r\n".to_vec(),
        b"Subject: two\r\n\r\ny\r\n".to_vec(),
        big.collect(),
    ]
}

async fn server(faults: Faults) -> Server {
    demo::start("ann", PASSWORD, faults, Mailbox::from_messages(messages())).await
}

/// A trickled RETR (about 6 s for message 3), to act while it runs.
fn trickle() -> Faults {
    Faults {
        retr_bytes_per_sec: Some(50_000),
        ..Default::default()
    }
}

fn save_into(s: &Server, dir: &Path) -> Run {
    let url = format!("pop3://ann@127.0.0.1:{}", s.port());
    Run::new(&[
        "save",
        "--plaintext",
        &url,
        "3",
        "--dir",
        &dir.to_string_lossy(),
    ])
    .password(PASSWORD)
}

/// `run`'s command behind `prefix` (`prlimit …`, `setpriv …`), with the
/// same environment.
fn behind(prefix: &[&str], run: &Run) -> tokio::process::Command {
    let inner = run.command();
    let mut cmd = Command::new(prefix[0]);
    cmd.args(&prefix[1..])
        .arg(inner.get_program())
        .args(inner.get_args());
    for (k, v) in inner.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.into()
}

fn names(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Failed with status 1 (not killed), one sentence with `want` and the
/// folder, no password, and nothing left in `dir`.
fn assert_refused(out: &Output, want: &str, dir: &Path) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{:?}: {err}", out.status);
    assert!(err.contains(want), "{err}");
    assert!(
        err.contains(&*dir.to_string_lossy()),
        "names the folder: {err}"
    );
    assert!(!err.contains(PASSWORD) && !err.contains("Os {"), "{err}");
    assert_eq!(names(dir), Vec::<String>::new(), "no partial file left");
}

/// Waits until the partial file of a running save shows in `dir`.
fn wait_for_part(dir: &Path) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !names(dir).iter().any(|n| n.ends_with(".part")) {
        assert!(Instant::now() < deadline, "no partial file in {dir:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `RLIMIT_FSIZE` of 64 kB on the child: the write past it fails with
/// EFBIG (the limit's twin of a full disk; the kernel also sends SIGXFSZ,
/// which used to kill popdoc and leave the `.part` file behind).
#[tokio::test(flavor = "multi_thread")]
async fn save_past_the_file_size_limit_says_so_and_leaves_nothing() {
    let s = server(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let run = save_into(&s, dir.path());
    let out = behind(&["prlimit", "--fsize=65536", "--"], &run)
        .output()
        .await
        .unwrap();
    assert_refused(&out, "larger than the biggest file", dir.path());
}

/// Unmounts on drop, also when the test fails.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// A real ENOSPC: a 64 kB tmpfs. Mounting needs privileges; without them
/// the test says so and skips (the file-size limit test above covers the
/// same path with EFBIG).
#[tokio::test(flavor = "multi_thread")]
async fn save_to_a_full_disk_says_so_and_leaves_nothing() {
    let base = tempfile::tempdir().unwrap();
    let mnt = base.path().join("tiny");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "popdoc-test"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root); the disk-full case is not run");
        return;
    }
    let _unmount = Mounted(mnt.clone());
    let s = server(Faults::default()).await;
    let out = crate::support::cli::popdoc(save_into(&s, &mnt)).await;
    assert_refused(&out, "is full", &mnt);
}

/// A folder popdoc may not write in. Root writes anywhere, so as root the
/// child runs without CAP_DAC_OVERRIDE (`setpriv`) in a folder of another
/// user; otherwise the folder is made read-only for its owner.
#[tokio::test(flavor = "multi_thread")]
async fn save_to_a_folder_without_permission_says_so() {
    use std::os::unix::fs::PermissionsExt;
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("locked");
    std::fs::create_dir(&dir).unwrap();
    let s = server(Faults::default()).await;
    let run = save_into(&s, &dir);
    let root = rustix::process::geteuid().as_raw() == 0;
    let out = if root {
        std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let drop_caps = "--bounding-set=-dac_override,-dac_read_search";
        behind(&["setpriv", drop_caps, "--"], &run)
            .output()
            .await
            .unwrap()
    } else {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
        crate::support::cli::popdoc(run).await
    };
    let err = String::from_utf8_lossy(&out.stderr);
    if root && err.contains("setpriv:") {
        eprintln!("skipped: setpriv cannot drop CAP_DAC_OVERRIDE here: {err}");
        return;
    }
    assert_refused(&out, "permission denied", &dir);
    assert!(err.contains("Choose a folder you can write to"), "{err}");
}

/// The folder removed while RETR trickles into it.
#[tokio::test(flavor = "multi_thread")]
async fn folder_removed_during_a_save_says_so() {
    let s = server(trickle()).await;
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("inbox");
    std::fs::create_dir(&dir).unwrap();
    let run = save_into(&s, &dir);
    let child = tokio::process::Command::from(run.command())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let watched = dir.clone();
    tokio::task::spawn_blocking(move || wait_for_part(&watched))
        .await
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let out = child.wait_with_output().await.unwrap();
    assert_refused(&out, "was removed while the message was being saved", &dir);
    assert!(!dir.exists(), "popdoc does not make it again");
    assert!(!s.received().iter().any(|c| c.starts_with("DELE")));
}

/// Ctrl-C outside raw mode (SIGINT) during a save: status 130, the
/// partial file removed, the connection closed without QUIT.
#[tokio::test(flavor = "multi_thread")]
async fn interrupted_save_removes_its_partial_file() {
    let s = server(trickle()).await;
    let dir = tempfile::tempdir().unwrap();
    let run = save_into(&s, dir.path());
    let child = tokio::process::Command::from(run.command())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let pid = child.id().unwrap().to_string();
    let watched = dir.path().to_path_buf();
    tokio::task::spawn_blocking(move || wait_for_part(&watched))
        .await
        .unwrap();
    let ok = Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert!(ok.success());
    let out = child.wait_with_output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("stopped by SIGINT"), "{err}");
    assert_eq!(names(dir.path()), Vec::<String>::new());
    assert!(
        !s.received().iter().any(|c| c == "QUIT"),
        "{:?}",
        s.received()
    );
}

const PANIC_CHILD: &str = "POPDOC_TEST_PANIC_CHILD";

/// The panic hook, in a child run of this very test: it panics with a
/// password in the message while a temporary file is listed. The child
/// must exit 101 with the fixed sentence and the place, never the
/// message, and the file must be gone.
#[test]
fn panic_hook_hides_the_message_and_removes_temp_files() {
    if let Some(file) = std::env::var_os(PANIC_CHILD) {
        popdoc::runtime::install_panic_hook(None);
        let _listed = popdoc::cleanup::file(Path::new(&file));
        panic!("login failed for pass={PASSWORD}");
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".popdoc-x.part");
    std::fs::write(&file, b"partial").unwrap();
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "faults_local_demo::panic_hook_hides_the_message_and_removes_temp_files",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(PANIC_CHILD, &file)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(101), "{err}");
    assert!(
        err.contains("stopped on an internal error (at tests/it/faults_local_demo.rs:"),
        "{err}"
    );
    assert!(
        !err.contains(PASSWORD) && !err.contains("login failed"),
        "{err}"
    );
    assert!(!file.exists(), "the listed file was removed");
}

/// The TUI's worker: `Request::Save` of message `n` to `dest`; the result
/// of its `Event::Saved`.
async fn worker_save(
    tx: &tokio::sync::mpsc::Sender<popdoc::worker::Request>,
    rx: &mut tokio::sync::mpsc::Receiver<popdoc::worker::Event>,
    id: u64,
    n: u32,
    dest: PathBuf,
) -> Result<popdoc::store::Saved, popdoc::worker::Failure> {
    use popdoc::worker::{Event, MsgKey, Request};
    tx.send(Request::Save {
        id,
        key: MsgKey::Number(n),
        dest,
        collision: popdoc::store::Collision::Number,
        cancel: tokio_util::sync::CancellationToken::new(),
    })
    .await
    .unwrap();
    crate::support::actor::until(rx, "the save", |e| match e {
        Event::Saved { id: i, result, .. } if i == id => Some(result),
        _ => None,
    })
    .await
}

fn worker_account(s: &Server) -> popdoc::account::Account {
    crate::support::actor::account(
        "local",
        s.port(),
        "ann",
        PASSWORD,
        popdoc::client::Security::Plaintext,
        Duration::from_secs(10),
    )
}

/// In the TUI: the folder removed during a save fails that save with the
/// sentence (so the app marks nothing as saved), and the next save works.
#[tokio::test(flavor = "multi_thread")]
async fn tui_save_to_a_removed_folder_fails_and_the_session_goes_on() {
    let s = server(trickle()).await;
    let (tx, mut rx, _task) =
        popdoc::worker::spawn(worker_account(&s), PASSWORD.to_string().into(), false);
    crate::support::actor::listed(&mut rx).await;
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("inbox");
    std::fs::create_dir(&dir).unwrap();
    let watched = dir.clone();
    let remover = tokio::task::spawn_blocking(move || {
        wait_for_part(&watched);
        std::fs::remove_dir_all(&watched).unwrap();
    });
    let r = worker_save(&tx, &mut rx, 1, 3, dir.join("big.eml")).await;
    remover.await.unwrap();
    let f = r.unwrap_err();
    assert_eq!(f.kind, popdoc::worker::FailureKind::Local);
    assert!(f.text.contains("was removed while"), "{f}");
    let other = base.path().join("other");
    let saved = worker_save(&tx, &mut rx, 2, 1, other.join("one.eml"))
        .await
        .expect("the next save works");
    assert_eq!(std::fs::read(saved.path).unwrap(), messages()[0]);
}

/// In the TUI: a full disk (a 64 kB tmpfs) mid-RETR fails the save with
/// the sentence, leaves no partial file, and the worker reconnects by
/// itself (the rest of the RETR was still coming), so the next save works.
#[tokio::test(flavor = "multi_thread")]
async fn tui_save_to_a_full_disk_fails_and_the_session_goes_on() {
    let base = tempfile::tempdir().unwrap();
    let mnt = base.path().join("tiny");
    std::fs::create_dir(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "popdoc-test"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a tmpfs here (needs root); the disk-full case is not run");
        return;
    }
    let _unmount = Mounted(mnt.clone());
    let s = server(Faults::default()).await;
    let (tx, mut rx, _task) =
        popdoc::worker::spawn(worker_account(&s), PASSWORD.to_string().into(), false);
    crate::support::actor::listed(&mut rx).await;
    let f = worker_save(&tx, &mut rx, 1, 3, mnt.join("big.eml"))
        .await
        .unwrap_err();
    assert!(
        f.text.contains("is full") && f.text.contains(&*mnt.to_string_lossy()),
        "{f}"
    );
    assert_eq!(names(&mnt), Vec::<String>::new(), "no partial file left");
    // The worker reconnects first if the write failed while the RETR was
    // still coming (a buffered writer may fail only at the final flush,
    // after the whole reply): either way the next save is served.
    let saved = worker_save(&tx, &mut rx, 2, 2, base.path().join("two.eml"))
        .await
        .expect("the next save works");
    assert_eq!(std::fs::read(saved.path).unwrap(), messages()[1]);
}
