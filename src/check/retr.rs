//! The optional RETR of the POP3 check (`--retr N`): the message streamed
//! into an unnamed scratch file that disappears when closed, its figures
//! taken from the session log, and the RETR section of the report with the
//! LIST size compared to what arrived.
//!
//! Never keeps the message and never deletes it.

use std::time::Duration;

use crate::client::ops::Listing;
use crate::client::{Connection, Error};
use crate::report::stats::spread;
use crate::report::{Problem, Report, RetrInfo, Severity, Step};

/// One RETR's figures.
#[derive(Debug, Clone, Copy)]
pub(super) struct RetrSample {
    message: u32,
    list_size: u64,
    bytes: u64,
    wire_bytes: u64,
    first_byte: Duration,
    transfer: Duration,
}

/// RETR into an unnamed temporary file, which disappears when closed.
pub(super) async fn retr_scratch(
    conn: &mut Connection,
    entry: &Listing,
) -> Result<RetrSample, (Step, Error)> {
    let scratch = tempfile::tempfile().map_err(|e| {
        (
            Step::Retr,
            Error::Write {
                what: "the scratch file for RETR".into(),
                reason: e.to_string(),
            },
        )
    })?;
    let mut file = tokio::fs::File::from_std(scratch);
    let bytes = conn
        .retr_to(entry.number, &mut file, &mut |_| {}, None)
        .await
        .map_err(|e| (Step::Retr, e))?;
    drop(file);
    let name = format!("RETR {}", entry.number);
    let t = conn
        .log
        .timings()
        .rev()
        .find(|t| t.command == name)
        .cloned();
    let (first_byte, transfer, wire_bytes) = match t {
        Some(t) => (
            t.latency().unwrap_or_default(),
            t.last_byte
                .zip(t.first_byte)
                .map(|(l, f)| l.saturating_sub(f))
                .unwrap_or_default(),
            t.bytes_in,
        ),
        None => (Duration::ZERO, Duration::ZERO, bytes),
    };
    Ok(RetrSample {
        message: entry.number,
        list_size: entry.size,
        bytes,
        wire_bytes,
        first_byte,
        transfer,
    })
}

pub(super) fn fill_retr(report: &mut Report, retrs: &[RetrSample]) {
    let Some(last) = retrs.last() else { return };
    let first_byte: Vec<f64> = retrs
        .iter()
        .map(|r| crate::report::stats::ms(r.first_byte))
        .collect();
    let transfer: Vec<f64> = retrs
        .iter()
        .map(|r| crate::report::stats::ms(r.transfer))
        .collect();
    let rate: Vec<f64> = retrs
        .iter()
        .filter(|r| !r.transfer.is_zero())
        .map(|r| (r.wire_bytes as f64 / r.transfer.as_secs_f64()).round())
        .collect();
    let zero = crate::report::Spread {
        min: 0.0,
        median: 0.0,
        max: 0.0,
    };
    let matches = retrs.iter().all(|r| r.bytes == r.list_size);
    if let Some(r) = retrs.iter().rev().find(|r| r.bytes != r.list_size) {
        // Off by two is a stored message without a final line break; more
        // is a message the server rewrote or replaced.
        let small = r.bytes.abs_diff(r.list_size) <= 2;
        let (severity, why) = if small {
            (
                Severity::Note,
                "Servers often count differently (a missing final line break); mail clients should not rely on LIST sizes",
            )
        } else {
            (
                Severity::Warning,
                "The server rewrote or replaced the message it delivers (some servers send a placeholder for messages with 8-bit content until the client sends UTF8); a saved copy holds what RETR delivered",
            )
        };
        report.problem(Problem::new(
            severity,
            Some(Step::Retr),
            format!(
                "LIST said message {} has {} bytes; RETR delivered {}. {why}",
                r.message, r.list_size, r.bytes
            ),
        ));
    }
    if let Some(m) = report.mailbox.as_mut() {
        m.retr = Some(RetrInfo {
            message: last.message,
            list_size: last.list_size,
            bytes_received: last.bytes,
            size_matches: matches,
            first_byte_ms: spread(&first_byte).unwrap_or(zero),
            transfer_ms: spread(&transfer).unwrap_or(zero),
            bytes_per_second: spread(&rate),
            scratch_deleted: true,
        });
    }
}
