//! `popdoc list`: every message with number, UIDL, size, date, from and
//! subject, from LIST, UIDL and `TOP n 0` (pipelined when allowed), as a
//! table or as JSON. Never downloads a message body.

use std::io::{IsTerminal, Write};

use unicode_width::UnicodeWidthStr;

use serde::Serialize;

use super::{CmdError, Progress};
use crate::account::Account;
use crate::cache::Cache;
use crate::client::ops::{HEADER_LIMIT, Listing};
use crate::mail::{Summary, summarize};
use crate::util::fit;

#[derive(Debug, Serialize)]
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

#[derive(Debug, Serialize)]
pub struct ListReport {
    pub server: String,
    pub count: usize,
    pub total_size: u64,
    pub messages: Vec<ListEntry>,
}

/// Connects, lists, and returns the report (the caller prints it).
pub async fn collect(account: &Account, progress: &mut Progress) -> Result<ListReport, CmdError> {
    let mut conn = super::connect(account, progress).await?;
    progress.show("listing…", true);
    let listing = conn.listing().await?;
    let numbers: Vec<u32> = listing.iter().map(|l| l.number).collect();
    let mut headers: Vec<Option<Result<Summary, String>>> = vec![None; listing.len()];
    let mut cache = from_cache(account, &listing, &mut headers);
    let fetch: Vec<u32> = numbers
        .iter()
        .zip(&headers)
        .filter_map(|(&n, h)| h.is_none().then_some(n))
        .collect();
    let total = fetch.len();
    let mut done = 0;
    conn.top_many(&fetch, 0, HEADER_LIMIT, &mut |n, r| {
        done += 1;
        progress.show(&format!("headers {done}/{total}"), done == total);
        if let Ok(i) = numbers.binary_search(&n) {
            let r = r.map(|b| summarize(&b));
            if let (Some(c), Ok(s)) = (cache.as_mut(), &r) {
                c.record(n, s);
            }
            headers[i] = Some(r.map_err(|e| e.to_string()));
        }
    })
    .await?;
    let _ = conn.quit().await;
    if let Some(Err(e)) = cache.as_mut().map(Cache::save) {
        tracing::warn!(error = %e, "header cache not written");
    }
    progress.clear();
    let messages: Vec<ListEntry> = listing
        .into_iter()
        .zip(headers)
        .map(|(l, h)| {
            let (s, err) = match h {
                Some(Ok(s)) => (s, None),
                Some(Err(e)) => (Summary::default(), Some(e)),
                None => (Summary::default(), Some("no reply".into())),
            };
            ListEntry {
                number: l.number,
                uidl: l.uidl,
                size: l.size,
                date: s.date.and_then(crate::util::rfc3339),
                date_unix: s.date,
                from: s.from,
                from_address: s.from_address,
                subject: s.subject,
                message_id: s.message_id,
                header_error: err,
            }
        })
        .collect();
    Ok(ListReport {
        server: account.server_label(),
        count: messages.len(),
        total_size: messages.iter().map(|m| m.size).sum(),
        messages,
    })
}

/// The account's header cache for `listing` (None when off or without
/// UIDL), with the summaries it holds put in `headers` (by position).
fn from_cache(
    account: &Account,
    listing: &[Listing],
    headers: &mut [Option<Result<Summary, String>>],
) -> Option<Cache> {
    let (cache, hits) = Cache::open(account, listing)?;
    for (n, s) in hits {
        if let Ok(i) = listing.binary_search_by_key(&n, |l| l.number) {
            headers[i] = Some(Ok(s));
        }
    }
    Some(cache)
}

pub async fn run(account: &Account, json: bool) -> Result<(), CmdError> {
    let mut progress = Progress::new();
    let report = collect(account, &mut progress).await?;
    // From and Subject are cut to the width of a terminal; piped, nothing is.
    let width = if std::io::stdout().is_terminal() {
        crossterm::terminal::size()
            .ok()
            .map(|(w, _)| usize::from(w))
    } else {
        None
    };
    let mut out = std::io::stdout().lock();
    let r = if json {
        serde_json::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::other)
            .and_then(|_| writeln!(out))
    } else {
        write_table(&mut out, &report, width)
    };
    match r {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CmdError::Other(format!("writing the list failed: {e}"))),
        Ok(()) => Ok(()),
    }
}

/// Width of the FROM column on a terminal (wider values are cut there).
const FROM_W: usize = 24;

/// The table. A UIDL is never cut: it is what `save --uidl` takes. With a
/// terminal `width`, From and Subject are cut to fit; without one (piped),
/// every value is whole.
fn write_table(out: &mut impl Write, r: &ListReport, width: Option<usize>) -> std::io::Result<()> {
    let uidl_w = r
        .messages
        .iter()
        .map(|m| m.uidl.as_deref().map_or(1, str::len))
        .max()
        .unwrap_or(4)
        .max(4);
    // `fit` pads to the width and cuts only what is wider than it.
    let whole = |s: &str, w: usize| fit(s, w.max(s.width()));
    writeln!(
        out,
        "{:>5}  {}  {:>8}  {:<16}  {}  SUBJECT",
        "#",
        whole("UIDL", uidl_w),
        "SIZE",
        "DATE",
        fit("FROM", FROM_W)
    )?;
    // Columns before SUBJECT: number, UIDL, size, date, from, and their gaps.
    let subject_w = width.map(|w| w.saturating_sub(5 + uidl_w + 8 + 16 + FROM_W + 5 * 2));
    for m in &r.messages {
        let date = m
            .date_unix
            .map(crate::util::format_local)
            .unwrap_or_else(|| "-".into());
        let subject = match &m.header_error {
            Some(e) => format!("(headers unavailable: {e})"),
            None => m.subject.clone(),
        };
        let (from, subject) = match subject_w {
            Some(w) => (
                fit(&m.from, FROM_W),
                fit(&subject, w.max(10)).trim_end().to_string(),
            ),
            None => (whole(&m.from, FROM_W), subject),
        };
        writeln!(
            out,
            "{:>5}  {}  {:>8}  {:<16}  {}  {}",
            m.number,
            whole(m.uidl.as_deref().unwrap_or("-"), uidl_w),
            crate::util::human_size(m.size),
            date,
            from,
            subject
        )?;
    }
    writeln!(
        out,
        "{} messages, {}",
        r.count,
        crate::util::human_size(r.total_size)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(uidl: &str, from: &str, subject: &str) -> ListReport {
        ListReport {
            server: "h".into(),
            count: 1,
            total_size: 10,
            messages: vec![ListEntry {
                number: 1,
                uidl: Some(uidl.into()),
                size: 10,
                date: None,
                date_unix: None,
                from: from.into(),
                from_address: None,
                subject: subject.into(),
                message_id: None,
                header_error: None,
            }],
        }
    }

    fn table(r: &ListReport, width: Option<usize>) -> String {
        let mut out = Vec::new();
        write_table(&mut out, r, width).unwrap();
        String::from_utf8(out).unwrap()
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
