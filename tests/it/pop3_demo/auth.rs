//! The AUTHORIZATION state of the built-in server on the wire: USER/PASS,
//! SASL (PLAIN, LOGIN, XOAUTH2, OAUTHBEARER), APOP, CAPA, and limits.
//! It checks the server only, never popdoc's client.

use super::*;

#[tokio::test]
async fn greeting_and_quit_before_login() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    assert!(p.cmd("QUIT").await.starts_with("+OK"));
    assert!(p.rest().await.is_empty(), "server must close after QUIT");
}

#[tokio::test]
async fn user_pass_right_and_wrong() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    assert_eq!(
        p.cmd("STAT").await,
        "-ERR command not valid before login\r\n"
    );
    assert_eq!(p.cmd("PASS demo").await, "-ERR send USER first\r\n");
    p.cmd("USER demo").await;
    assert_eq!(
        p.cmd("PASS nope").await,
        "-ERR [AUTH] authentication failed\r\n"
    );
    p.cmd("user demo").await;
    assert_eq!(p.cmd("pass demo").await, "+OK logged in, 3 messages\r\n");
    assert_eq!(
        p.cmd("stat").await,
        format!("+OK 3 {}\r\n", M1.len() + M2.len() + M3.len())
    );
}

#[tokio::test]
async fn user_pass_can_be_switched_off() {
    let server = start(ServerConfig {
        user_pass: false,
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    assert!(!capa(&mut p).await.contains(&"USER".to_string()));
    assert!(p.cmd("USER demo").await.starts_with("-ERR"));
}

fn plain(user: &str, pass: &str) -> String {
    B64.encode(format!("\0{user}\0{pass}"))
}

#[tokio::test]
async fn auth_plain_with_initial_response() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    let bad = p.cmd(&format!("AUTH PLAIN {}", plain("demo", "x"))).await;
    assert_eq!(bad, "-ERR [AUTH] authentication failed\r\n");
    let ok = p
        .cmd(&format!("AUTH PLAIN {}", plain("demo", "demo")))
        .await;
    assert_eq!(ok, "+OK logged in, 3 messages\r\n");
    assert_eq!(
        server.received(),
        ["AUTH PLAIN ***", "AUTH PLAIN ***"],
        "SASL payloads must be redacted"
    );
}

#[tokio::test]
async fn auth_plain_with_continuation_and_empty_initial_response() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    // "=" is an empty initial response (RFC 5034): not valid PLAIN credentials.
    assert_eq!(
        p.cmd("AUTH PLAIN =").await,
        "-ERR [AUTH] authentication failed\r\n"
    );
    assert_eq!(p.cmd("AUTH PLAIN").await, "+ \r\n");
    let ok = p.cmd(&plain("demo", "demo")).await;
    assert_eq!(ok, "+OK logged in, 3 messages\r\n");
    assert_eq!(server.received(), ["AUTH PLAIN ***", "AUTH PLAIN", "***"]);
}

