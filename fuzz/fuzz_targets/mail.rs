//! Fuzzes the header summary and the preview builder with arbitrary
//! message bytes (and a cut-off copy, as `TOP n K` gives). Neither may
//! panic; every string they make for the screen is free of control and
//! bidirectional characters; one-line fields hold no line break and no run
//! of blanks; the part list stays bounded; a preview of the whole message
//! is not called truncated. A panic inside mail-parser is contained by
//! popdoc (the summary comes back empty): found here, seed
//! `corpus/mail/nested-rfc822-parser-panic`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use popdoc::mail::{one_line, preview, summarize};
use popdoc::pop3::text::is_unsafe;

fn clean(s: &str) -> bool {
    !s.chars().any(is_unsafe)
}

fn single(s: &str) -> bool {
    clean(s) && !s.contains('\n') && !s.contains('\r') && !s.contains("  ") && s.trim() == s
}

fn check_summary(bytes: &[u8]) {
    let s = summarize(bytes);
    for f in [&s.from, &s.subject] {
        assert!(single(f), "{f:?}");
    }
    for f in [&s.to, &s.cc] {
        assert!(clean(f) && !f.contains('\n'), "{f:?}");
    }
    for f in [&s.from_address, &s.message_id].into_iter().flatten() {
        assert!(single(f), "{f:?}");
    }
}

fn check_preview(bytes: &[u8], full: Option<u64>) {
    let p = preview(bytes, full);
    if full == Some(bytes.len() as u64) {
        assert!(!p.truncated);
    }
    for (_, v) in &p.headers {
        assert!(!v.is_empty());
        assert!(clean(v) && !v.contains('\n'), "{v:?}");
    }
    for l in p.raw_headers.iter().chain(&p.body) {
        assert!(clean(l), "{l:?}");
        assert!(!l.contains('\n'));
    }
    if let Some(first) = p.body.first() {
        assert!(!first.trim().is_empty());
    }
    assert!(p.parts.len() <= 202);
    for part in &p.parts {
        assert!(clean(&part.content_type));
        assert_eq!(part.content_type, part.content_type.to_ascii_lowercase());
        if let Some(n) = &part.name {
            assert!(single(n), "{n:?}");
        }
    }
}

/// libFuzzer's panic hook aborts on every panic; a panic popdoc contains
/// (`util::contained`, around mail-parser) is not a crash of popdoc, so the
/// hook is wrapped once to let that one unwind to its catcher.
fn let_contained_panics_unwind() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !popdoc::util::panic_is_contained() {
                fuzzer_hook(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    let_contained_panics_unwind();
    check_summary(data);
    check_preview(data, Some(data.len() as u64));
    let cut = data.len() / 2;
    check_preview(&data[..cut], Some(data.len() as u64));
    check_preview(data, None);
    let text = String::from_utf8_lossy(data);
    assert!(single(&one_line(&text)));
});
