//! The header cache against files in a temporary folder: hits need UIDL
//! and size, vanished messages go, a bad file is rebuilt, nothing is
//! written without UIDL, the file is private and bounded.

use super::*;
use crate::client::Security;

fn account(dir: &Path) -> Account {
    Account {
        cache: CacheSetting::In(dir.join("cache")),
        ..Account::new("t", "127.0.0.1", 1110, "u", Security::Plaintext)
    }
}

fn listing(items: &[(u32, &str, u64)]) -> Vec<Listing> {
    items
        .iter()
        .map(|&(number, uidl, size)| Listing {
            number,
            size,
            uidl: Some(uidl.into()),
        })
        .collect()
}

fn summary(subject: &str) -> Summary {
    Summary {
        subject: subject.into(),
        from: "Ann".into(),
        ..Summary::default()
    }
}

/// A session that fetched every message of `l` (subject: its UIDL) and saved.
fn fill(a: &Account, l: &[Listing]) {
    let (mut c, _) = Cache::open(a, l).unwrap();
    for m in l {
        if !c.has(m.number) {
            c.record(m.number, &summary(m.uidl.as_deref().unwrap()));
        }
    }
    c.save().unwrap();
}

#[test]
fn a_reopen_finds_what_matches_in_uidl_and_size() {
    let dir = tempfile::tempdir().unwrap();
    let a = account(dir.path());
    let first = listing(&[(1, "a", 10), (2, "b", 20), (3, "c", 30)]);
    let (c, hits) = Cache::open(&a, &first).unwrap();
    assert!(hits.is_empty(), "nothing cached yet");
    assert!(!c.path().exists());
    fill(&a, &first);

    // b changed size, c vanished, d is new; a moved to number 2.
    let second = listing(&[(1, "d", 40), (2, "a", 10), (3, "b", 21)]);
    let (mut c, hits) = Cache::open(&a, &second).unwrap();
    assert_eq!(hits, vec![(2, summary("a"))]);
    assert!(c.has(2) && !c.has(1) && !c.has(3));
    c.record(1, &summary("d"));
    c.record(3, &summary("b2"));
    c.save().unwrap();

    let back = format::parse(&std::fs::read(c.path()).unwrap(), &account_key(&a)).unwrap();
    let uidls: Vec<(&str, u64, &str)> = back
        .iter()
        .map(|e| (e.uidl.as_str(), e.size, e.summary.subject.as_str()))
        .collect();
    assert_eq!(uidls, [("d", 40, "d"), ("a", 10, "a"), ("b", 21, "b2")]);
}

#[test]
fn vanished_messages_are_dropped_on_the_next_write() {
    let dir = tempfile::tempdir().unwrap();
    let a = account(dir.path());
    fill(&a, &listing(&[(1, "a", 10), (2, "b", 20)]));
    let (mut c, hits) = Cache::open(&a, &listing(&[(1, "b", 20)])).unwrap();
    assert_eq!(hits, vec![(1, summary("b"))]);
    c.save().unwrap();
    let back = format::parse(&std::fs::read(c.path()).unwrap(), &account_key(&a)).unwrap();
    assert_eq!(back.len(), 1);
    assert_eq!(back[0].uidl, "b");
}

#[test]
fn a_bad_file_is_ignored_and_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let a = account(dir.path());
    let l = listing(&[(1, "a", 10), (2, "b", 20)]);
    fill(&a, &l);
    let path = file_of(&a).unwrap();
    let good = std::fs::read(&path).unwrap();
    let mut flipped = good.clone();
    let at = flipped.windows(1).rposition(|w| w == b"a").unwrap();
    flipped[at] = b'z';
    let mut other_version = good.clone();
    other_version[8] ^= 1;
    for bad in [
        good[..good.len() / 2].to_vec(),
        flipped,
        other_version,
        b"garbage".to_vec(),
        Vec::new(),
    ] {
        std::fs::write(&path, &bad).unwrap();
        let (mut c, hits) = Cache::open(&a, &l).unwrap();
        assert!(hits.is_empty(), "nothing from a bad file");
        c.record(1, &summary("a"));
        c.save().unwrap();
        let (_, hits) = Cache::open(&a, &l).unwrap();
        assert_eq!(hits, vec![(1, summary("a"))], "rebuilt");
    }
    // Another account's file, copied over this one's, is not used.
    let other = Account {
        user: "v".into(),
        ..a.clone()
    };
    fill(&other, &l);
    std::fs::copy(file_of(&other).unwrap(), &path).unwrap();
    let (_, hits) = Cache::open(&a, &l).unwrap();
    assert!(hits.is_empty());
}

