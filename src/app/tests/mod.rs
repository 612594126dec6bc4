//! `update` tests: sequences of messages in, state and effects out.
//! This file holds the helpers and the list's moves, sort and filter;
//! `marks.rs` marks, saves, commits and quitting; `session.rs` the
//! connection, headers, preview, transcript, password and report;
//! `screen.rs` what a person sees move; `worker_events.rs` what the
//! worker reports.

use std::path::PathBuf;
use std::time::Duration;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use super::*;
use crate::client::ops::Listing;
use crate::mail::Summary;
use crate::store::Saved;
use crate::worker::{
    CommitReport, Event, Failure, FailureKind, Mark, Provider, Request, SessionInfo,
};

fn key(c: char) -> Msg {
    let mods = if c.is_ascii_uppercase() {
        KeyModifiers::SHIFT
    } else {
        KeyModifiers::NONE
    };
    Msg::Key(KeyEvent::new(KeyCode::Char(c), mods))
}

fn code(c: KeyCode) -> Msg {
    Msg::Key(KeyEvent::new(c, KeyModifiers::NONE))
}

fn listing(n: u32) -> Vec<Listing> {
    (1..=n)
        .map(|i| Listing {
            number: i,
            size: 1000 + (i as u64 * 7919) % 5000,
            uidl: Some(format!("uid{i}")),
        })
        .collect()
}

fn summary(i: u32) -> Summary {
    Summary {
        from: format!("Sender {}", (b'a' + (i % 26) as u8) as char),
        subject: format!("Subject {i:03}"),
        date: Some(1_790_000_000 + (i as i64 % 7) * 86_400),
        ..Default::default()
    }
}

/// An app connected to a mailbox of `n` messages, all headers loaded.
fn app(n: u32) -> App {
    let mut a = App::new(
        "test".into(),
        PathBuf::from("/saves"),
        200,
        jiff::tz::TimeZone::UTC,
    );
    update(&mut a, Msg::Resize(80, 24));
    update(
        &mut a,
        Msg::Worker(Event::Connected(SessionInfo::default())),
    );
    update(&mut a, Msg::Worker(Event::Listing(listing(n))));
    let headers = (1..=n).map(|i| (i, Ok(summary(i)))).collect();
    update(&mut a, Msg::Worker(Event::Headers(headers)));
    a
}

fn send(a: &mut App, msgs: impl IntoIterator<Item = Msg>) -> Vec<Effect> {
    msgs.into_iter().flat_map(|m| update(a, m)).collect()
}

fn selected(a: &App) -> u32 {
    a.selected_row().unwrap().number
}

fn requests(fx: &[Effect]) -> Vec<&Request> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Pop(r) => Some(r),
            _ => None,
        })
        .collect()
}

#[test]
fn moving_stays_in_bounds_and_scrolls() {
    let mut a = app(100);
    assert_eq!(selected(&a), 1);
    send(&mut a, [key('k'), code(KeyCode::Up)]);
    assert_eq!(selected(&a), 1);
    send(&mut a, [key('j'), key('j'), code(KeyCode::Down)]);
    assert_eq!(selected(&a), 4);
    send(&mut a, [code(KeyCode::PageDown)]);
    let rows = a.list_rows();
    assert_eq!(selected(&a), 4 + rows as u32);
    assert!(
        a.list.offset > 0 && a.list.selected < a.list.offset + rows,
        "the selection is on screen"
    );
    send(&mut a, [key('G')]);
    assert_eq!(selected(&a), 100);
    assert_eq!(a.list.offset, 100 - rows);
    send(&mut a, [code(KeyCode::PageDown), key('j')]);
    assert_eq!(selected(&a), 100);
    send(&mut a, [key('g')]);
    assert_eq!((selected(&a), a.list.offset), (1, 0));
    send(&mut a, [Msg::Scroll(3)]);
    assert_eq!(selected(&a), 4);
}

#[test]
fn largest_sort_and_reverse_keep_the_selection() {
    let mut a = app(50);
    send(&mut a, [key('L')]);
    let largest = a.list.rows.iter().max_by_key(|r| r.size).unwrap().number;
    assert_eq!(selected(&a), largest);
    send(&mut a, [key('o')]);
    assert_eq!(a.list.sort, SortKey::Size);
    assert_eq!(selected(&a), largest, "still on the same message");
    assert_eq!(
        a.list.view.last().map(|&i| a.list.rows[i].number),
        Some(largest)
    );
    let sizes: Vec<u64> = a.list.view.iter().map(|&i| a.list.rows[i].size).collect();
    assert!(sizes.windows(2).all(|w| w[0] <= w[1]));
    send(&mut a, [key('O')]);
    assert!(a.list.reverse);
    assert_eq!(
        a.list.view.first().map(|&i| a.list.rows[i].number),
        Some(largest)
    );
    send(&mut a, [key('o'), key('o'), key('o'), key('o')]);
    assert_eq!(a.list.sort, SortKey::Number);
    assert!(a.screen.status.as_ref().unwrap().1.contains("number"));
}

#[test]
fn sorting_puts_missing_headers_last() {
    let mut a = App::new("t".into(), PathBuf::new(), 10, jiff::tz::TimeZone::UTC);
    send(
        &mut a,
        [
            Msg::Resize(80, 24),
            Msg::Worker(Event::Connected(SessionInfo::default())),
        ],
    );
    send(&mut a, [Msg::Worker(Event::Listing(listing(3)))]);
    send(
        &mut a,
        [Msg::Worker(Event::Headers(vec![
            (2, Ok(summary(2))),
            (3, Err(Failure::new(FailureKind::Protocol, "too long"))),
        ]))],
    );
    for _ in 0..2 {
        send(&mut a, [key('o')]);
    }
    assert_eq!(a.list.sort, SortKey::Date);
    let order: Vec<u32> = a.list.view.iter().map(|&i| a.list.rows[i].number).collect();
    assert_eq!(order[0], 2);
    assert_eq!(
        a.list.headers_done, 2,
        "a failed header block counts as done"
    );
}

#[test]
fn filter_narrows_live_and_escape_clears() {
    let mut a = app(30);
    send(&mut a, [key('/'), key('0'), key('1')]);
    assert!(a.list.filter_editing);
    let shown: Vec<u32> = a.list.view.iter().map(|&i| a.list.rows[i].number).collect();
    assert_eq!(
        shown,
        [1, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19],
        "Subject 001, 010-019"
    );
    send(&mut a, [key('5')]);
    assert_eq!(a.list.view.len(), 1);
    send(&mut a, [code(KeyCode::Backspace), code(KeyCode::Enter)]);
    assert!(!a.list.filter_editing);
    assert_eq!(a.list.filter, "01");
    assert_eq!(a.list.view.len(), 11);
    // d and D act on what is shown.
    send(&mut a, [key('D')]);
    assert_eq!(a.marks.delete.len(), 11);
    send(&mut a, [code(KeyCode::Esc)]);
    assert!(a.list.filter.is_empty());
    assert_eq!(a.list.view.len(), 30);
    assert_eq!(
        a.marks.delete.len(),
        11,
        "clearing the filter keeps the marks"
    );
    send(&mut a, [key('/'), key('x'), key('y'), code(KeyCode::Esc)]);
    assert_eq!(a.list.view.len(), 30);
}

mod marks;
mod rows;
mod screen;
mod session;
mod waiting;
mod worker_events;
