//! The built-in server copying habits of real servers (`Faults::popa3d`,
//! `Faults::mailutils`), and popdoc coping with them: the command-line
//! twins and the worker the TUI uses list, save and commit correctly.

use crate::support::actor::{self, listed, until};
use crate::support::demo;
use std::time::{Duration, Instant};

use crate::support::cli::{Run, popdoc};
use crate::support::report::{json, text};
use popdoc::account::Account;
use popdoc::client::Security;
use popdoc::demo::{Faults, Mailbox, Server};
use popdoc::store::Collision;
use popdoc::worker::{Event, Mark, MsgKey, Request, spawn};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const PASSWORD: &str = "quirk-Pass-5";

fn messages(n: usize) -> Vec<Vec<u8>> {
    (1..=n)
        .map(|i| {
            format!(
                "From: Sender {i} <s{i}@example.org>\r\nSubject: quirk {i}\r\n\
                 Message-ID: <q{i}@example.org>\r\n\r\nbody {i}\r\n.dot line {i}\r\n"
            )
            .into_bytes()
        })
        .collect()
}

async fn server(n: usize, faults: Faults) -> (Server, Mailbox) {
    let mailbox = Mailbox::from_messages(messages(n));
    let server = demo::start("q", PASSWORD, faults, mailbox.clone()).await;
    (server, mailbox)
}

fn url(s: &Server) -> String {
    format!("pop3://q@127.0.0.1:{}", s.port())
}

fn account(s: &Server) -> Account {
    actor::account(
        "quirks",
        s.port(),
        "q",
        PASSWORD,
        Security::Plaintext,
        Duration::from_secs(5),
    )
}

/// Commits `marks` in a session of its own and leaves.
async fn commit_in_new_session(s: &Server, marks: Vec<Mark>) -> usize {
    let (tx, mut rx, task) = spawn(account(s), PASSWORD.into(), false);
    listed(&mut rx).await;
    tx.send(Request::Commit(marks)).await.unwrap();
    let report = until(&mut rx, "the commit", |e| match e {
        Event::Committed(r) => Some(r),
        Event::CommitRefused { refused, .. } => panic!("{refused:?}"),
        _ => None,
    })
    .await;
    assert!(report.gone.is_empty(), "{:?}", report.gone);
    listed(&mut rx).await;
    leave(tx, rx, task).await;
    report.deleted.len()
}

/// Leaves (QUIT, nothing deleted) and waits for the worker to end.
async fn leave(
    tx: mpsc::Sender<Request>,
    mut rx: mpsc::Receiver<Event>,
    task: tokio::task::JoinHandle<()>,
) {
    tx.send(Request::Shutdown).await.unwrap();
    until(&mut rx, "the end", |e| {
        matches!(e, Event::Ended).then_some(())
    })
    .await;
    task.await.unwrap();
}

