//! Which message: one key from the user's mark to the `DELE`. A UIDL
//! names a message across sessions; without UIDL (a server that lacks
//! it), the number in this session does. Plain data: no I/O.

use std::fmt;

use crate::client::ops::Listing;

/// A message as the app and the worker both name it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MsgKey {
    Uidl(String),
    /// Only on a server without UIDL: valid for this session alone.
    Number(u32),
}

impl MsgKey {
    /// The key of message `number`, whose UIDL is `uidl` (if any).
    pub fn new(number: u32, uidl: Option<&str>) -> MsgKey {
        match uidl {
            Some(u) => MsgKey::Uidl(u.to_string()),
            None => MsgKey::Number(number),
        }
    }

    /// The row of `listing` this key names (by UIDL, or by number on a
    /// server without UIDL), if it is still there.
    pub fn find<'a>(&self, listing: &'a [Listing]) -> Option<&'a Listing> {
        listing.iter().find(|l| self.names(l))
    }

    /// This key names row `l` (by UIDL, or by number without UIDL).
    pub fn names(&self, l: &Listing) -> bool {
        match self {
            MsgKey::Uidl(u) => l.uidl.as_deref() == Some(u.as_str()),
            MsgKey::Number(n) => l.number == *n,
        }
    }
}

/// UIDLs that name more than one message in `listing` (a broken server):
/// such a key is ambiguous, and popdoc never deletes on it.
pub fn duplicate_uidls(listing: &[Listing]) -> Vec<String> {
    let mut seen = std::collections::HashSet::new();
    let mut dups: Vec<String> = listing
        .iter()
        .filter_map(|l| l.uidl.as_deref())
        .filter(|u| !seen.insert(*u))
        .map(str::to_string)
        .collect();
    dups.sort();
    dups.dedup();
    dups
}

/// `uid17`, or `#3` for a message known by number only.
impl fmt::Display for MsgKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MsgKey::Uidl(u) => f.write_str(u),
            MsgKey::Number(n) => write!(f, "#{n}"),
        }
    }
}

/// A key equals the text the user sees for it (a UIDL, or `#3`).
impl PartialEq<str> for MsgKey {
    fn eq(&self, other: &str) -> bool {
        match self {
            MsgKey::Uidl(u) => u == other,
            MsgKey::Number(n) => other.strip_prefix('#') == Some(n.to_string().as_str()),
        }
    }
}

impl PartialEq<&str> for MsgKey {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

/// A message to delete, as the app knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    /// Its number when it was marked (for order and for the user).
    pub number: u32,
    /// Checked against this session's UIDL listing before DELE.
    pub uidl: Option<String>,
}

impl Mark {
    pub fn key(&self) -> MsgKey {
        MsgKey::new(self.number, self.uidl.as_deref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing() -> Vec<Listing> {
        vec![
            Listing {
                number: 1,
                size: 10,
                uidl: Some("a".into()),
            },
            Listing {
                number: 2,
                size: 20,
                uidl: Some("b".into()),
            },
        ]
    }

    #[test]
    fn a_uidl_key_finds_its_row_whatever_its_number() {
        let mark = Mark {
            number: 1,
            uidl: Some("b".into()),
        };
        assert_eq!(mark.key(), MsgKey::Uidl("b".into()));
        assert_eq!(mark.key().find(&listing()).map(|l| l.number), Some(2));
        assert!(MsgKey::Uidl("gone".into()).find(&listing()).is_none());
    }

    #[test]
    fn without_uidl_the_number_names_the_message() {
        let mark = Mark {
            number: 2,
            uidl: None,
        };
        assert_eq!(mark.key(), MsgKey::Number(2));
        assert_eq!(mark.key().find(&listing()).map(|l| l.size), Some(20));
        assert!(MsgKey::Number(3).find(&listing()).is_none());
    }

    #[test]
    fn a_uidl_listed_twice_is_found_once() {
        let mut l = listing();
        assert!(duplicate_uidls(&l).is_empty());
        l.push(Listing {
            number: 3,
            size: 30,
            uidl: Some("a".into()),
        });
        l.push(Listing {
            number: 4,
            size: 40,
            uidl: Some("a".into()),
        });
        assert_eq!(duplicate_uidls(&l), ["a"]);
    }

    #[test]
    fn keys_read_as_the_user_sees_them() {
        assert_eq!(MsgKey::Number(3).to_string(), "#3");
        assert_eq!(MsgKey::Number(3), "#3");
        assert_eq!(MsgKey::Uidl("u1".into()), "u1");
        assert_ne!(MsgKey::Uidl("#3".into()), MsgKey::Number(3));
    }
}
