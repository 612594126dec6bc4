//! `popdoc check` against scripted peers (broken UIDLs, a RETR shorter than
//! LIST), on an open connection (`report_from_session`, which must send
//! nothing), from a config account, without a password, and in the demo.

use super::*;

/// A POP3 server that answers from a script; its UIDLs break RFC 1939.
async fn scripted_peer() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (r, mut w) = s.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"+OK scripted\r\n").await.unwrap();
        let long = "L".repeat(71);
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
            let reply = match verb.as_str() {
                "CAPA" => "+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n".to_string(),
                "USER" | "PASS" => "+OK\r\n".into(),
                "STAT" => "+OK 4 400\r\n".into(),
                "LIST" => "+OK\r\n1 100\r\n2 100\r\n3 100\r\n4 100\r\n.\r\n".into(),
                "UIDL" => format!("+OK\r\n1 same\r\n2 same\r\n3 {long}\r\n4 bad\x7fone\r\n.\r\n"),
                "TOP" => "+OK\r\nSubject: x\r\n\r\n.\r\n".into(),
                "QUIT" => {
                    w.write_all(b"+OK bye\r\n").await.unwrap();
                    break;
                }
                _ => "-ERR unknown\r\n".into(),
            };
            w.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn uidl_problems_are_reported() {
    let port = scripted_peer().await;
    let out =
        popdoc(Run::new(&["check", "--json", "--plaintext", &url(port)]).password(PASSWORD)).await;
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let v = json(&out);
    let u = &v["mailbox"]["uidl"];
    assert_eq!(
        u["duplicates"],
        serde_json::json!([{"uidl": "same", "messages": [1, 2]}])
    );
    assert_eq!(u["too_long"], serde_json::json!([3]));
    assert_eq!(u["bad_characters"], serde_json::json!([4]));
    let problems = v["problems"].to_string();
    assert!(
        problems.contains("messages 1, 2 share the UIDL same"),
        "{problems}"
    );
    assert!(problems.contains("longer than 70"), "{problems}");
}

#[tokio::test(flavor = "multi_thread")]
async fn report_from_an_open_session_sends_nothing() {
    let pki = certs::pki();
    let s = server_with(ServerConfig {
        user: "ann".into(),
        password: PASSWORD.into(),
        tls: Some(pki.server_config()),
        implicit_tls: true,
        ..Default::default()
    })
    .await;
    let endpoint = Endpoint {
        host: "127.0.0.1".into(),
        port: s.port(),
        security: Security::Implicit,
        cert: CertCheck::Pin(
            popdoc::client::transport::parse_fingerprint(&pki.fingerprint).unwrap(),
        ),
        connect_timeout: Duration::from_secs(5),
    };
    let mut conn = Connection::open(endpoint, Duration::from_secs(5), &mut |_, _| {})
        .await
        .unwrap();
    let creds = Credentials {
        user: "ann".into(),
        secret: PASSWORD.into(),
        token: false,
    };
    conn.login(&creds, LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap();
    let listing = conn.listing().await.unwrap();
    conn.top_many(&[1, 2, 3], 0, 64 * 1024, &mut |_, _| {})
        .await
        .unwrap();
    let mut file = tokio::io::sink();
    conn.retr_to(2, &mut file, &mut |_| {}, None).await.unwrap();
    let before = s.received().len();

    let args = popdoc::cli::ConnArgs::default();
    let account = args
        .account(&format!("pop3s://ann@127.0.0.1:{}", s.port()))
        .unwrap();
    let report = popdoc::report::report_from_session(&conn, &listing, &account);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        s.received().len(),
        before,
        "the report must not send anything"
    );

    assert_eq!(report.source, popdoc::report::Source::Session);
    assert!(report.ok);
    let tls = report.tls.as_ref().unwrap();
    assert!(tls.verified);
    assert_eq!(tls.verified_by.as_deref(), Some("pinned fingerprint"));
    assert_eq!(tls.sha256.as_deref(), Some(pki.fingerprint.as_str()));
    let c = tls.certificate.as_ref().unwrap();
    assert_eq!(c.subject, "CN=localhost");
    assert_eq!(c.issuer, "CN=popdoc test CA");
    assert_eq!(c.names, vec!["localhost", "127.0.0.1"]);
    assert_eq!(
        report.login.as_ref().unwrap().method.as_deref(),
        Some("SASL PLAIN")
    );
    let m = report.mailbox.as_ref().unwrap();
    assert_eq!(m.messages, 3);
    assert_eq!(m.largest[0].number, 3);
    let top = report
        .timings
        .iter()
        .find(|t| t.stage == Step::Top)
        .unwrap();
    assert_eq!(top.samples, 3, "every TOP of the session");
    assert!(
        report
            .timings
            .iter()
            .any(|t| t.stage == Step::RetrFirstByte)
    );
    assert!(report.timings.iter().any(|t| t.stage == Step::Tls));
    let text = popdoc::report::render_text(&report, None);
    assert!(text.contains("Source"), "{text}");
    assert!(text.contains("CN=popdoc test CA"), "{text}");
    assert!(!text.contains(PASSWORD));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_from_the_config_file() {
    let s = server(Faults::default()).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("popdoc.toml");
    std::fs::write(
        &cfg,
        format!(
            "[accounts.shop]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"ann\"\ntls = \"plaintext\"\npassword-env = \"CHECK_TEST_PW\"\n",
            s.port()
        ),
    )
    .unwrap();
    let out = popdoc(
        Run::new(&["check", "--json", "--config", cfg.to_str().unwrap(), "shop"])
            .env("CHECK_TEST_PW", PASSWORD),
    )
    .await;
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = json(&out);
    assert_eq!(v["target"], "shop");
    assert_eq!(v["connection"]["user"], "ann");
    assert_eq!(v["mailbox"]["messages"], 3);

    let out =
        popdoc(Run::new(&["check", "--config", cfg.to_str().unwrap(), "nope"]).password(PASSWORD))
            .await;
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no account \"nope\""));
}

