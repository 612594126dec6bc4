//! The header cache file as bytes: [`encode_entry`] / [`file_bytes`] write
//! it, [`parse`] reads it back. Pure: no I/O, never panics on any input.
//!
//! Layout (integers little-endian):
//!
//! ```text
//! magic "POPDOCHC" | version u32 | account key [32] | count u32
//! | count entries | SHA-256 of everything before it [32]
//! entry: uidl (u8 length, printable ASCII) | LIST size u64
//!        | date (u8 0, or u8 1 + i64) | from | from address? | subject
//!        | to | cc | message id?
//! text:  u32 length + UTF-8 (no control or bidi characters)
//! text?: u8 0, or u8 1 + text
//! ```
//!
//! A file of another version, another account, with a wrong checksum, a
//! text a terminal must not see, a repeated UIDL or a byte too many or too
//! few is refused as a whole: a cache is never half trusted.

use sha2::{Digest, Sha256};

use crate::mail::Summary;
use crate::pop3::text::is_unsafe;

pub const MAGIC: &[u8; 8] = b"POPDOCHC";
/// Bumped whenever the layout or the meaning of a field changes: a file of
/// another version is ignored and rebuilt.
pub const VERSION: u32 = 1;
/// Longest text field kept (a longer one is not cached).
pub const MAX_TEXT: usize = 16 * 1024;
const HEADER: usize = 8 + 4 + 32 + 4;
const SUM: usize = 32;

/// One cached message: its UIDL, its LIST size and what the list shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub uidl: String,
    pub size: u64,
    pub summary: Summary,
}

/// Why a file was not used (for the log; the file is rebuilt either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("not a popdoc header cache")]
    Foreign,
    #[error("written by another version of popdoc")]
    Version,
    #[error("made for another account")]
    Account,
    #[error("damaged or cut short")]
    Damaged,
}

/// The bytes of one entry, or None when it cannot be cached (a UIDL that
/// is empty, too long or not printable ASCII, or a text over [`MAX_TEXT`]).
pub fn encode_entry(uidl: &str, size: u64, s: &Summary) -> Option<Vec<u8>> {
    if !valid_uidl(uidl.as_bytes()) {
        return None;
    }
    let texts = [&s.from, &s.subject, &s.to, &s.cc];
    let optional = [&s.from_address, &s.message_id];
    let bad = |t: &str| t.len() > MAX_TEXT || t.chars().any(is_unsafe);
    if texts.iter().any(|t| bad(t)) || optional.iter().any(|t| t.as_deref().is_some_and(bad)) {
        return None;
    }
    let mut out =
        Vec::with_capacity(64 + uidl.len() + texts.iter().map(|t| t.len()).sum::<usize>());
    out.push(uidl.len() as u8);
    out.extend_from_slice(uidl.as_bytes());
    out.extend_from_slice(&size.to_le_bytes());
    match s.date {
        Some(d) => {
            out.push(1);
            out.extend_from_slice(&d.to_le_bytes());
        }
        None => out.push(0),
    }
    text(&mut out, &s.from);
    opt_text(&mut out, s.from_address.as_deref());
    text(&mut out, &s.subject);
    text(&mut out, &s.to);
    text(&mut out, &s.cc);
    opt_text(&mut out, s.message_id.as_deref());
    Some(out)
}

fn text(out: &mut Vec<u8>, t: &str) {
    out.extend_from_slice(&(t.len() as u32).to_le_bytes());
    out.extend_from_slice(t.as_bytes());
}

fn opt_text(out: &mut Vec<u8>, t: Option<&str>) {
    match t {
        Some(t) => {
            out.push(1);
            text(out, t);
        }
        None => out.push(0),
    }
}

/// A whole file: the header, `entries` (each from [`encode_entry`]) and
/// the checksum.
pub fn file_bytes<'a>(account: &[u8; 32], entries: impl Iterator<Item = &'a [u8]>) -> Vec<u8> {
    let entries: Vec<&[u8]> = entries.collect();
    let mut out = Vec::with_capacity(HEADER + SUM + entries.iter().map(|e| e.len()).sum::<usize>());
    write_file(&mut out, account, &entries).expect("writing to memory");
    out
}

/// Writes the same bytes as [`file_bytes`] to `out` as they are made (the
/// checksum taken on the way), so a large cache is never held twice.
pub fn write_file(
    out: &mut (impl std::io::Write + ?Sized),
    account: &[u8; 32],
    entries: &[&[u8]],
) -> std::io::Result<()> {
    let count = u32::try_from(entries.len()).map_err(std::io::Error::other)?;
    let mut sum = Sha256::new();
    let mut put = |bytes: &[u8]| -> std::io::Result<()> {
        sum.update(bytes);
        out.write_all(bytes)
    };
    put(MAGIC)?;
    put(&VERSION.to_le_bytes())?;
    put(account)?;
    put(&count.to_le_bytes())?;
    for e in entries {
        put(e)?;
    }
    out.write_all(&sum.finalize())
}

