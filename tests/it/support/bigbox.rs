//! Big mailboxes of small messages, fast: for the distance benchmark
//! (`benches/distance`), which stores up to 100,000 messages in the
//! private Dovecot. Each message is a few hundred bytes with From, To,
//! Subject, Date and Message-ID; message `i` (1-based) has the subject
//! `subject(i)`, so a screen can be searched for it. Deterministic: no
//! clock, no outside randomness.

use std::io::{self, Write};

use super::dovecot::User;

/// The decoded subject of message number `i` (1-based).
pub fn subject(i: usize) -> String {
    format!("Bench message {i:06} about the quarterly figures")
}

/// Writes message number `i` (1-based), CRLF line endings.
pub fn write_message(w: &mut dyn Write, i: usize) -> io::Result<()> {
    let day = 1 + i % 28;
    let (h, m, s) = ((i / 3600) % 24, (i / 60) % 60, i % 60);
    write!(
        w,
        "From: Sender {n} <sender{n}@bench.test>\r\n\
         To: Reader <reader@bench.test>\r\n\
         Subject: {subject}\r\n\
         Date: Mon, {day:02} Nov 2026 {h:02}:{m:02}:{s:02} +0000\r\n\
         Message-ID: <{i}.bench@popdoc.test>\r\n\
         MIME-Version: 1.0\r\n\
         Content-Type: text/plain; charset=us-ascii\r\n\
         \r\n\
         Line one of message {i}.\r\n\
         A second line, so that the body is not empty.\r\n",
        n = i % 97,
        subject = subject(i),
    )
}

/// Stores `count` messages (numbers 1..=count) in `user`'s Maildir, one
/// file each, without holding them in memory.
pub fn store(user: &User, count: usize) {
    for i in 1..=count {
        user.store_with(|w| write_message(w, i));
    }
}
