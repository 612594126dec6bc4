//! The real binary's `list` and `save` against the built-in server.

use crate::support::cli::{Run, popdoc};
use crate::support::demo;

use popdoc::demo::{Faults, Mailbox, Server};

const PASSWORD: &str = "cli-Secret-42";

fn messages() -> Vec<Vec<u8>> {
    vec![
        b"From: =?UTF-8?B?w4lsb2TDqWU=?= <elo@example.org>\r\nSubject: =?ISO-8859-1?Q?Caf=E9?=\r\nDate: Fri, 20 Nov 2026 09:15:00 +0000\r\n\r\nbody\r\n.dot\r\n".to_vec(),
        b"Subject: no from \x1b[31mred\r\n\r\nx\r\n".to_vec(),
        b"From: big@example.net\r\nSubject: big one\r\n\r\n".iter().copied().chain(std::iter::repeat_n(b'a', 300_000)).chain(*b"\r\n").collect(),
    ]
}

async fn server(faults: Faults) -> Server {
    demo::start("ann", PASSWORD, faults, Mailbox::from_messages(messages())).await
}

fn url(s: &Server) -> String {
    format!("pop3://ann@127.0.0.1:{}", s.port())
}

#[tokio::test(flavor = "multi_thread")]
async fn list_json_and_table() {
    let s = server(Faults::default()).await;
    let out =
        popdoc(Run::new(&["list", "--json", "--plaintext", &url(&s)]).password(PASSWORD)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["count"], 3);
    let m = &v["messages"];
    assert_eq!(m[0]["number"], 1);
    assert_eq!(m[0]["from"], "Élodée");
    assert_eq!(m[0]["subject"], "Café");
    assert_eq!(m[0]["date"], "2026-11-20T09:15:00Z");
    assert_eq!(m[1]["from"], "");
    assert_eq!(m[1]["subject"], "no from [31mred");
    assert_eq!(m[2]["size"], messages()[2].len());
    assert_eq!(m[2]["uidl"], s_uidl(&s, 2));

    let out = popdoc(Run::new(&["list", "--plaintext", &url(&s)]).password(PASSWORD)).await;
    let table = String::from_utf8(out.stdout).unwrap();
    assert!(table.contains("Café"), "{table}");
    assert!(
        !table.contains('\x1b'),
        "no escape sequences reach the terminal"
    );
    assert!(table.lines().last().unwrap().starts_with("3 messages"));
}

fn s_uidl(s: &Server, i: usize) -> String {
    let _ = s;
    Mailbox::from_messages(messages()).uidls()[i].clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn save_by_number_and_uidl_never_overwrites() {
    let s = server(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.eml");
    let f = file.to_str().unwrap();
    let out =
        popdoc(Run::new(&["save", "--plaintext", &url(&s), "1", "-o", f]).password(PASSWORD)).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(std::fs::read(&file).unwrap(), messages()[0]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(
        stdout.contains(&format!("{} bytes", messages()[0].len())),
        "{stdout}"
    );
    assert!(stdout.contains("SHA-256 "), "{stdout}");

    let out =
        popdoc(Run::new(&["save", "--plaintext", &url(&s), "3", "-o", f]).password(PASSWORD)).await;
    assert!(!out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("already exists; popdoc never overwrites"),
        "{err}"
    );
    assert_eq!(std::fs::read(&file).unwrap(), messages()[0], "untouched");

    let uidl = s_uidl(&s, 2);
    let d = dir.path().to_str().unwrap();
    let out = popdoc(
        Run::new(&["save", "--plaintext", &url(&s), "--uidl", &uidl, "--dir", d])
            .password(PASSWORD),
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let saved: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.file_name().unwrap().to_str().unwrap().contains("big-one"))
        .collect();
    assert_eq!(saved.len(), 1, "named after the message");
    assert_eq!(std::fs::read(&saved[0]).unwrap(), messages()[2]);
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_one_sentence_and_never_show_the_password() {
    let s = server(Faults::default()).await;
    let out = popdoc(Run::new(&["list", "--plaintext", &url(&s)]).password("wrong-Pass-99")).await;
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.starts_with("popdoc: login failed: -ERR [AUTH]"),
        "{err}"
    );
    assert!(!err.contains("wrong-Pass-99"));

    let out = popdoc(Run::new(&["save", "--plaintext", &url(&s), "9"]).password(PASSWORD)).await;
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("there is no message 9 on the server (it has 3 messages)"),
        "{err}"
    );

    // Without --plaintext, pop3:// needs STLS, which this server lacks.
    let before = s.received().len();
    let out = popdoc(Run::new(&["list", &url(&s)]).password(PASSWORD)).await;
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("does not offer STLS"), "{err}");
    let sent = &s.received()[before..];
    assert!(sent.contains(&"CAPA".to_string()), "{sent:?}");
    assert!(
        sent.iter()
            .all(|l| !l.starts_with("USER") && !l.starts_with("AUTH")),
        "{sent:?}"
    );

    let out = popdoc(Run::new(&["list", "pop3s://ann:pw@host"]).password(PASSWORD)).await;
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("do not put the password in the URL"), "{err}");
}

/// `popdoc list` prints each row as its header comes in: with the last
/// `TOP` not answered (and a long `--timeout`), the rows before it are
/// already on stdout while the command still waits (table and JSON alike).
#[tokio::test(flavor = "multi_thread")]
async fn list_rows_are_printed_before_the_last_header_arrives() {
    use tokio::io::AsyncReadExt;
    let mut many: Vec<Vec<u8>> = Vec::new();
    for i in 1..=40 {
        many.push(format!("From: a{i}@example.org\r\nSubject: row {i}\r\n\r\nx\r\n").into_bytes());
    }
    let faults = Faults {
        stall_at: Some("TOP 40 0".into()),
        ..Default::default()
    };
    let s = demo::start("ann", PASSWORD, faults, Mailbox::from_messages(many)).await;
    for json in [false, true] {
        let mut args = vec!["list", "--plaintext", "--timeout", "60"];
        if json {
            args.push("--json");
        }
        let u = url(&s);
        args.push(&u);
        let run = Run::new(&args).password(PASSWORD);
        let mut child = tokio::process::Command::from(run.command())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut seen = Vec::new();
        let all_but_last = |text: &str| {
            (1..=39).all(|i| {
                text.contains(&format!("row {i}\"")) || text.contains(&format!("row {i}\n"))
            })
        };
        let got = tokio::time::timeout(std::time::Duration::from_secs(30), async {
            let mut buf = [0u8; 4096];
            loop {
                let n = stdout.read(&mut buf).await.unwrap();
                if n == 0 {
                    return false;
                }
                seen.extend_from_slice(&buf[..n]);
                if all_but_last(&String::from_utf8_lossy(&seen)) {
                    return true;
                }
            }
        })
        .await;
        let text = String::from_utf8_lossy(&seen).to_string();
        assert_eq!(got, Ok(true), "rows 1-39 while TOP 40 waits: {text}");
        assert!(
            child.try_wait().unwrap().is_none(),
            "popdoc is still waiting for TOP 40 0"
        );
        assert!(!text.contains("row 40"), "{text}");
        child.kill().await.unwrap();
    }
}