/// One entry of a file, not yet decoded: its UIDL, its LIST size and
/// its bytes (all of it, as [`encode_entry`] wrote it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raw<'a> {
    pub uidl: &'a str,
    pub size: u64,
    pub bytes: &'a [u8],
}

impl Raw<'_> {
    /// The summary in this entry (already checked by [`index`]).
    pub fn summary(&self) -> Option<Summary> {
        let mut r = Reader { rest: self.bytes };
        r.entry().map(|e| e.summary)
    }
}

/// Reads a whole file made for `account`.
pub fn parse(bytes: &[u8], account: &[u8; 32]) -> Result<Vec<Entry>, Refused> {
    index(bytes, account)?
        .iter()
        .map(|r| {
            Ok(Entry {
                uidl: r.uidl.to_string(),
                size: r.size,
                summary: r.summary().ok_or(Refused::Damaged)?,
            })
        })
        .collect()
}

/// Checks a whole file made for `account` (checksum, every field, no
/// UIDL twice) and finds its entries, without copying them.
pub fn index<'a>(bytes: &'a [u8], account: &[u8; 32]) -> Result<Vec<Raw<'a>>, Refused> {
    if bytes.len() < MAGIC.len() || &bytes[..MAGIC.len()] != MAGIC {
        return Err(Refused::Foreign);
    }
    if bytes.len() < HEADER + SUM {
        return Err(Refused::Damaged);
    }
    if bytes[8..12] != VERSION.to_le_bytes() {
        return Err(Refused::Version);
    }
    let (body, sum) = bytes.split_at(bytes.len() - SUM);
    if Sha256::digest(body).as_slice() != sum {
        return Err(Refused::Damaged);
    }
    if &body[12..44] != account {
        return Err(Refused::Account);
    }
    let count = u32::from_le_bytes([body[44], body[45], body[46], body[47]]) as usize;
    let mut r = Reader {
        rest: &body[HEADER..],
    };
    // Each entry takes at least 1 + 1 + 8 + 1 + 4 * 4 + 1 + 1 bytes.
    if count > r.rest.len() / 29 {
        return Err(Refused::Damaged);
    }
    let mut out = Vec::with_capacity(count);
    let mut seen = std::collections::HashSet::with_capacity(count);
    for _ in 0..count {
        let start = r.rest;
        let (uidl, size) = r.skip_entry().ok_or(Refused::Damaged)?;
        if !seen.insert(uidl) {
            return Err(Refused::Damaged);
        }
        let used = start.len() - r.rest.len();
        out.push(Raw {
            uidl,
            size,
            bytes: &start[..used],
        });
    }
    if !r.rest.is_empty() {
        return Err(Refused::Damaged);
    }
    Ok(out)
}

/// RFC 1939 section 7: 1 to 70 characters 0x21 to 0x7E; up to 255 kept.
fn valid_uidl(u: &[u8]) -> bool {
    !u.is_empty() && u.len() <= 255 && u.iter().all(|b| (0x21..=0x7e).contains(b))
}

struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.rest.len() < n {
            return None;
        }
        let (a, b) = self.rest.split_at(n);
        self.rest = b;
        Some(a)
    }

    fn byte(&mut self) -> Option<u8> {
        self.take(1).map(|b| b[0])
    }

    fn u64(&mut self) -> Option<u64> {
        self.take(8)
            .map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default()))
    }

    fn flag(&mut self) -> Option<bool> {
        match self.byte()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    fn text(&mut self) -> Option<String> {
        self.text_ref().map(str::to_string)
    }

    /// A text, checked but not copied.
    fn text_ref(&mut self) -> Option<&'a str> {
        let len = self.take(4)?;
        let len = u32::from_le_bytes(len.try_into().ok()?) as usize;
        if len > MAX_TEXT {
            return None;
        }
        let b = self.take(len)?;
        // Printable ASCII, the common case, needs no closer look.
        if b.iter().all(|c| (0x20..0x7f).contains(c)) {
            return std::str::from_utf8(b).ok();
        }
        let t = std::str::from_utf8(b).ok()?;
        (!t.chars().any(is_unsafe)).then_some(t)
    }

    fn skip_opt_text(&mut self) -> Option<()> {
        if self.flag()? {
            self.text_ref()?;
        }
        Some(())
    }

    /// Checks one entry and passes it: its UIDL and size.
    fn skip_entry(&mut self) -> Option<(&'a str, u64)> {
        let n = self.byte()? as usize;
        let uidl = self.take(n)?;
        if !valid_uidl(uidl) {
            return None;
        }
        let uidl = std::str::from_utf8(uidl).ok()?;
        let size = self.u64()?;
        if self.flag()? {
            self.u64()?;
        }
        self.text_ref()?;
        self.skip_opt_text()?;
        self.text_ref()?;
        self.text_ref()?;
        self.text_ref()?;
        self.skip_opt_text()?;
        Some((uidl, size))
    }

    fn opt_text(&mut self) -> Option<Option<String>> {
        if self.flag()? {
            self.text().map(Some)
        } else {
            Some(None)
        }
    }

    fn entry(&mut self) -> Option<Entry> {
        let n = self.byte()? as usize;
        let uidl = self.take(n)?;
        if !valid_uidl(uidl) {
            return None;
        }
        let uidl = String::from_utf8(uidl.to_vec()).ok()?;
        let size = self.u64()?;
        let date = if self.flag()? {
            Some(self.u64()? as i64)
        } else {
            None
        };
        let summary = Summary {
            from: self.text()?,
            from_address: self.opt_text()?,
            subject: self.text()?,
            to: self.text()?,
            cc: self.text()?,
            message_id: self.opt_text()?,
            date,
        };
        Some(Entry {
            uidl,
            size,
            summary,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; 32] = [7; 32];

    fn summary(i: u32) -> Summary {
        Summary {
            from: format!("Ann {i}"),
            from_address: Some(format!("ann{i}@example.org")),
            subject: format!("Quarterly figures {i} – café"),
            date: i.is_multiple_of(2).then_some(1_700_000_000 + i64::from(i)),
            to: "bob@example.org".into(),
            cc: String::new(),
            message_id: (!i.is_multiple_of(3)).then(|| format!("<{i}@example.org>")),
        }
    }

    fn file(n: u32) -> Vec<u8> {
        let entries: Vec<Vec<u8>> = (1..=n)
            .map(|i| encode_entry(&format!("uid-{i}"), 100 + u64::from(i), &summary(i)).unwrap())
            .collect();
        file_bytes(&KEY, entries.iter().map(Vec::as_slice))
    }

    #[test]
    fn what_is_written_is_read_back() {
        let got = parse(&file(5), &KEY).unwrap();
        assert_eq!(got.len(), 5);
        for (i, e) in (1..).zip(&got) {
            assert_eq!(e.uidl, format!("uid-{i}"));
            assert_eq!(e.size, 100 + u64::from(i));
            assert_eq!(e.summary, summary(i));
        }
        assert_eq!(parse(&file(0), &KEY).unwrap(), []);
    }

    #[test]
    fn every_cut_and_every_flipped_byte_is_refused() {
        let bytes = file(3);
        for cut in 0..bytes.len() {
            assert!(parse(&bytes[..cut], &KEY).is_err(), "cut at {cut}");
        }
        for at in 0..bytes.len() {
            let mut b = bytes.clone();
            b[at] ^= 0x20;
            assert!(parse(&b, &KEY).is_err(), "byte {at} changed");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(parse(&longer, &KEY).is_err());
    }

    #[test]
    fn another_version_account_or_kind_of_file_is_refused() {
        let bytes = file(2);
        assert_eq!(parse(&bytes, &[8; 32]), Err(Refused::Account));
        let mut v2 = bytes.clone();
        v2[8] = 2;
        assert_eq!(parse(&v2, &KEY), Err(Refused::Version));
        assert_eq!(parse(b"{\"json\": true}", &KEY), Err(Refused::Foreign));
        assert_eq!(parse(b"", &KEY), Err(Refused::Foreign));
    }

    /// A file whose checksum is right but whose content is not (written by
    /// a faulty program, or on purpose) is still refused.
    #[test]
    fn well_summed_nonsense_is_refused() {
        let resum = |mut body: Vec<u8>| {
            let sum = Sha256::digest(&body);
            body.extend_from_slice(&sum);
            body
        };
        let good = file(2);
        let body = good[..good.len() - SUM].to_vec();
        // One entry more announced than there are.
        let mut more = body.clone();
        more[44] = 3;
        assert_eq!(parse(&resum(more), &KEY), Err(Refused::Damaged));
        // The same UIDL twice.
        let e = encode_entry("same", 1, &summary(1)).unwrap();
        let twice = file_bytes(&KEY, [e.as_slice(), e.as_slice()].into_iter());
        assert_eq!(parse(&twice, &KEY), Err(Refused::Damaged));
        // A subject with an escape sequence.
        let mut s = summary(1);
        s.subject = "aXXXXb".into();
        let e = encode_entry("x", 1, &s).unwrap();
        let at = e.windows(4).position(|w| w == b"XXXX").unwrap();
        let mut e = e.clone();
        e[at..at + 4].copy_from_slice(b"\x1b[2J");
        let evil = file_bytes(&KEY, std::iter::once(e.as_slice()));
        assert_eq!(parse(&evil, &KEY), Err(Refused::Damaged));
        // A huge count with no entries behind it.
        let mut huge = body;
        huge[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(parse(&resum(huge), &KEY), Err(Refused::Damaged));
    }

    #[test]
    fn what_cannot_be_cached_is_not_encoded() {
        assert!(encode_entry("", 1, &summary(1)).is_none());
        assert!(encode_entry("has space", 1, &summary(1)).is_none());
        assert!(encode_entry(&"u".repeat(256), 1, &summary(1)).is_none());
        let mut s = summary(1);
        s.subject = "x".repeat(MAX_TEXT + 1);
        assert!(encode_entry("u", 1, &s).is_none());
        s.subject = "a\u{202e}b".into();
        assert!(
            encode_entry("u", 1, &s).is_none(),
            "a terminal must not see it"
        );
    }
}
