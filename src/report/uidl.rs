//! UIDL sanity (RFC 1939 §7): a unique-id is 1 to 70 characters in the
//! range 0x21-0x7E, and no two messages share one. Servers that break this
//! make clients download mail twice or lose track of it. Pure: works on a
//! listing already fetched.

use std::collections::BTreeMap;

use super::model::{DuplicateUidl, UidlReport};
use crate::client::ops::Listing;

/// The longest unique-id RFC 1939 allows.
pub const MAX_UIDL: usize = 70;

/// Checks the UIDLs of `listing`; `supported` says whether the server
/// answered UIDL at all.
pub fn check(listing: &[Listing], supported: bool) -> UidlReport {
    let mut r = UidlReport {
        supported,
        ..Default::default()
    };
    if !supported {
        return r;
    }
    let mut seen: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for l in listing {
        let Some(uid) = l.uidl.as_deref() else {
            r.missing.push(l.number);
            continue;
        };
        r.checked += 1;
        seen.entry(uid).or_default().push(l.number);
        if uid.chars().count() > MAX_UIDL {
            r.too_long.push(l.number);
        }
        if uid.is_empty() || !uid.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            r.bad_characters.push(l.number);
        }
    }
    r.duplicates = seen
        .into_iter()
        .filter(|(_, n)| n.len() > 1)
        .map(|(uid, messages)| DuplicateUidl {
            uidl: uid.to_string(),
            messages,
        })
        .collect();
    r.duplicates.sort_by_key(|d| d.messages[0]);
    r
}

impl UidlReport {
    /// No duplicates, no over-long or odd UIDLs, none missing.
    pub fn clean(&self) -> bool {
        self.duplicates.is_empty()
            && self.too_long.is_empty()
            && self.bad_characters.is_empty()
            && self.missing.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(number: u32, uidl: Option<&str>) -> Listing {
        Listing {
            number,
            size: 100,
            uidl: uidl.map(str::to_string),
        }
    }

    #[test]
    fn clean_listing() {
        let r = check(&[l(1, Some("a1")), l(2, Some("~!x"))], true);
        assert!(r.clean());
        assert_eq!(r.checked, 2);
    }

    #[test]
    fn finds_every_kind_of_problem() {
        let long = "x".repeat(71);
        let exactly = "y".repeat(70);
        let r = check(
            &[
                l(1, Some("dup")),
                l(2, Some(&long)),
                l(3, Some("dup")),
                l(4, Some("caf\u{e9}")),
                l(5, None),
                l(6, Some(&exactly)),
                l(7, Some("dup")),
                l(8, Some("tab\x7f")),
            ],
            true,
        );
        assert_eq!(
            r.duplicates,
            vec![DuplicateUidl {
                uidl: "dup".into(),
                messages: vec![1, 3, 7]
            }]
        );
        assert_eq!(r.too_long, vec![2]);
        assert_eq!(r.bad_characters, vec![4, 8]);
        assert_eq!(r.missing, vec![5]);
        assert_eq!(r.checked, 7);
        assert!(!r.clean());
    }

    #[test]
    fn unsupported_checks_nothing() {
        let r = check(&[l(1, None)], false);
        assert!(!r.supported);
        assert!(r.clean());
        assert_eq!(r.checked, 0);
    }
}