#[test]
fn no_uidl_or_cache_off_means_no_cache() {
    let dir = tempfile::tempdir().unwrap();
    let a = account(dir.path());
    let l = vec![Listing {
        number: 1,
        size: 10,
        uidl: None,
    }];
    assert!(Cache::open(&a, &l).is_none());
    let off = Account {
        cache: CacheSetting::Off,
        ..a.clone()
    };
    assert!(Cache::open(&off, &listing(&[(1, "a", 10)])).is_none());
    assert!(!dir.path().join("cache").exists());
}

#[test]
fn a_uidl_given_twice_is_never_cached() {
    let dir = tempfile::tempdir().unwrap();
    let a = account(dir.path());
    let l = listing(&[(1, "a", 10), (2, "a", 10), (3, "b", 5)]);
    fill(&a, &l);
    let (c, hits) = Cache::open(&a, &l).unwrap();
    assert_eq!(hits, vec![(3, summary("b"))]);
    assert!(!c.has(1) && !c.has(2));
}

#[cfg(unix)]
#[test]
fn the_file_and_its_folder_are_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let a = account(dir.path());
    fill(&a, &listing(&[(1, "a", 10)]));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let file = file_of(&a).unwrap();
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(file.parent().unwrap()), 0o700);
    let name = file.file_name().unwrap().to_str().unwrap();
    let (hash, ext) = name.split_once('.').unwrap();
    assert_eq!(ext, EXTENSION);
    assert!(
        hash.len() == 32 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{name}"
    );
    // Nothing but the file: the temporary one was renamed.
    assert_eq!(
        std::fs::read_dir(file.parent().unwrap()).unwrap().count(),
        1
    );
}

#[test]
fn the_newest_messages_are_kept_within_the_bounds() {
    let dir = tempfile::tempdir().unwrap();
    let a = account(dir.path());
    let l = listing(&[(1, "a", 1), (2, "b", 2), (3, "c", 3), (4, "d", 4)]);
    let (mut c, _) = Cache::open(&a, &l).unwrap();
    for m in &l {
        c.record(m.number, &summary("s"));
    }
    let one = c.known[&1].len();
    assert_eq!(
        c.newest(2, usize::MAX),
        [&c.known[&4][..], &c.known[&3][..]]
    );
    assert_eq!(
        c.newest(10, 3 * one),
        [&c.known[&4][..], &c.known[&3][..], &c.known[&2][..]]
    );
}

#[test]
fn clear_removes_cache_files_only() {
    let dir = tempfile::tempdir().unwrap();
    let a = account(dir.path());
    let b = Account {
        user: "v".into(),
        ..a.clone()
    };
    fill(&a, &listing(&[(1, "a", 10)]));
    fill(&b, &listing(&[(1, "a", 10)]));
    let folder = folder(&a.cache).unwrap();
    std::fs::write(folder.join("notes.txt"), "mine").unwrap();
    assert_eq!(clear(&folder, Some(&a)).unwrap(), [file_of(&a).unwrap()]);
    assert_eq!(clear(&folder, Some(&a)).unwrap(), Vec::<PathBuf>::new());
    assert_eq!(clear(&folder, None).unwrap(), [file_of(&b).unwrap()]);
    assert!(folder.join("notes.txt").exists());
    assert!(clear(&dir.path().join("none"), None).unwrap().is_empty());
}
