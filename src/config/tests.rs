//! Tests of the config file: accounts read from TOML, the errors that name
//! the line and the key, and how a command-line target picks an account.

use std::time::Duration;

use super::*;
use crate::client::conn::LoginMethod;
use crate::client::transport::{CertCheck, Security};

fn loc() -> Location {
    Location {
        path: PathBuf::from("/cfg/popdoc.toml"),
        origin: Origin::Flag,
    }
}

fn ok(text: &str) -> Config {
    match parse(&loc(), text, Some(0o600)) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn err(text: &str) -> String {
    match parse(&loc(), text, Some(0o600)) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_full_account() {
    let c = ok(r#"
default = "b"
[accounts.a]
host = "pop.example.com"
user = "alice@example.com"
[accounts.b]
host = "mail.example.net"
port = 1_110
user = "bob"
tls = "StartTLS"
fingerprint = "sha256:ABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB"
login = "apop"
password-env = "B_PW"
timeout = 5
connect-timeout = 7
save-dir = "saved"
preview-lines = 0
keepalive = 0
"#);
    assert_eq!(c.default.as_deref(), Some("b"));
    assert_eq!(c.names(), "a, b", "in file order");
    let a = c.account("a").unwrap();
    assert_eq!((a.security, a.port), (Security::Implicit, 995));
    assert_eq!(a.cert, CertCheck::System);
    assert_eq!(a.login, LoginMethod::Auto);
    assert_eq!(a.timeout, account::DEFAULT_TIMEOUT);
    assert_eq!(a.keepalive, Some(account::DEFAULT_KEEPALIVE));
    // Every 3 minutes: well before a 10-minute autologout (RFC 1939 §3).
    assert_eq!(a.keepalive, Some(Duration::from_secs(180)));
    let b = c.account("b").unwrap();
    assert_eq!(b.label, "b");
    assert_eq!((b.security, b.port), (Security::StartTls, 1110));
    assert_eq!(b.cert, CertCheck::Pin([0xab; 32]));
    assert_eq!(b.login, LoginMethod::Apop);
    assert_eq!(b.secret, SecretSource::Env("B_PW".into()));
    assert_eq!(b.timeout, Duration::from_secs(5));
    assert_eq!(b.connect_timeout, Duration::from_secs(7));
    assert_eq!(b.save_dir, Some(PathBuf::from("/cfg/saved")));
    assert_eq!(b.preview_lines, 0);
    assert_eq!(b.keepalive, None);
    assert!(c.warnings().is_empty());
}

#[test]
fn secret_sources() {
    let c = ok(r#"
[accounts.k]
host = "h"
user = "u"
keyring = true
[accounts.c]
host = "h"
user = "u"
password-command = "pass show x"
[accounts.t]
host = "h"
user = "u"
login = "oauthbearer"
oauth-token-command = "oama access u"
[accounts.p]
host = "h"
user = "u"
keyring = false
password = "Cfg-Secret-1"
"#);
    assert_eq!(
        c.account("k").unwrap().secret,
        SecretSource::Keyring {
            service: "popdoc".into(),
            user: "k".into()
        }
    );
    assert!(uses_keyring(c.account("k").unwrap()));
    assert_eq!(
        c.account("c").unwrap().secret,
        SecretSource::Command("pass show x".into())
    );
    assert_eq!(
        c.account("t").unwrap().secret,
        SecretSource::TokenCommand("oama access u".into())
    );
    assert_eq!(
        c.account("p").unwrap().secret,
        SecretSource::ConfigPassword("Cfg-Secret-1".into())
    );
    assert_eq!(c.warnings().len(), 1);
    assert!(c.warnings_for("k").is_empty());
    let w = &c.warnings_for("p")[0];
    assert!(
        w.starts_with("/cfg/popdoc.toml line 19: account \"p\""),
        "{w}"
    );
    assert!(!w.contains("Cfg-Secret-1"));
}

#[test]
fn a_password_in_a_readable_file_is_refused() {
    let text = "[accounts.p]\nhost = \"h\"\nuser = \"u\"\npassword = \"Cfg-Secret-2\"\n";
    let e = parse(&loc(), text, Some(0o640)).unwrap_err().to_string();
    assert!(e.starts_with("/cfg/popdoc.toml line 4: "), "{e}");
    assert!(e.contains("mode 640"), "{e}");
    assert!(e.contains("chmod 600 /cfg/popdoc.toml"), "{e}");
    assert!(!e.contains("Cfg-Secret-2"));
    // Without a password, a readable file is fine.
    assert!(
        parse(
            &loc(),
            "[accounts.p]\nhost = \"h\"\nuser = \"u\"\n",
            Some(0o644)
        )
        .is_ok()
    );
    // Mode 600 takes it (with a warning).
    assert_eq!(
        parse(&loc(), text, Some(0o100600))
            .unwrap()
            .warnings()
            .len(),
        1
    );
}

#[test]
fn errors_name_line_key_and_what_is_allowed() {
    let cases: &[(&str, &str)] = &[
        (
            "[accounts.w]\nhost = \"h\"\nhots = \"x\"\nuser = \"u\"\n",
            "line 3: unknown key \"hots\" in [accounts.w] (did you mean \"host\"?); allowed: host, port, user, tls,",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\nca_file = \"x\"\n",
            "(did you mean \"ca-file\"?)",
        ),
        (
            "host = \"h\"\n",
            "line 1: unknown key \"host\" at the top level; allowed: default, accounts; account settings go in a table",
        ),
        (
            "\n[accounts.w]\nuser = \"u\"\n",
            "line 2: [accounts.w] has no \"host\"; it is required",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\nport = \"995\"\n",
            "line 4: \"port\" must be a number from 1 to 65535, written without quotes",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\nport = 70000\n",
            "line 4: \"port\" must be a number from 1 to 65535",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\ntls = \"ssl\"\n",
            "line 4: \"tls\" must be one of \"implicit\", \"starttls\", \"plaintext\", not \"ssl\"",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\nlogin = \"kerberos\"\n",
            "\"login\" must be one of \"auto\", \"plain\", \"login\", \"user\", \"apop\", \"xoauth2\", \"oauthbearer\"",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\npassword-command = \"a\"\npassword-env = \"B\"\n",
            "line 5: \"password-env\" conflicts with \"password-command\" (line 4): give an account one source",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\nkeyring = \"yes\"\n",
            "line 4: \"keyring\" must be true or false (without quotes), not a string",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\nfingerprint = \"abcd\"\n",
            "line 4: \"fingerprint\" must be a SHA-256 fingerprint: 64 hex digits",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\ntls = \"plaintext\"\nca-file = \"x.pem\"\n",
            "line 5: \"ca-file\" has no effect with tls = \"plaintext\"",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\nca-file = \"x.pem\"\ninsecure-no-verify = true\n",
            "line 5: \"insecure-no-verify\" conflicts with \"ca-file\" (line 4)",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\nlogin = \"xoauth2\"\n",
            "line 4: login = \"xoauth2\" needs an OAuth2 token: add oauth-token-command",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\nlogin = \"apop\"\noauth-token-command = \"t\"\n",
            "line 4: login = \"apop\" sends a password, but this account has oauth-token-command",
        ),
        (
            "default = \"x\"\n[accounts.a]\nhost = \"h\"\nuser = \"u\"\n",
            "line 1: \"default\" names \"x\", which is not an account here; the config has: a",
        ),
        (
            "[accounts.w]\nhost = \"pop3s://h\"\nuser = \"u\"\n",
            "line 2: \"host\" must be a host name or address",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\ntimeout = 0\n",
            "line 4: \"timeout\" must be a number from 1 to 3600 seconds",
        ),
        ("accounts = 3\n", "line 1: \"accounts\" must be a table"),
        (
            "[accounts]\nw = \"h\"\n",
            "line 2: \"accounts.w\" must be a table",
        ),
        (
            "[accounts.\"a://b\"]\nhost = \"h\"\nuser = \"u\"\n",
            "would be taken for a URL",
        ),
        (
            "[accounts.w]\nhost = \"h\"\nuser = \"u\"\nport = 995\nport = 996\n",
            "line 5: this is not valid TOML: duplicate key",
        ),
        (
            "[accounts.w]\nhost = \"h\n",
            "line 2: this is not valid TOML:",
        ),
    ];
    for (text, want) in cases {
        let e = err(text);
        assert!(e.starts_with("/cfg/popdoc.toml line "), "{e}");
        assert!(e.contains(want), "want {want:?}\n got {e}");
    }
}

#[test]
fn a_password_value_is_never_quoted() {
    for text in [
        "[accounts.w]\nhost = \"h\"\nuser = \"u\"\npassword = \"Pw-Quote-3\"\npassword-env = \"X\"\n",
        "[accounts.w]\nhost = \"h\"\nuser = \"u\"\npassword = [\"Pw-Quote-3\"]\n",
        "[accounts.w]\nhost = \"h\"\nuser = \"u\"\npasword = \"Pw-Quote-3\"\n",
        "[accounts.w]\nhost = \"h\"\nuser = \"u\"\npassword = \"Pw-Quote-3\n",
        "[accounts.w]\nhost = \"h\"\npassword = \"Pw-Quote-3\"\n",
    ] {
        let e = err(text);
        assert!(!e.contains("Pw-Quote-3"), "{e}");
    }
}

fn conn() -> ConnArgs {
    ConnArgs::default()
}

fn write(dir: &Path, text: &str) -> PathBuf {
    let p = dir.join("popdoc.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn resolving_names_defaults_and_urls() {
    let dir = tempfile::tempdir().unwrap();
    let one = write(dir.path(), "[accounts.a]\nhost = \"h\"\nuser = \"u\"\n");
    let r = resolve(None, &conn(), Some(&one)).unwrap();
    assert!(matches!(r.resolved, Resolved::One(a) if a.label == "a"));
    let r = resolve(Some("a"), &conn(), Some(&one)).unwrap();
    assert!(matches!(r.resolved, Resolved::One(a) if a.host == "h"));
    let e = resolve(Some("b"), &conn(), Some(&one))
        .unwrap_err()
        .to_string();
    assert!(
        e.ends_with("popdoc.toml: no account \"b\"; the config has: a"),
        "{e}"
    );
    // A URL needs no config, even a broken one.
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "nonsense = [").unwrap();
    let r = resolve(Some("pop3s://x@y"), &conn(), Some(&broken)).unwrap();
    assert!(matches!(r.resolved, Resolved::One(a) if a.host == "y"));
    assert!(resolve(None, &conn(), Some(&broken)).is_err());

    let two = write(
        dir.path(),
        "[accounts.b]\nhost = \"h\"\nuser = \"u\"\n[accounts.a]\nhost = \"h\"\nuser = \"u\"\n",
    );
    let r = resolve(None, &conn(), Some(&two)).unwrap();
    match r.resolved {
        Resolved::Pick(v) => assert_eq!(
            v.iter().map(|a| a.label.as_str()).collect::<Vec<_>>(),
            ["b", "a"]
        ),
        other => panic!("{other:?}"),
    }
    let with_default = write(
        dir.path(),
        "default = \"a\"\n[accounts.b]\nhost = \"h\"\nuser = \"u\"\n[accounts.a]\nhost = \"h2\"\nuser = \"u\"\n",
    );
    let r = resolve(None, &conn(), Some(&with_default)).unwrap();
    assert!(matches!(r.resolved, Resolved::One(a) if a.host == "h2"));

    let empty = write(dir.path(), "# nothing yet\n");
    assert!(matches!(
        resolve(None, &conn(), Some(&empty)).unwrap().resolved,
        Resolved::None
    ));

    let missing = dir.path().join("missing.toml");
    let e = resolve(Some("work"), &conn(), Some(&missing))
        .unwrap_err()
        .to_string();
    assert!(e.contains("there is no config file at"), "{e}");
    assert!(e.contains("(from --config)"), "{e}");
    assert!(e.contains("popdoc config path"), "{e}");
    assert!(
        resolve(None, &conn(), Some(&missing))
            .unwrap_err()
            .to_string()
            .contains("no such file (named by --config)")
    );
}

#[test]
fn command_line_options_override_the_account() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "[accounts.a]\nhost = \"h\"\nuser = \"u\"\ntls = \"starttls\"\ntimeout = 9\nlogin = \"user\"\npassword-env = \"X\"\nfingerprint = \"\"\"\nABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABABAB\"\"\"\n",
    );
    let untouched = match resolve(Some("a"), &conn(), Some(&p)).unwrap().resolved {
        Resolved::One(a) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(untouched.timeout, Duration::from_secs(9));
    assert_eq!(untouched.login, LoginMethod::UserPass);
    let args = ConnArgs {
        timeout: Some(3),
        login: Some("plain".into()),
        password_command: Some("echo x".into()),
        insecure_no_verify: true,
        plaintext: true,
        ..Default::default()
    };
    let a = match resolve(Some("a"), &args, Some(&p)).unwrap().resolved {
        Resolved::One(a) => a,
        other => panic!("{other:?}"),
    };
    assert_eq!(a.timeout, Duration::from_secs(3));
    assert_eq!(a.connect_timeout, account::DEFAULT_CONNECT_TIMEOUT);
    assert_eq!(
        a.login,
        LoginMethod::Sasl(crate::pop3::sasl::Mechanism::Plain)
    );
    assert_eq!(a.secret, SecretSource::Command("echo x".into()));
    assert_eq!(a.cert, CertCheck::NoVerify);
    assert_eq!(a.security, Security::Plaintext);
}