fn mark(listing: &[popdoc::client::ops::Listing], n: usize) -> Mark {
    Mark {
        number: n as u32,
        uidl: listing[n - 1].uidl.clone(),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn popa3d_has_no_capa_bare_replies_and_a_delay() {
    let (s, _) = server(1, Faults::popa3d()).await;
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", s.port()))
        .await
        .unwrap();
    let (r, mut w) = tcp.into_split();
    let mut r = BufReader::new(r);
    let mut line = String::new();
    r.read_line(&mut line).await.unwrap();
    assert_eq!(line, "+OK\r\n");
    for (cmd, want) in [("CAPA", "-ERR\r\n"), ("USER q", "+OK\r\n")] {
        let started = Instant::now();
        w.write_all(format!("{cmd}\r\n").as_bytes()).await.unwrap();
        line.clear();
        r.read_line(&mut line).await.unwrap();
        assert_eq!(line, want, "{cmd}");
        assert!(started.elapsed() >= Duration::from_millis(40), "{cmd}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn popa3d_lists_saves_and_commits() {
    let (s, mailbox) = server(3, Faults::popa3d()).await;
    let msgs = messages(3);
    let out =
        popdoc(Run::new(&["list", "--json", "--plaintext", &url(&s)]).password(PASSWORD)).await;
    let v = json(&out);
    assert_eq!(v["count"], 3);
    for (i, e) in v["messages"].as_array().unwrap().iter().enumerate() {
        assert_eq!(e["size"], msgs[i].len());
        assert_eq!(e["subject"], format!("quirk {}", i + 1));
        assert_eq!(e["uidl"], mailbox.uidls()[i]);
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("two.eml");
    let out = popdoc(
        Run::new(&[
            "save",
            "--plaintext",
            &url(&s),
            "2",
            "-o",
            file.to_str().unwrap(),
        ])
        .password(PASSWORD),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&file).unwrap(), msgs[1]);
    assert!(!text(&out).contains("note:"), "{}", text(&out));

    let (tx, mut rx, task) = spawn(account(&s), PASSWORD.into(), false);
    let listing = listed(&mut rx).await;
    leave(tx, rx, task).await;
    let deleted = commit_in_new_session(&s, vec![mark(&listing, 1), mark(&listing, 3)]).await;
    assert_eq!(deleted, 2);
    assert_eq!(mailbox.messages(), [msgs[1].clone()]);
    assert!(s.received().iter().any(|l| l == "CAPA"));
}

/// What the Mailutils quirk sends on a first read, and stores afterwards.
fn with_headers(msg: &[u8], uidl: &str, status: bool) -> Vec<u8> {
    let end = msg.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 2;
    let mut out = msg[..end].to_vec();
    out.extend_from_slice(format!("X-UIDL: {uidl}\r\n").as_bytes());
    if status {
        out.extend_from_slice(b"Status: RO\r\n");
    }
    out.extend_from_slice(&msg[end..]);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn mailutils_save_reports_the_difference_and_sizes_change_between_sessions() {
    let (s, mailbox) = server(3, Faults::mailutils()).await;
    let msgs = messages(3);
    let uidls = mailbox.uidls();
    let dir = tempfile::tempdir().unwrap();
    let save = |name: &str| {
        let file = dir.path().join(name);
        let url = url(&s);
        async move {
            let f = file.to_str().unwrap();
            let out =
                popdoc(Run::new(&["save", "--plaintext", &url, "2", "-o", f]).password(PASSWORD))
                    .await;
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            (std::fs::read(&file).unwrap(), text(&out))
        }
    };
    let (first, said) = save("first.eml").await;
    assert_eq!(first, with_headers(&msgs[1], &uidls[1], false));
    assert!(
        said.contains(&format!(
            "note: the server's LIST said {} bytes; it sent {}. The file holds exactly what was sent.",
            msgs[1].len(),
            first.len()
        )),
        "{said}"
    );
    // The session's end stored X-UIDL and Status for the message it read.
    let stored = with_headers(&msgs[1], &uidls[1], true);
    assert_eq!(
        mailbox.messages(),
        [msgs[0].clone(), stored.clone(), msgs[2].clone()]
    );
    let v = json(
        &popdoc(Run::new(&["list", "--json", "--plaintext", &url(&s)]).password(PASSWORD)).await,
    );
    let sizes: Vec<u64> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["size"].as_u64().unwrap())
        .collect();
    let want = [msgs[0].len(), stored.len(), msgs[2].len()].map(|n| n as u64);
    assert_eq!(sizes, want);
    assert_eq!(mailbox.uidls(), uidls, "UIDLs stay");
    let (second, said) = save("second.eml").await;
    assert_eq!(second, stored, "what the server sent this time");
    assert!(!said.contains("note:"), "{said}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mailutils_marks_follow_uidls_across_sessions_and_renumbering() {
    let (s, mailbox) = server(4, Faults::mailutils()).await;
    let msgs = messages(4);
    let uidls = mailbox.uidls();
    let dir = tempfile::tempdir().unwrap();

    // Session 1: list, save message 3, mark 3 and 4; leave.
    let (tx, mut rx, task) = spawn(account(&s), PASSWORD.into(), false);
    let first = listed(&mut rx).await;
    tx.send(Request::Save {
        id: 1,
        key: MsgKey::new(3, first[2].uidl.as_deref()),
        dest: dir.path().join("three.eml"),
        collision: Collision::Number,
        cancel: CancellationToken::new(),
    })
    .await
    .unwrap();
    let (saved, list_size) = until(&mut rx, "the save", |e| match e {
        Event::Saved {
            id: 1,
            result,
            list_size,
            ..
        } => Some((result.unwrap(), list_size)),
        _ => None,
    })
    .await;
    let sent = with_headers(&msgs[2], &uidls[2], false);
    assert_eq!(std::fs::read(&saved.path).unwrap(), sent);
    assert_eq!(list_size, msgs[2].len() as u64);
    assert_eq!(saved.size, sent.len() as u64, "the difference is reported");
    let marks = vec![mark(&first, 3), mark(&first, 4)];
    leave(tx, rx, task).await;

    // Another session deletes message 1: the marked ones are now 2 and 3,
    // and message 3 has grown.
    assert_eq!(commit_in_new_session(&s, vec![mark(&first, 1)]).await, 1);
    let (tx, mut rx, task) = spawn(account(&s), PASSWORD.into(), false);
    let now = listed(&mut rx).await;
    assert_eq!(now[1].uidl.as_deref(), Some(uidls[2].as_str()));
    assert_eq!(
        now[1].size,
        with_headers(&msgs[2], &uidls[2], true).len() as u64
    );
    leave(tx, rx, task).await;

    assert_eq!(commit_in_new_session(&s, marks).await, 2);
    assert_eq!(mailbox.uidls(), [uidls[1].clone()]);
    assert_eq!(mailbox.messages(), [msgs[1].clone()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn mailutils_lock_is_reported_as_in_use() {
    let (s, _) = server(2, Faults::mailutils()).await;
    let (tx, mut rx, task) = spawn(account(&s), PASSWORD.into(), false);
    listed(&mut rx).await;
    let out = popdoc(Run::new(&["list", "--plaintext", &url(&s)]).password(PASSWORD)).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("-ERR [IN-USE]")
            && stderr.contains("another client holds the mailbox lock"),
        "{stderr}"
    );
    leave(tx, rx, task).await;
    let out =
        popdoc(Run::new(&["list", "--json", "--plaintext", &url(&s)]).password(PASSWORD)).await;
    assert_eq!(json(&out)["count"], 2);
}