#[tokio::test]
async fn auth_login_and_cancel() {
    let server = start(ServerConfig {
        mechanisms: vec!["PLAIN".into(), "LOGIN".into()],
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    assert!(capa(&mut p).await.contains(&"SASL PLAIN LOGIN".to_string()));
    assert_eq!(p.cmd("AUTH LOGIN").await, "+ VXNlcm5hbWU6\r\n");
    assert_eq!(p.cmd("*").await, "-ERR authentication cancelled\r\n");
    assert_eq!(p.cmd("AUTH LOGIN").await, "+ VXNlcm5hbWU6\r\n");
    assert_eq!(p.cmd(&B64.encode("demo")).await, "+ UGFzc3dvcmQ6\r\n");
    assert_eq!(
        p.cmd(&B64.encode("demo")).await,
        "+OK logged in, 3 messages\r\n"
    );
}

#[tokio::test]
async fn auth_rejects_unoffered_mechanism_and_bad_base64() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    // XOAUTH2 is not offered without a token, LOGIN not configured.
    assert!(
        p.cmd("AUTH XOAUTH2 dXNlcj0=")
            .await
            .starts_with("-ERR unsupported")
    );
    assert!(p.cmd("AUTH LOGIN").await.starts_with("-ERR unsupported"));
    assert!(
        p.cmd("AUTH PLAIN !!!")
            .await
            .starts_with("-ERR invalid base64")
    );
    p.cmd("AUTH PLAIN").await;
    assert!(p.cmd("%%%").await.starts_with("-ERR invalid base64"));
    assert_eq!(
        p.cmd("NOOP").await,
        "-ERR command not valid before login\r\n"
    );
}

fn oauth_server() -> ServerConfig {
    ServerConfig {
        oauth_token: Some("tok123".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn xoauth2_right_and_wrong_token() {
    let server = start(oauth_server()).await;
    let mut p = connect(&server).await;
    assert!(
        capa(&mut p)
            .await
            .contains(&"SASL PLAIN XOAUTH2 OAUTHBEARER".to_string())
    );
    let bad = B64.encode("user=demo\x01auth=Bearer wrong\x01\x01");
    let challenge = p.cmd(&format!("AUTH XOAUTH2 {bad}")).await;
    let json = B64
        .decode(challenge.strip_prefix("+ ").unwrap().trim_end())
        .unwrap();
    let json: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(json["status"], "401");
    assert_eq!(p.cmd("").await, "-ERR [AUTH] authentication failed\r\n");
    let good = B64.encode("user=demo\x01auth=Bearer tok123\x01\x01");
    assert_eq!(
        p.cmd(&format!("AUTH XOAUTH2 {good}")).await,
        "+OK logged in, 3 messages\r\n"
    );
    assert_eq!(
        server.received(),
        ["CAPA", "AUTH XOAUTH2 ***", "", "AUTH XOAUTH2 ***"]
    );
}

#[tokio::test]
async fn xoauth2_long_token_goes_after_the_continuation() {
    let token = "t".repeat(2000);
    let server = start(ServerConfig {
        oauth_token: Some(token.clone()),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    let ir = B64.encode(format!("user=demo\x01auth=Bearer {token}\x01\x01"));
    // Over 255 octets as a command line: refused.
    assert_eq!(
        p.cmd(&format!("AUTH XOAUTH2 {ir}")).await,
        "-ERR line too long\r\n"
    );
    assert_eq!(p.cmd("AUTH XOAUTH2").await, "+ \r\n");
    assert_eq!(p.cmd(&ir).await, "+OK logged in, 3 messages\r\n");
}

#[tokio::test]
async fn oauthbearer_right_and_wrong_token() {
    let server = start(oauth_server()).await;
    let mut p = connect(&server).await;
    let bad = B64.encode("n,a=demo,\x01host=127.0.0.1\x01auth=Bearer nope\x01\x01");
    let challenge = p.cmd(&format!("AUTH OAUTHBEARER {bad}")).await;
    let json = B64
        .decode(challenge.strip_prefix("+ ").unwrap().trim_end())
        .unwrap();
    assert!(String::from_utf8(json).unwrap().contains("invalid_token"));
    assert_eq!(p.cmd("AQ==").await, "-ERR [AUTH] authentication failed\r\n");
    // Right token, but for another user.
    let other = B64.encode("n,a=other,\x01auth=Bearer tok123\x01\x01");
    assert!(
        p.cmd(&format!("AUTH OAUTHBEARER {other}"))
            .await
            .starts_with("+ ")
    );
    assert!(p.cmd("AQ==").await.starts_with("-ERR [AUTH]"));
    let good = B64.encode("n,a=demo,\x01auth=Bearer tok123\x01\x01");
    assert_eq!(
        p.cmd(&format!("AUTH OAUTHBEARER {good}")).await,
        "+OK logged in, 3 messages\r\n"
    );
}

#[tokio::test]
async fn apop_with_the_greeting_timestamp() {
    let server = start(ServerConfig {
        apop: true,
        ..Default::default()
    })
    .await;
    let s = TcpStream::connect(server.addr()).await.unwrap();
    let mut p = Pop {
        io: BufReader::new(s),
    };
    let greeting = p.line().await;
    let ts = &greeting[greeting.find('<').unwrap()..=greeting.find('>').unwrap()];
    assert!(ts.contains('@'));
    let digest = |pw: &str| -> String {
        Md5::digest(format!("{ts}{pw}"))
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    };
    let wrong = p.cmd(&format!("APOP demo {}", digest("x"))).await;
    assert_eq!(wrong, "-ERR [AUTH] authentication failed\r\n");
    let ok = p.cmd(&format!("APOP demo {}", digest("demo"))).await;
    assert_eq!(ok, "+OK logged in, 3 messages\r\n");
    assert_eq!(server.received(), ["APOP demo ***", "APOP demo ***"]);
}

#[tokio::test]
async fn apop_is_refused_when_off() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    assert_eq!(
        p.cmd("APOP demo 00000000000000000000000000000000").await,
        "-ERR APOP is not supported\r\n"
    );
}

#[tokio::test]
async fn received_redacts_pass_and_keeps_other_lines() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    p.cmd("USER demo").await;
    p.cmd("PASS demo").await;
    p.cmd("NOOP").await;
    assert_eq!(server.received(), ["USER demo", "PASS ***", "NOOP"]);
}

#[tokio::test]
async fn capa_before_and_after_login() {
    let server = start(ServerConfig {
        faults: Faults {
            expire: Some("NEVER".into()),
            login_delay: Some(900),
            ..Default::default()
        },
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    let before = capa(&mut p).await;
    for c in [
        "TOP",
        "UIDL",
        "RESP-CODES",
        "AUTH-RESP-CODE",
        "PIPELINING",
        "USER",
        "SASL PLAIN",
        "EXPIRE NEVER",
        "LOGIN-DELAY 900",
        "IMPLEMENTATION popdoc-demo",
    ] {
        assert!(before.contains(&c.to_string()), "missing {c} in {before:?}");
    }
    assert!(!before.iter().any(|c| c == "STLS"), "no TLS configured");
    p.login().await;
    let after = capa(&mut p).await;
    assert!(after.contains(&"PIPELINING".to_string()));
    assert!(after.contains(&"EXPIRE NEVER".to_string()));
}

#[tokio::test]
async fn overlong_command_line_is_refused_and_the_session_goes_on() {
    let server = start(ServerConfig::default()).await;
    let mut p = connect(&server).await;
    let long = format!("USER {}", "x".repeat(300));
    assert_eq!(p.cmd(&long).await, "-ERR line too long\r\n");
    assert_eq!(p.cmd("FROB").await, "-ERR unknown command\r\n");
    p.login().await;
}

#[tokio::test]
async fn idle_connection_is_closed() {
    let server = start(ServerConfig {
        idle_timeout: Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let mut p = connect(&server).await;
    p.login().await;
    let mb_before = server.received().len();
    assert_eq!(p.rest().await, b"-ERR Disconnected for inactivity\r\n");
    assert_eq!(server.received().len(), mb_before);
    // The lock is released: a new session can log in.
    let mut q = connect(&server).await;
    q.login().await;
}
