//! The list as the user sees it: which rows the filter keeps, in which
//! order (the sort key and its direction), and which message stays
//! selected when the rows change. Pure: no I/O, no ui.

use std::collections::HashMap;

use super::{App, Row};
use crate::mail::Summary;
use crate::worker::MsgKey;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Number,
    Size,
    Date,
    From,
    Subject,
}

impl SortKey {
    pub fn next(self) -> SortKey {
        match self {
            SortKey::Number => SortKey::Size,
            SortKey::Size => SortKey::Date,
            SortKey::Date => SortKey::From,
            SortKey::From => SortKey::Subject,
            SortKey::Subject => SortKey::Number,
        }
    }

    /// The order in words: `smallest first`, or the other way (`reverse`).
    pub fn order(self, reverse: bool) -> &'static str {
        let (up, down) = match self {
            SortKey::Number => ("lowest first", "highest first"),
            SortKey::Size => ("smallest first", "largest first"),
            SortKey::Date => ("oldest first", "newest first"),
            SortKey::From | SortKey::Subject => ("A to Z", "Z to A"),
        };
        if reverse { down } else { up }
    }

    pub fn label(self) -> &'static str {
        match self {
            SortKey::Number => "number",
            SortKey::Size => "size",
            SortKey::Date => "date",
            SortKey::From => "from",
            SortKey::Subject => "subject",
        }
    }
}

impl App {
    /// Rebuilds `view` from rows, filter and sort, keeping the selected
    /// message selected.
    pub fn rebuild_view(&mut self) {
        let keep: Vec<MsgKey> = self.selected_row().map(Row::key).into_iter().collect();
        self.rebuild_view_keeping(&keep);
    }

    /// The keys of the shown messages from the selected one on, then those
    /// before it nearest first: whom to select when the selected message
    /// goes away (the next one that remains, else the one before).
    pub fn selection_candidates(&self) -> Vec<MsgKey> {
        let key = |&i: &usize| self.list.rows[i].key();
        let (before, after) = self
            .list
            .view
            .split_at(self.list.selected.min(self.list.view.len()));
        after
            .iter()
            .map(key)
            .chain(before.iter().rev().map(key))
            .collect()
    }

    /// Rebuilds `view`, selecting the first of `keep` that is shown.
    pub fn rebuild_view_keeping(&mut self, keep: &[MsgKey]) {
        let needle = self.list.filter.to_lowercase();
        let mut view: Vec<usize> = (0..self.list.rows.len())
            .filter(|&i| needle.is_empty() || matches_filter(&self.list.rows[i], &needle))
            .collect();
        let rows = &self.list.rows;
        let text = |i: usize, f: fn(&Summary) -> &str| -> Option<String> {
            rows[i]
                .summary
                .as_ref()
                .map(|s| f(s).to_lowercase())
                .filter(|s| !s.is_empty())
        };
        match self.list.sort {
            SortKey::Number => view.sort_by_key(|&i| rows[i].number),
            SortKey::Size => view.sort_by_key(|&i| (rows[i].size, rows[i].number)),
            SortKey::Date => view.sort_by_key(|&i| {
                let d = rows[i].summary.as_ref().and_then(|s| s.date);
                (d.is_none(), d, rows[i].number)
            }),
            SortKey::From => view.sort_by_cached_key(|&i| {
                let t = text(i, |s| &s.from);
                (t.is_none(), t, rows[i].number)
            }),
            SortKey::Subject => view.sort_by_cached_key(|&i| {
                let t = text(i, |s| &s.subject);
                (t.is_none(), t, rows[i].number)
            }),
        }
        if self.list.reverse {
            view.reverse();
        }
        self.list.view = view;
        let position = |k: &MsgKey| {
            self.list
                .view
                .iter()
                .position(|&i| self.list.rows[i].key() == *k)
        };
        let found = if keep.len() <= 1 {
            keep.first().and_then(position)
        } else {
            let shown: HashMap<MsgKey, usize> = self
                .list
                .view
                .iter()
                .enumerate()
                .map(|(pos, &i)| (self.list.rows[i].key(), pos))
                .collect();
            keep.iter().find_map(|k| shown.get(k).copied())
        };
        self.list.selected = found
            .unwrap_or(0)
            .min(self.list.view.len().saturating_sub(1));
        self.scroll_into_view();
    }
}

/// What the filter searches, for the prompt and the help.
pub const FILTER_SEARCHES: &str =
    "From and Subject; a whole UIDL or message number (pasted) also matches";

/// The filter matches From and Subject by substring; a UIDL or a number
/// only when it is the whole value (a word typed should not match inside
/// an unrelated UIDL).
fn matches_filter(r: &Row, needle: &str) -> bool {
    let hit = |s: &str| s.to_lowercase().contains(needle);
    let needle_number = needle.strip_prefix('#').unwrap_or(needle);
    if r.number.to_string() == needle_number
        || r.uidl
            .as_deref()
            .is_some_and(|u| u.to_lowercase() == needle)
    {
        return true;
    }
    r.summary.as_ref().is_some_and(|s| {
        hit(&s.from) || hit(&s.subject) || s.from_address.as_deref().is_some_and(hit)
    })
}
