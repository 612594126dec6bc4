//! Fuzzes the CAPA parser: arbitrary reply bodies. It must never panic,
//! every line it keeps is printable, SASL names are upper-cased words, and
//! the sentences for LOGIN-DELAY and EXPIRE are made of safe text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use popdoc::pop3::Capabilities;
use popdoc::pop3::text::is_unsafe;

fn clean(s: &str) -> bool {
    !s.chars().any(is_unsafe)
}

fuzz_target!(|data: &[u8]| {
    let caps = Capabilities::parse(data);
    let lines = data.split(|b| *b == b'\n').count();
    assert!(caps.raw.len() <= lines);
    for line in &caps.raw {
        assert!(clean(line), "unsafe line kept: {line:?}");
        assert!(!line.is_empty());
    }
    for m in &caps.sasl {
        assert!(clean(m));
        assert!(!m.is_empty() && !m.contains(char::is_whitespace));
        assert_eq!(*m, m.to_ascii_uppercase());
        assert!(caps.has_sasl(&m.to_ascii_lowercase()));
    }
    if let Some(s) = caps.login_delay_words() {
        assert!(clean(&s));
    }
    if let Some(s) = caps.expire_words() {
        assert!(clean(&s));
    }
    if let Some(imp) = &caps.implementation {
        assert!(clean(imp));
    }
    // The parse is a function of the text: the same bytes give the same result.
    assert_eq!(caps, Capabilities::parse(data));
});
