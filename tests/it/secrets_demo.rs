//! A distinctive password, given through every source and every login
//! method, in runs that succeed and runs that fail: it must never appear
//! on stdout, on stderr, or in the `--log` debug log (transcript included),
//! neither plain nor base64-encoded as SASL sends it.

use crate::support::cli::{Run, popdoc, write_config};
use crate::support::demo;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use popdoc::demo::{Mailbox, Server, ServerConfig};

const CANARY: &str = "Leak-Canary-8c1f";
const WRONG: &str = "Wrong-Canary-55d2";

async fn server() -> Server {
    demo::start_with(
        ServerConfig {
            user: "ann".into(),
            password: CANARY.into(),
            mechanisms: vec!["PLAIN".into(), "LOGIN".into()],
            user_pass: true,
            apop: true,
            ..Default::default()
        },
        Mailbox::from_messages(vec![b"Subject: hello\r\n\r\nbody\r\n".to_vec()]),
    )
    .await
}

/// Every form the secrets could leak in.
fn forbidden() -> Vec<String> {
    let mut v = Vec::new();
    for pw in [CANARY, WRONG] {
        v.push(pw.to_string());
        v.push(STANDARD.encode(pw));
        v.push(STANDARD.encode(format!("\0ann\0{pw}")));
        v.push(STANDARD.encode(format!("ann\0ann\0{pw}")));
    }
    v
}

struct Case {
    what: &'static str,
    config: String,
    mode: u32,
    args: Vec<&'static str>,
    env: Vec<(&'static str, &'static str)>,
    succeeds: bool,
}

