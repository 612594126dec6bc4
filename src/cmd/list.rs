//! `popdoc list`: every message with number, UIDL, size, date, from and
//! subject, from LIST, UIDL and `TOP n 0` (one pipelined flight when
//! allowed), as a table or as JSON, each row printed as its header comes
//! in (streamed, never all held). Never downloads a message body.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

use unicode_width::UnicodeWidthStr;

use serde::Serialize;

use super::{CmdError, Progress};
use crate::account::Account;
use crate::cache::Cache;
use crate::client::ops::{HEADER_LIMIT, Listing};
use crate::mail::{Summary, summarize};
use crate::util::fit;

#[derive(Debug, Clone, Serialize)]
pub struct ListEntry {
    pub number: u32,
    pub uidl: Option<String>,
    pub size: u64,
    /// RFC 3339, UTC.
    pub date: Option<String>,
    #[serde(skip)]
    pub date_unix: Option<i64>,
    pub from: String,
    pub from_address: Option<String>,
    pub subject: String,
    pub message_id: Option<String>,
    /// Why the headers could not be read, when they could not.
    pub header_error: Option<String>,
}

/// Connects, lists, and prints each row as soon as its header is in
/// (rows come in number order, one per reply): nothing is held but the
/// listing, so memory stays flat in the number of messages. A broken pipe
/// (`popdoc list | head`) ends the load early, quietly.
pub async fn run(account: &Account, json: bool) -> Result<(), CmdError> {
    // Rows on a terminal are their own progress; piped, stderr says.
    let stdout_tty = std::io::stdout().is_terminal();
    // From and Subject are cut to the width of a terminal; piped, nothing is.
    let width = if stdout_tty {
        crossterm::terminal::size()
            .ok()
            .map(|(w, _)| usize::from(w))
    } else {
        None
    };
    let mut progress = Progress::new();
    write_to(
        account,
        json,
        std::io::stdout(),
        width,
        !stdout_tty,
        &mut progress,
    )
    .await
}

/// Lists into `out` (table or JSON), each row as its header comes in.
/// `width` cuts From and Subject for a terminal; `counting` shows
/// "headers n/N" on `progress` (when the rows themselves are not seen).
pub async fn write_to(
    account: &Account,
    json: bool,
    out: impl Write + Send,
    width: Option<usize>,
    counting: bool,
    progress: &mut Progress,
) -> Result<(), CmdError> {
    let (secret, token) = crate::secret::obtain(account)?;
    let creds = account.credentials(secret, token);
    let mut conn = super::connect_as(account, &creds, false, progress).await?;
    progress.show("listing…", true);
    let listing = conn.listing().await?;
    progress.clear();
    let mut out = Rows::new(out, json, &listing, width);
    let mut failed = out.begin(&account.server_label(), &listing).err();
    let stop = AtomicBool::new(failed.is_some());
    // Rows the header cache knows (same UIDL and size) are printed in
    // their place without a `TOP`; only the others are fetched.
    let mut cached: Vec<Option<Summary>> = vec![None; listing.len()];
    let mut cache = Cache::open(account, &listing).map(|(c, hits)| {
        for (n, s) in hits {
            if let Ok(i) = listing.binary_search_by_key(&n, |l| l.number) {
                cached[i] = Some(s);
            }
        }
        c
    });
    // Which messages the cache knows (the iterator reads this while the
    // rows themselves are taken out of `cached` as they are printed).
    let hit: Vec<bool> = cached.iter().map(Option::is_some).collect();
    let total = hit.iter().filter(|h| !**h).count();
    let mut done = 0;
    // The index in the listing of the first message without a row yet.
    let mut next = 0;
    // Prints the cached rows before index `upto` not printed yet.
    let print_cached = |upto: usize,
                        next: &mut usize,
                        cached: &mut [Option<Summary>],
                        out: &mut Rows<_>,
                        failed: &mut Option<std::io::Error>| {
        while *next < upto {
            if let Some(s) = cached[*next].take()
                && failed.is_none()
                && let Err(e) = out.row(&entry(&listing[*next], Ok(s)))
            {
                *failed = Some(e);
                stop.store(true, Ordering::Relaxed);
            }
            *next += 1;
        }
    };
    let mut conn = Some(conn);
    while let Some(c) = conn
        .as_mut()
        .filter(|_| next < listing.len() && !stop.load(Ordering::Relaxed))
    {
        let r = c
            .top_stream(
                &mut listing[next..]
                    .iter()
                    .zip(&hit[next..])
                    .filter(|(_, hit)| !**hit)
                    .map(|(l, _)| l.number)
                    .take_while(|_| !stop.load(Ordering::Relaxed)),
                0,
                HEADER_LIMIT,
                &mut |n, r| {
                    done += 1;
                    if counting {
                        progress.show(&format!("headers {done}/{total}"), done == total);
                    }
                    let Ok(i) = listing.binary_search_by_key(&n, |l| l.number) else {
                        return;
                    };
                    print_cached(i, &mut next, &mut cached, &mut out, &mut failed);
                    next = i + 1;
                    let r = r.map(|b| summarize(&b));
                    if let (Some(c), Ok(s)) = (cache.as_mut(), &r) {
                        c.record(n, s);
                    }
                    let entry = entry(&listing[i], r.map_err(|e| e.header_note()));
                    if failed.is_none()
                        && let Err(e) = out.row(&entry)
                    {
                        failed = Some(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                },
            )
            .await;
        match r {
            Ok(()) => break,
            // One header block was given up (too large, too slow): that
            // message has its row and error; the rest go on a new
            // connection, opened once the old one is closed and dropped
            // (the server releases the mailbox only then).
            Err(e) if e.gave_up_reply() => {
                if let Some(mut old) = conn.take() {
                    old.shutdown().await;
                }
                if hit[next..].iter().any(|h| !h) && !stop.load(Ordering::Relaxed) {
                    conn = Some(super::connect_as(account, &creds, true, progress).await?);
                }
            }
            Err(e) => {
                if counting {
                    progress.clear();
                }
                return Err(e.into());
            }
        }
    }
    // The cached rows after the last one fetched.
    print_cached(listing.len(), &mut next, &mut cached, &mut out, &mut failed);
    if counting {
        progress.clear();
    }
    if let Some(c) = conn {
        let _ = c.quit().await;
    }
    if let Some(Err(e)) = cache.as_mut().map(Cache::save) {
        tracing::warn!(error = %e, "header cache not written");
    }
    let r = match failed {
        Some(e) => Err(e),
        None => out.end(&listing),
    };
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CmdError::Other(format!("writing the list failed: {e}"))),
        Ok(()) => Ok(()),
    }
}

