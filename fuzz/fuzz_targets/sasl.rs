//! Fuzzes the SASL client against arbitrary server challenges: any
//! mechanism, any sequence of `+ ` continuations. It must never panic, only
//! a challenge that is not base64 is refused, the transcript form of every
//! answer hides the secret, and the OAuth2 error sentence the server's
//! document becomes is safe text without the secret.
#![no_main]

use libfuzzer_sys::fuzz_target;
use popdoc::pop3::Command;
use popdoc::pop3::sasl::{Mechanism, SaslClient, explain_oauth_error};
use popdoc::pop3::text::is_unsafe;

const SECRET: &str = "fuzz-Secret-9b7e";

fn clean(s: &str) -> bool {
    !s.chars().any(is_unsafe)
}

fn check(c: &Command) {
    let shown = c.redacted();
    assert!(!shown.contains(SECRET), "secret in transcript: {shown}");
    assert!(!format!("{c:?}").contains(SECRET), "secret in Debug");
    let mut wire = Vec::new();
    c.encode(&mut wire).expect("a SASL answer always encodes");
    assert!(wire.ends_with(b"\r\n"));
    assert!(!wire[..wire.len() - 2].contains(&b'\n'));
}

fuzz_target!(|data: &[u8]| {
    let Some((&flag, rest)) = data.split_first() else {
        return;
    };
    let mechanism = match flag % 4 {
        0 => Mechanism::Plain,
        1 => Mechanism::Login,
        2 => Mechanism::XOAuth2,
        _ => Mechanism::OAuthBearer,
    };
    // A long user name pushes the initial response off the AUTH line.
    let user = if flag & 0x10 != 0 {
        "a-rather-long-user-name-".repeat(8) + "@example.com"
    } else {
        "alice@example.com".to_string()
    };
    let mut client = SaslClient::new(mechanism, &user, SECRET.into(), "pop.example.com", 995);
    check(&client.start());
    for challenge in rest.split(|b| *b == b'\n').take(16) {
        match client.respond(challenge) {
            Ok(c) => check(&c),
            Err(e) => {
                let msg = e.to_string();
                assert!(clean(&msg));
                // Only text that is not base64 is refused.
                let t = challenge.trim_ascii();
                assert!(!t.is_empty());
            }
        }
    }
    if let Some(sentence) = client.server_error() {
        assert!(clean(&sentence), "unsafe text in {sentence:?}");
        assert!(!sentence.contains(SECRET));
    }
    // The error document on its own, as text.
    let doc = String::from_utf8_lossy(rest);
    let sentence = explain_oauth_error(&doc);
    assert!(clean(&sentence), "unsafe text in {sentence:?}");
    assert!(sentence.starts_with("the "), "{sentence:?}");
});
