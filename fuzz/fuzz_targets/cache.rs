//! Fuzzes the header cache file parser: any bytes, as a damaged or forged
//! cache file would be. It must never panic; what it accepts must be what
//! the writer would write (encoding each entry again gives the same file),
//! and no accepted text may carry a character a terminal must not see.
#![no_main]

use libfuzzer_sys::fuzz_target;
use popdoc::cache::format::{encode_entry, file_bytes, parse};
use popdoc::pop3::text::is_unsafe;

/// The account key the seed files were written for.
const KEY: [u8; 32] = [0x5a; 32];

fuzz_target!(|data: &[u8]| {
    let Ok(entries) = parse(data, &KEY) else {
        return;
    };
    let encoded: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| encode_entry(&e.uidl, e.size, &e.summary).expect("an accepted entry encodes"))
        .collect();
    assert_eq!(file_bytes(&KEY, encoded.iter().map(Vec::as_slice)), data);
    for e in &entries {
        let s = &e.summary;
        for t in [&s.from, &s.subject, &s.to, &s.cc]
            .into_iter()
            .chain(s.from_address.as_ref())
            .chain(s.message_id.as_ref())
        {
            assert!(!t.chars().any(is_unsafe));
        }
    }
});
