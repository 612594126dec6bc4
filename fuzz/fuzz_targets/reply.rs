//! Fuzzes the single-line reply parsers: status lines and response codes,
//! STAT, scan and unique-id listings and the APOP timestamp. None may panic;
//! every text they keep for a terminal has no unsafe character; a status
//! parsed once parses the same when printed and read again; a listing
//! number is never 0.
#![no_main]

use libfuzzer_sys::fuzz_target;
use popdoc::pop3::reply::{
    StatusLine, apop_timestamp, parse_scan_listing, parse_stat, parse_status_line,
    parse_uid_listing,
};
use popdoc::pop3::text::is_unsafe;

fn clean(s: &str) -> bool {
    !s.chars().any(is_unsafe)
}

fuzz_target!(|data: &[u8]| {
    let Some((&flag, line)) = data.split_first() else {
        return;
    };
    let continuation = flag & 1 == 1;
    match parse_status_line(line, continuation) {
        Ok(StatusLine::Status(status)) => {
            assert!(clean(&status.text), "unsafe text kept: {:?}", status.text);
            assert_eq!(status.ok, line[0] == b'+');
            let shown = status.to_string();
            assert!(clean(&shown));
            // What we show is itself a status that reads back with the same
            // indicator and response code.
            match parse_status_line(shown.as_bytes(), false) {
                Ok(StatusLine::Status(again)) => {
                    assert_eq!(again.ok, status.ok);
                    if status.code.is_some() {
                        assert_eq!(again.code, status.code, "code changed: {shown:?}");
                    }
                }
                other => panic!("{shown:?} did not read back: {other:?}"),
            }
            if let Some(code) = &status.code {
                assert!(!code.explain().is_empty());
                assert!(code.to_string().chars().all(|c| c.is_ascii_graphic()));
            }
            if let Ok((_, _)) = parse_stat(&status) {
                assert!(status.args().split_whitespace().count() >= 2);
            }
            if let Some(stamp) = apop_timestamp(&status) {
                assert!(stamp.starts_with('<') && stamp.ends_with('>'));
                assert!(stamp.contains('@'));
                assert!(status.text.contains(&stamp));
            }
        }
        Ok(StatusLine::Continuation(payload)) => {
            assert!(continuation);
            assert!(payload.len() < line.len());
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(clean(&msg), "unsafe error: {msg:?}");
        }
    }
    match parse_scan_listing(line) {
        Ok((n, _)) => assert!(n > 0),
        Err(e) => assert!(clean(&e.to_string())),
    }
    match parse_uid_listing(line) {
        Ok((n, uid)) => {
            assert!(n > 0);
            assert!(!uid.is_empty());
            assert!(!uid.contains(' ') && !uid.contains('\t'));
        }
        Err(e) => assert!(clean(&e.to_string())),
    }
});
