//! A set of messages by [`MsgKey`]: the marks for deletion and the
//! messages saved in this session. Plain data; the keys are the same the
//! worker checks before `DELE`.

use std::borrow::Cow;
use std::collections::BTreeSet;

use crate::worker::MsgKey;

/// What can be looked up in a [`KeySet`]: a key, or a UIDL as text.
pub trait AsKey {
    fn as_key(&self) -> Cow<'_, MsgKey>;
}

impl AsKey for MsgKey {
    fn as_key(&self) -> Cow<'_, MsgKey> {
        Cow::Borrowed(self)
    }
}

/// A UIDL, as the server and the user write it.
impl AsKey for str {
    fn as_key(&self) -> Cow<'_, MsgKey> {
        Cow::Owned(MsgKey::Uidl(self.to_string()))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeySet(BTreeSet<MsgKey>);

impl KeySet {
    pub fn contains(&self, key: &(impl AsKey + ?Sized)) -> bool {
        self.0.contains(key.as_key().as_ref())
    }

    /// False when it was there already.
    pub fn insert(&mut self, key: MsgKey) -> bool {
        self.0.insert(key)
    }

    /// False when it was not there.
    pub fn remove(&mut self, key: &MsgKey) -> bool {
        self.0.remove(key)
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &MsgKey> {
        self.0.iter()
    }

    pub fn clear(&mut self) {
        self.0.clear()
    }

    pub fn extend(&mut self, keys: impl IntoIterator<Item = MsgKey>) {
        self.0.extend(keys)
    }

    pub fn retain(&mut self, keep: impl FnMut(&MsgKey) -> bool) {
        self.0.retain(keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uidl_as_text_finds_its_key_and_numbers_stay_apart() {
        let mut set = KeySet::default();
        set.insert(MsgKey::Uidl("u1".into()));
        set.insert(MsgKey::Number(3));
        assert!(set.contains("u1") && set.contains(&MsgKey::Uidl("u1".into())));
        assert!(set.contains(&MsgKey::Number(3)));
        assert!(!set.contains("#3"), "text is a UIDL, never a number");
        assert!(set.remove(&MsgKey::Number(3)) && !set.remove(&MsgKey::Number(3)));
        assert_eq!(set.iter().collect::<Vec<_>>(), ["u1"]);
    }
}
