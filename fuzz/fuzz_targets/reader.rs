//! Fuzzes the POP3 reply reader: arbitrary server bytes, arbitrary
//! expectations and chunking. The reader must never panic, must give the
//! same events however the bytes are split, and a body must never grow past
//! its limit.
#![no_main]

use libfuzzer_sys::fuzz_target;
use popdoc::pop3::{Expect, ReadEvent, Reader};

fn run(expects: &[Expect], chunks: &[&[u8]]) -> (Vec<ReadEvent>, bool) {
    let mut r = Reader::new();
    for e in expects {
        r.expect(*e);
    }
    let mut events = Vec::new();
    for c in chunks {
        r.feed(c);
        loop {
            match r.next_event() {
                Ok(Some(e)) => events.push(e),
                Ok(None) => break,
                Err(_) => return (normalise(events), true),
            }
        }
    }
    (normalise(events), false)
}

fn normalise(events: Vec<ReadEvent>) -> Vec<ReadEvent> {
    let mut out: Vec<ReadEvent> = Vec::new();
    for e in events {
        match (out.last_mut(), e) {
            (Some(ReadEvent::Data(prev)), ReadEvent::Data(more)) => prev.extend_from_slice(&more),
            (_, ReadEvent::Overflow) => {
                while matches!(out.last(), Some(ReadEvent::Data(_))) {
                    out.pop();
                }
                out.push(ReadEvent::Overflow);
            }
            (_, e) => out.push(e),
        }
    }
    out
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (control, input) = data.split_at(3);
    let expects: Vec<Expect> = (0..(control[0] % 8) + 1)
        .map(|i| match (control[1].rotate_left(i as u32)) % 4 {
            0 => Expect::Single,
            1 => Expect::Multi { limit: None },
            2 => Expect::Multi {
                limit: Some(control[2] as usize),
            },
            _ => Expect::Auth,
        })
        .collect();
    let (whole, whole_err) = run(&expects, &[input]);
    let split = (control[2] as usize).min(input.len());
    let (parts, parts_err) = run(&expects, &[&input[..split], &input[split..]]);
    assert_eq!(whole_err, parts_err);
    if !whole_err {
        assert_eq!(whole, parts);
    }
    for e in &whole {
        if let ReadEvent::Data(d) = e {
            assert!(d.len() <= input.len());
        }
    }
});