/// Without a password there is nothing to log in with: one verdict, before
/// any connection, and no "none found" beside it.
#[tokio::test(flavor = "multi_thread")]
async fn no_password_is_one_coherent_failure() {
    // No password anywhere and no terminal to ask on; nothing listens on
    // port 1, and the check must not even try.
    let out = popdoc(Run::new(&[
        "check",
        "--plaintext",
        "pop3://ann@127.0.0.1:1",
    ]))
    .await;
    assert_eq!(out.status.code(), Some(4));
    let t = text(&out);
    assert!(
        t.contains("FAILED before connecting (exit status 4)"),
        "{t}"
    );
    assert!(!t.contains("none found"), "{t}");
    assert!(!t.contains("could not connect"), "{t}");
    let problems = &t[t.find("\nProblems\n").unwrap()..];
    assert!(problems.contains("- ERROR (login): "), "{t}");
    assert!(
        problems.contains("popdoc did not connect to the server."),
        "{t}"
    );
}

/// A server whose RETR delivers far fewer bytes than LIST says (Courier
/// without UTF8 lists the real size and sends a placeholder): a warning,
/// not a note that sizes often differ by a line break.
async fn lying_list_peer() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (s, _) = listener.accept().await.unwrap();
        let (r, mut w) = s.into_split();
        let mut lines = BufReader::new(r).lines();
        w.write_all(b"+OK ready\r\n").await.unwrap();
        while let Ok(Some(line)) = lines.next_line().await {
            let verb = line.split(' ').next().unwrap_or("").to_ascii_uppercase();
            let reply = match verb.as_str() {
                "CAPA" => "+OK\r\nUSER\r\nUIDL\r\nTOP\r\n.\r\n",
                "USER" | "PASS" => "+OK\r\n",
                "STAT" => "+OK 1 5000\r\n",
                "LIST" => "+OK\r\n1 5000\r\n.\r\n",
                "UIDL" => "+OK\r\n1 a1\r\n.\r\n",
                "TOP" => "+OK\r\nSubject: x\r\n\r\n.\r\n",
                "RETR" => "+OK\r\nSubject: placeholder\r\n\r\nshort\r\n.\r\n",
                "QUIT" => {
                    w.write_all(b"+OK bye\r\n").await.unwrap();
                    break;
                }
                _ => "-ERR unknown\r\n",
            };
            w.write_all(reply.as_bytes()).await.unwrap();
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread")]
async fn a_retr_size_that_differs_from_list_is_a_problem() {
    let port = lying_list_peer().await;
    let out = popdoc(
        Run::new(&[
            "check",
            "--plaintext",
            "--retr",
            "1",
            &format!("pop3://ann@127.0.0.1:{port}"),
        ])
        .password(PASSWORD),
    )
    .await;
    let t = text(&out);
    // The words, whatever the wrapping.
    let problems = t[t.find("\nProblems\n").unwrap()..]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert!(
        problems.contains(
            "- WARNING (RETR whole): LIST said message 1 has 5000 bytes; RETR delivered 31."
        ),
        "{t}"
    );
    assert!(problems.contains("placeholder"), "{t}");
    assert!(t.contains("NONE (plaintext, chosen by --plaintext)"), "{t}");
    // Piped output is not wrapped: the sentence is one line.
    assert!(
        t.lines().any(|l| l.contains(
            "RETR delivered 31. The server rewrote or replaced the message it delivers (some servers"
        )),
        "{t}"
    );
}

/// The demo's report says what chose the plain connection: the built-in
/// demo server, not a --plaintext nobody passed.
#[tokio::test(flavor = "multi_thread")]
async fn the_demo_report_names_what_chose_plaintext() {
    let (server, account, _dir) = popdoc::cmd::demo::start(false, None).await.unwrap();
    let mut conn = Connection::open(account.endpoint(), Duration::from_secs(5), &mut |_, _| {})
        .await
        .unwrap();
    let creds = Credentials {
        user: account.user.clone(),
        secret: "demo".into(),
        token: false,
    };
    conn.login(&creds, LoginMethod::Auto, &mut |_, _| {})
        .await
        .unwrap();
    let listing = conn.listing().await.unwrap();
    let report = popdoc::report::report_from_session(&conn, &listing, &account);
    let t = popdoc::report::render_text(&report, None);
    assert!(
        t.contains("NONE (plaintext, chosen by the built-in demo server"),
        "{t}"
    );
    assert!(!t.contains("--plaintext"), "{t}");
    drop(conn);
    server.shutdown().await;
}