#[tokio::test(flavor = "multi_thread")]
async fn no_output_and_no_log_ever_holds_the_password() {
    let s = server().await;
    let dir = tempfile::tempdir().unwrap();
    let pw_file = dir.path().join("pw");
    std::fs::write(&pw_file, format!("{CANARY}\n")).unwrap();
    let cat = format!("cat '{}'", pw_file.display());
    let account = |extra: &str| {
        format!(
            "[accounts.a]\nhost = \"127.0.0.1\"\nport = {}\nuser = \"ann\"\ntls = \"plaintext\"\n{extra}\n",
            s.port()
        )
    };
    let list = vec!["list", "a"];
    let cases = vec![
        Case {
            what: "password-env, auto login (SASL PLAIN)",
            config: account("password-env = \"ANN_PW\""),
            mode: 0o644,
            args: list.clone(),
            env: vec![("ANN_PW", CANARY)],
            succeeds: true,
        },
        Case {
            what: "password-command, USER/PASS",
            config: account(&format!("password-command = \"{cat}\"\nlogin = \"user\"")),
            mode: 0o644,
            args: list.clone(),
            env: vec![],
            succeeds: true,
        },
        Case {
            what: "password-command, SASL LOGIN",
            config: account(&format!("password-command = \"{cat}\"\nlogin = \"login\"")),
            mode: 0o644,
            args: vec!["list", "--json", "a"],
            env: vec![],
            succeeds: true,
        },
        Case {
            what: "config password, APOP",
            config: account(&format!("password = \"{CANARY}\"\nlogin = \"apop\"")),
            mode: 0o600,
            args: list.clone(),
            env: vec![],
            succeeds: true,
        },
        Case {
            what: "config password, save",
            config: account(&format!("password = \"{CANARY}\"")),
            mode: 0o600,
            args: vec!["save", "a", "1", "--dir", "DIR"],
            env: vec![],
            succeeds: true,
        },
        Case {
            what: "POPDOC_PASSWORD with a URL",
            config: String::new(),
            mode: 0o600,
            args: vec!["list", "--plaintext", "URL"],
            env: vec![("POPDOC_PASSWORD", CANARY)],
            succeeds: true,
        },
        Case {
            what: "wrong password, USER/PASS",
            config: account("password-env = \"ANN_PW\"\nlogin = \"user\""),
            mode: 0o600,
            args: list.clone(),
            env: vec![("ANN_PW", WRONG)],
            succeeds: false,
        },
        Case {
            what: "wrong password, SASL PLAIN",
            config: account(&format!("password = \"{WRONG}\"\nlogin = \"plain\"")),
            mode: 0o600,
            args: list.clone(),
            env: vec![],
            succeeds: false,
        },
        Case {
            what: "password-command that prints the password and fails",
            config: account(&format!("password-command = \"{cat}; {cat} >&2; exit 1\"")),
            mode: 0o600,
            args: list.clone(),
            env: vec![],
            succeeds: false,
        },
        Case {
            what: "password in a file others can read",
            config: account(&format!("password = \"{CANARY}\"")),
            mode: 0o644,
            args: list.clone(),
            env: vec![],
            succeeds: false,
        },
        Case {
            what: "unclosed password string",
            config: account(&format!("password = \"{CANARY}")),
            mode: 0o600,
            args: list.clone(),
            env: vec![],
            succeeds: false,
        },
        Case {
            what: "unquoted password",
            config: account(&format!("password = {CANARY}")),
            mode: 0o600,
            args: list.clone(),
            env: vec![],
            succeeds: false,
        },
        Case {
            what: "password as a list",
            config: account(&format!("password = [\"{CANARY}\"]")),
            mode: 0o600,
            args: list.clone(),
            env: vec![],
            succeeds: false,
        },
        Case {
            what: "password under a misspelt key",
            config: account(&format!("passwrd = \"{CANARY}\"")),
            mode: 0o600,
            args: list.clone(),
            env: vec![],
            succeeds: false,
        },
        Case {
            what: "password and another source",
            config: account(&format!("password = \"{CANARY}\"\nkeyring = true")),
            mode: 0o600,
            args: list.clone(),
            env: vec![],
            succeeds: false,
        },
        Case {
            what: "password given twice",
            config: account(&format!("password = \"{CANARY}\"\npassword = \"{CANARY}\"")),
            mode: 0o600,
            args: list.clone(),
            env: vec![],
            succeeds: false,
        },
    ];
    let url = format!("pop3://ann@127.0.0.1:{}", s.port());
    for (i, case) in cases.iter().enumerate() {
        let case_dir = dir.path().join(format!("case{i}"));
        std::fs::create_dir_all(&case_dir).unwrap();
        let cfg = write_config(&case_dir, &case.config, case.mode);
        let log = case_dir.join("debug.log");
        let mut args: Vec<String> = case
            .args
            .iter()
            .map(|a| match *a {
                "DIR" => case_dir.to_str().unwrap().to_string(),
                "URL" => url.clone(),
                a => a.to_string(),
            })
            .collect();
        args.extend([
            "--config".into(),
            cfg.to_str().unwrap().into(),
            "--log".into(),
            log.to_str().unwrap().into(),
        ]);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut run = Run::new(&argv).env("RUST_BACKTRACE", "1");
        for (k, v) in &case.env {
            run = run.env(k, v);
        }
        let out = popdoc(run).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let logged = std::fs::read_to_string(&log).unwrap_or_default();
        assert_eq!(
            out.status.success(),
            case.succeeds,
            "{}: {stderr}",
            case.what
        );
        assert!(!stderr.contains("panicked"), "{}: {stderr}", case.what);
        if case.succeeds || stderr.contains("login failed") {
            // The log really holds the session, so the check below means something.
            assert!(
                logged.contains("USER ann")
                    || logged.contains("AUTH ")
                    || logged.contains("APOP ann"),
                "{}: the log has no transcript:\n{logged}",
                case.what
            );
        }
        for bad in forbidden() {
            for (name, text) in [
                ("stdout", &*stdout),
                ("stderr", &*stderr),
                ("log", &*logged),
            ] {
                assert!(
                    !text.contains(&bad),
                    "{}: {name} holds the secret ({bad}):\n{text}",
                    case.what
                );
            }
        }
    }
}