fn entry(l: &Listing, header: Result<Summary, String>) -> ListEntry {
    let (s, err) = match header {
        Ok(s) => (s, None),
        Err(e) => (Summary::default(), Some(e)),
    };
    ListEntry {
        number: l.number,
        uidl: l.uidl.clone(),
        size: l.size,
        date: s.date.and_then(crate::util::rfc3339),
        date_unix: s.date,
        from: s.from,
        from_address: s.from_address,
        subject: s.subject,
        message_id: s.message_id,
        header_error: err,
    }
}

/// Where the rows go: a table, or one JSON document written piece by
/// piece (`{"server", "count", "total_size", "messages": [...]}`, pretty,
/// the same bytes `serde_json::to_writer_pretty` gives for the whole).
struct Rows<W: Write> {
    out: W,
    json: bool,
    /// The UIDL column: the longest UIDL of the listing, never cut.
    uidl_w: usize,
    /// Room for SUBJECT on a terminal (None: piped, nothing is cut).
    subject_w: Option<usize>,
    rows: usize,
}

impl<W: Write> Rows<W> {
    fn new(out: W, json: bool, listing: &[Listing], width: Option<usize>) -> Self {
        let uidl_w = listing
            .iter()
            .map(|l| l.uidl.as_deref().map_or(1, str::len))
            .max()
            .unwrap_or(4)
            .max(4);
        // Columns before SUBJECT: number, UIDL, size, date, from, and their gaps.
        let subject_w = width.map(|w| w.saturating_sub(5 + uidl_w + 8 + 16 + FROM_W + 5 * 2));
        Rows {
            out,
            json,
            uidl_w,
            subject_w,
            rows: 0,
        }
    }

    fn begin(&mut self, server: &str, listing: &[Listing]) -> std::io::Result<()> {
        if self.json {
            let server = serde_json::to_string(server).map_err(std::io::Error::other)?;
            let total: u64 = listing.iter().map(|l| l.size).sum();
            return write!(
                self.out,
                "{{\n  \"server\": {server},\n  \"count\": {},\n  \"total_size\": {total},\n  \"messages\": [",
                listing.len()
            );
        }
        writeln!(
            self.out,
            "{:>5}  {}  {:>8}  {:<16}  {}  SUBJECT",
            "#",
            whole("UIDL", self.uidl_w),
            "SIZE",
            "DATE",
            fit("FROM", FROM_W)
        )
    }

