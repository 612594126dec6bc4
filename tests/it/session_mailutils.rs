//! popdoc against a second real server: GNU Mailutils `pop3d` with mbox
//! storage (started by `support::mailutils`). `list --json` against the
//! generated mbox, `save` against what the server sent, commit and leave
//! through the worker the TUI uses, and its mailbox lock.
//!
//! Mailutils rewrites messages: the first session that reads a message adds
//! an `X-UIDL` header to what it sends (its LIST size does not count it), and
//! its QUIT writes `X-UIDL`, `X-UID` and `Status` into the mbox, so sizes
//! change from one session to the next. "Byte-exact" therefore means: the
//! saved file is exactly what the server sent in that session, which the
//! test checks against a RETR of its own in an identical session, and which
//! differs from the generated message only by the header lines Mailutils
//! adds.

use crate::support::actor::{self, listed, until};
use std::time::Duration;

use crate::support::cli::{Run, popdoc};
use crate::support::mailgen::{self, GenMessage};
use crate::support::mailutils::{DOMAIN, Mailutils, MuUser};
use crate::support::report::json;
use popdoc::account::Account;
use popdoc::client::{CertCheck, Security};
use popdoc::worker::{Event, Mark, Request, spawn};
use tokio::sync::mpsc;

/// `popdoc SUBCOMMAND --ca-file CA URL ARGS...`.
async fn run(m: &Mailutils, u: &MuUser, subcommand: &str, args: &[&str]) -> std::process::Output {
    let ca = m.ca_file();
    let url = m.url(u);
    let mut all = vec![subcommand, "--ca-file", ca.to_str().unwrap(), &url];
    all.extend_from_slice(args);
    popdoc(Run::new(&all).password(&u.password)).await
}

fn bytes(msgs: &[GenMessage]) -> Vec<&[u8]> {
    msgs.iter().map(|m| m.bytes.as_slice()).collect()
}

/// The message with the header lines Mailutils adds removed.
fn without_added_headers(msg: &[u8]) -> Vec<u8> {
    let end = msg
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(msg.len(), |i| i + 2);
    let mut out = Vec::new();
    for line in msg[..end].split_inclusive(|&b| b == b'\n') {
        let added = ["X-UIDL:", "X-UID:", "Status:", "X-IMAPbase:"]
            .iter()
            .any(|h| line.starts_with(h.as_bytes()));
        if !added {
            out.extend_from_slice(line);
        }
    }
    out.extend_from_slice(&msg[end..]);
    out
}

/// The message as pop3d serves it before any rewrite: a header line without
/// a colon ends its header, and the header lines after it are dropped
/// (Mailutils 3.15).
fn as_served(msg: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut lines = msg.split_inclusive(|&b| b == b'\n');
    for line in lines.by_ref() {
        if line == b"\r\n" {
            out.extend_from_slice(line);
            break;
        }
        if !line.contains(&b':') && !line.starts_with(b" ") && !line.starts_with(b"\t") {
            lines.by_ref().take_while(|l| *l != b"\r\n").for_each(drop);
            out.extend_from_slice(b"\r\n");
            break;
        }
        out.extend_from_slice(line);
    }
    lines.for_each(|l| out.extend_from_slice(l));
    out
}

fn message_id_in(stored: &[u8], m: &GenMessage) -> bool {
    let id = format!("<{}>", m.message_id);
    stored.windows(id.len()).any(|w| w == id.as_bytes())
}