    fn row(&mut self, m: &ListEntry) -> std::io::Result<()> {
        self.rows += 1;
        if self.json {
            let text = serde_json::to_string_pretty(m).map_err(std::io::Error::other)?;
            let sep = if self.rows == 1 { "\n" } else { ",\n" };
            self.out.write_all(sep.as_bytes())?;
            // Pretty JSON strings hold no raw newline: each line is indented.
            for (i, line) in text.lines().enumerate() {
                if i > 0 {
                    self.out.write_all(b"\n")?;
                }
                write!(self.out, "    {line}")?;
            }
            return Ok(());
        }
        let date = m
            .date_unix
            .map(crate::util::format_local)
            .unwrap_or_else(|| "-".into());
        let subject = match &m.header_error {
            Some(e) => format!("(headers unavailable: {e})"),
            None => m.subject.clone(),
        };
        let (from, subject) = match self.subject_w {
            Some(w) => (
                fit(&m.from, FROM_W),
                fit(&subject, w.max(10)).trim_end().to_string(),
            ),
            None => (whole(&m.from, FROM_W), subject),
        };
        writeln!(
            self.out,
            "{:>5}  {}  {:>8}  {:<16}  {}  {}",
            m.number,
            whole(m.uidl.as_deref().unwrap_or("-"), self.uidl_w),
            crate::util::human_size(m.size),
            date,
            from,
            subject
        )
    }

    fn end(&mut self, listing: &[Listing]) -> std::io::Result<()> {
        if self.json {
            let close = if self.rows == 0 { "]\n}" } else { "\n  ]\n}" };
            writeln!(self.out, "{close}")?;
        } else {
            let total: u64 = listing.iter().map(|l| l.size).sum();
            writeln!(
                self.out,
                "{} messages, {}",
                listing.len(),
                crate::util::human_size(total)
            )?;
        }
        self.out.flush()
    }
}

/// Width of the FROM column on a terminal (wider values are cut there).
const FROM_W: usize = 24;

/// `fit` pads to the width and cuts only what is wider than it; this never cuts.
fn whole(s: &str, w: usize) -> String {
    fit(s, w.max(s.width()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The document `popdoc list --json` printed when it held every row:
    /// the streamed one must be the same bytes.
    #[derive(Serialize)]
    struct ListReport {
        server: String,
        count: usize,
        total_size: u64,
        messages: Vec<ListEntry>,
    }

    fn message(number: u32, uidl: &str, from: &str, subject: &str) -> ListEntry {
        ListEntry {
            number,
            uidl: Some(uidl.into()),
            size: 10 * u64::from(number),
            date: None,
            date_unix: None,
            from: from.into(),
            from_address: None,
            subject: subject.into(),
            message_id: None,
            header_error: None,
        }
    }

    fn report(uidl: &str, from: &str, subject: &str) -> ListReport {
        let messages = vec![message(1, uidl, from, subject)];
        ListReport {
            server: "h".into(),
            count: 1,
            total_size: 10,
            messages,
        }
    }

    fn listing(r: &ListReport) -> Vec<Listing> {
        r.messages
            .iter()
            .map(|m| Listing {
                number: m.number,
                size: m.size,
                uidl: m.uidl.clone(),
            })
            .collect()
    }

    fn streamed(r: &ListReport, json: bool, width: Option<usize>) -> String {
        let listing = listing(r);
        let mut out = Vec::new();
        let mut rows = Rows::new(&mut out, json, &listing, width);
        rows.begin(&r.server, &listing).unwrap();
        for m in &r.messages {
            rows.row(m).unwrap();
        }
        rows.end(&listing).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn table(r: &ListReport, width: Option<usize>) -> String {
        streamed(r, false, width)
    }

    #[test]
    fn streamed_json_is_the_document_printed_whole() {
        let mut r = report("u1", "Ann \"A\" <a@x>", "caf\u{e9}\nline");
        for messages in [vec![], r.messages.clone(), {
            let mut m = r.messages.clone();
            let mut second = message(2, "u2", "Bob", "second");
            second.header_error = Some("TOP 2 0 was refused".into());
            second.date = Some("2024-01-02T03:04:05Z".into());
            m.push(second);
            m
        }] {
            r.count = messages.len();
            r.total_size = messages.iter().map(|m| m.size).sum();
            r.messages = messages;
            let mut whole = serde_json::to_string_pretty(&r).unwrap();
            whole.push('\n');
            assert_eq!(streamed(&r, true, None), whole);
        }
    }

    #[test]
    fn uidls_are_whole_and_only_a_terminal_cuts_the_rest() {
        let uidl = "67ea8182e3dc7a5ac80948a3c1d2e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f";
        let from = "Ann Smith from the accounting department";
        let subject = "quarterly figures ".repeat(10);
        let r = report(uidl, from, subject.trim_end());
        let piped = table(&r, None);
        assert!(piped.contains(uidl), "{piped}");
        assert!(piped.contains(from), "{piped}");
        assert!(piped.contains(subject.trim_end()), "{piped}");
        assert!(!piped.contains('…'), "{piped}");

        let tty = table(&r, Some(200));
        assert!(tty.contains(uidl), "{tty}");
        assert!(!tty.contains(from), "cut to the column: {tty}");
        let row = tty.lines().nth(1).unwrap();
        assert_eq!(row.width(), 200, "{row}");
        assert!(row.ends_with('…'), "{row}");
    }
}