#[tokio::test(flavor = "multi_thread")]
async fn list_json_matches_the_generated_mbox_and_uidls_survive_the_rewrite() {
    let Some(m) = Mailutils::start() else { return };
    let u = m.add_user("lister", "Mu-List-Pass-1");
    // One message of each kind the generator makes, awkward ones included.
    let msgs = mailgen::mailbox(mailgen::KINDS.len(), 7);
    u.store(&bytes(&msgs));
    let out = run(&m, &u, "list", &["--json"]).await;
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        m.log()
    );
    let v = json(&out);
    assert_eq!(v["count"], msgs.len());
    let rows = v["messages"].as_array().unwrap();
    for (i, (e, g)) in rows.iter().zip(&msgs).enumerate() {
        let what = format!("message {} ({})", i + 1, g.kind);
        assert_eq!(e["number"], i + 1, "{what}");
        let served = as_served(&g.bytes);
        assert_eq!(served.len() < g.bytes.len(), g.kind == "line-without-colon");
        assert_eq!(e["size"], served.len(), "{what}");
        assert_eq!(
            e["subject"],
            g.subject.clone().unwrap_or_default(),
            "{what}"
        );
        assert_eq!(e["from"], g.from.clone().unwrap_or_default(), "{what}");
        assert_eq!(e["message_id"], g.message_id, "{what}");
        match g.date {
            Some(t) => assert_eq!(e["date"], popdoc::util::rfc3339(t).unwrap(), "{what}"),
            None => assert!(e["date"].is_null(), "{what}"),
        }
    }
    let total: usize = msgs.iter().map(|g| as_served(&g.bytes).len()).sum();
    assert_eq!(v["total_size"], total, "LIST counts each stored LF as CRLF");
    let uidls: Vec<&str> = rows.iter().map(|e| e["uidl"].as_str().unwrap()).collect();
    let unique: std::collections::BTreeSet<&&str> = uidls.iter().collect();
    assert_eq!(unique.len(), msgs.len(), "{uidls:?}");

    // The first session's QUIT wrote X-UIDL, X-UID and Status into the mbox:
    // every message grew, and the UIDLs stayed.
    let again = json(&run(&m, &u, "list", &["--json"]).await);
    for (i, (e, g)) in again["messages"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&msgs)
        .enumerate()
    {
        assert_eq!(e["uidl"], uidls[i], "message {}", i + 1);
        let before = as_served(&g.bytes).len() as u64;
        assert!(e["size"].as_u64().unwrap() > before, "message {}", i + 1);
    }
    // The full UIDL is printed, to be pasted into `save --uidl`.
    assert!(uidls.iter().all(|u| u.len() > 30), "{uidls:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn save_is_exactly_what_pop3d_sent() {
    let Some(m) = Mailutils::start() else { return };
    let u = m.add_user("saver", "Mu-Save-Pass-2");
    let msgs = mailgen::mailbox(mailgen::KINDS.len(), 5);
    u.store(&bytes(&msgs));
    let dot = 1 + mailgen::KINDS
        .iter()
        .position(|k| *k == "dot-lines")
        .unwrap();
    let eight = 1 + mailgen::KINDS
        .iter()
        .position(|k| *k == "utf8-8bit-body")
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    // First session: pop3d adds X-UIDL to what it sends, LIST did not count
    // it. popdoc keeps what was sent and says so.
    let first = dir.path().join("first.eml");
    let n = dot.to_string();
    let out = run(&m, &u, "save", &[&n, "-o", first.to_str().unwrap()]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        m.log()
    );
    let saved = std::fs::read(&first).unwrap();
    let original = &msgs[dot - 1].bytes;
    assert!(saved.len() > original.len());
    assert_eq!(
        without_added_headers(&saved),
        *original,
        "only X-UIDL was added"
    );
    assert!(
        stdout.contains(&format!(
            "note: the server's LIST said {} bytes; it sent {}. The file holds exactly what was sent.",
            original.len(),
            saved.len()
        )),
        "{stdout}"
    );

    // Later sessions: a RETR of the test's own marks the message read (its
    // Status changes at QUIT); from then on each session sends the same
    // bytes, and popdoc's file is exactly those.
    let before = m.retr(&u, eight).unwrap();
    let sent = m.retr(&u, eight).unwrap();
    assert_ne!(before, sent, "Status was rewritten after the first RETR");
    let file = dir.path().join("eight.eml");
    let n = eight.to_string();
    let out = run(&m, &u, "save", &[&n, "-o", file.to_str().unwrap()]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved = std::fs::read(&file).unwrap();
    assert!(saved == sent, "the file is byte for byte what pop3d sent");
    assert_eq!(
        m.retr(&u, eight).unwrap(),
        sent,
        "pop3d sends the same bytes again"
    );
    assert_eq!(without_added_headers(&saved), msgs[eight - 1].bytes);
    assert!(
        !stdout.contains("note:"),
        "LIST size and bytes agree now: {stdout}"
    );
    use sha2::Digest;
    let sha = crate::support::common::hex(&sha2::Sha256::digest(&saved));
    assert!(stdout.contains(&sha), "{stdout}");
}

fn account(m: &Mailutils, u: &MuUser) -> Account {
    Account {
        cert: CertCheck::ExtraCa(m.ca_file()),
        ..actor::account(
            "mailutils",
            m.port(),
            &format!("{}@{DOMAIN}", u.name),
            &u.password,
            Security::Implicit,
            Duration::from_secs(10),
        )
    }
}

async fn leave(tx: mpsc::Sender<Request>, mut rx: mpsc::Receiver<Event>) {
    tx.send(Request::Shutdown).await.unwrap();
    until(&mut rx, "the end", |e| {
        matches!(e, Event::Ended).then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn commit_deletes_exactly_the_marked_and_leaving_deletes_nothing() {
    let Some(m) = Mailutils::start() else { return };
    let u = m.add_user("marker", "Mu-Mark-Pass-3");
    let msgs = mailgen::mailbox(5, 3);
    u.store(&bytes(&msgs));

    // Leave without a commit: nothing deleted.
    let (tx, mut rx, _task) = spawn(account(&m, &u), u.password.clone().into(), false);
    let first = listed(&mut rx).await;
    assert_eq!(first.len(), 5);
    leave(tx, rx).await;
    let stored = u.stored();
    assert_eq!(stored.len(), 5, "{}", m.log());
    assert!(stored.iter().zip(&msgs).all(|(s, g)| message_id_in(s, g)));

    // Marks taken in that session (by UIDL) are committed in a new one,
    // where the rewritten messages have other sizes.
    let (tx, mut rx, _task) = spawn(account(&m, &u), u.password.clone().into(), false);
    let second = listed(&mut rx).await;
    assert_eq!(
        second.iter().map(|l| &l.uidl).collect::<Vec<_>>(),
        first.iter().map(|l| &l.uidl).collect::<Vec<_>>()
    );
    assert!(second.iter().zip(&first).all(|(b, a)| b.size > a.size));
    let marks = [2usize, 4]
        .iter()
        .map(|&n| Mark {
            number: n as u32,
            uidl: first[n - 1].uidl.clone(),
        })
        .collect();
    tx.send(Request::Commit(marks)).await.unwrap();
    let report = until(&mut rx, "the commit", |e| match e {
        Event::Committed(r) => Some(r),
        Event::CommitRefused { refused, .. } => panic!("{refused:?}"),
        _ => None,
    })
    .await;
    assert_eq!(report.deleted.len(), 2);
    assert!(report.quit.starts_with("+OK"), "{}", report.quit);
    assert_eq!(
        listed(&mut rx).await.len(),
        3,
        "the worker lists what is left"
    );
    leave(tx, rx).await;
    let stored = u.stored();
    assert_eq!(stored.len(), 3);
    for (s, i) in stored.iter().zip([0, 2, 4]) {
        assert!(message_id_in(s, &msgs[i]), "message {} stays", i + 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_session_is_told_the_mailbox_is_in_use() {
    let Some(m) = Mailutils::start() else { return };
    let u = m.add_user("locker", "Mu-Lock-Pass-4");
    u.store(&bytes(&mailgen::mailbox(2, 1)));
    let (tx, mut rx, _task) = spawn(account(&m, &u), u.password.clone().into(), false);
    listed(&mut rx).await;
    let out = run(&m, &u, "list", &[]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("[IN-USE]"), "{stderr}");
    assert!(
        stderr.contains("another client holds the mailbox lock"),
        "{stderr}"
    );
    leave(tx, rx).await;
    let out = run(&m, &u, "list", &["--json"]).await;
    assert_eq!(json(&out)["count"], 2, "the lock is gone with the session");
}
