//! The import rules of the floors (docs/ARCHITECTURE.md), checked on the
//! source: every `crate::…` path in `src/**/*.rs` names the top-level module
//! it reaches, and no floor may reach one above it. Offline: no server.
//!
//! Reads files only; it must not build or run anything of popdoc. A rule
//! that some work in progress still breaks is listed, pair by pair, in
//! [`KNOWN_EXCEPTIONS`] and nowhere else.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// What one floor (a top-level module of `src/`) may import.
enum Allowed {
    /// Only these modules (besides itself).
    Only(&'static [&'static str]),
    /// Anything but these.
    Never(&'static [&'static str]),
}

/// The floors from the bottom up. A floor not named here has no rule.
const RULES: &[(&str, Allowed)] = &[
    // The protocol core imports nothing of popdoc.
    ("pop3", Allowed::Only(&[])),
    // Leaf helpers that the connection library uses.
    ("util", Allowed::Only(&["pop3"])),
    ("mail", Allowed::Only(&["pop3", "util"])),
    // The connection library: no accounts, config, reports or UI.
    ("client", Allowed::Only(&["pop3", "mail", "util"])),
    // What the user configured and what a diagnosis found: never the
    // actor, the app, the UI or the commands.
    ("account", Allowed::Never(ABOVE_DATA)),
    ("store", Allowed::Never(ABOVE_DATA)),
    // The header cache: used by the worker and the commands, never by the
    // connection library or the protocol core (their rules above).
    ("cache", Allowed::Never(ABOVE_DATA)),
    ("config", Allowed::Never(ABOVE_DATA)),
    ("secret", Allowed::Never(ABOVE_DATA)),
    ("report", Allowed::Never(ABOVE_DATA)),
    ("check", Allowed::Never(ABOVE_DATA)),
    // The TUI's actor.
    (
        "worker",
        Allowed::Never(&["check", "config", "cmd", "ui", "app", "runtime"]),
    ),
    // The app's state and pure update.
    ("app", Allowed::Never(&["ui", "cmd", "runtime"])),
    // The built-in POP3 server speaks the protocol and nothing else.
    ("demo", Allowed::Only(&["pop3"])),
];

/// The floors above accounts, config, secrets, the store, reports and
/// checks.
const ABOVE_DATA: &[&str] = &["worker", "app", "ui", "runtime", "cmd"];

/// Imports that break a rule today because other work on the same issue is
/// under way: `(floor, module it imports)`. Empty this list when that work
/// has landed; an entry that is no longer needed fails the test too.
const KNOWN_EXCEPTIONS: &[(&str, &str)] = &[];

/// The top-level module a file of `src/` belongs to (`src/client/conn.rs`
/// and `src/client.rs` are both `client`); None for the crate roots.
fn floor_of(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// Every top-level module that `crate::` paths in `source` reach, comments
/// left out; `use crate::{a::X, b}` counts `a` and `b`.
fn imports(source: &str) -> BTreeSet<String> {
    let code: String = source
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let ident = |s: &str| -> String {
        s.trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut out = BTreeSet::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("crate::") {
        let before = rest[..at].chars().next_back();
        let after = &rest[at + "crate::".len()..];
        rest = after;
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$') {
            continue;
        }
        let Some(group) = after.strip_prefix('{') else {
            out.insert(ident(after));
            continue;
        };
        // The top-level items of a `{…}` group, nested groups skipped.
        let mut depth = 0;
        let mut item_start = true;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => break,
                '}' => depth -= 1,
                ',' if depth == 0 => item_start = true,
                c if item_start && !c.is_whitespace() => {
                    item_start = false;
                    out.insert(ident(&group[i..]));
                }
                _ => {}
            }
        }
    }
    out.retain(|m| !m.is_empty());
    out
}

/// Every `floor -> module` import that breaks a rule, with the file.
fn violations(files: &[(PathBuf, String)]) -> Vec<(String, String, PathBuf)> {
    let mut found = Vec::new();
    for (path, source) in files {
        let Some(floor) = floor_of(path) else {
            continue;
        };
        let Some((_, allowed)) = RULES.iter().find(|(f, _)| *f == floor) else {
            continue;
        };
        for module in imports(source) {
            let ok = module == floor
                || match allowed {
                    Allowed::Only(list) => list.contains(&module.as_str()),
                    Allowed::Never(list) => !list.contains(&module.as_str()),
                };
            if !ok {
                found.push((floor.clone(), module, path.clone()));
            }
        }
    }
    found
}

fn rust_files(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, root, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(&path).unwrap();
            out.push((path.strip_prefix(root).unwrap().to_path_buf(), text));
        }
    }
}

#[test]
fn no_floor_imports_upward() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &src, &mut files);
    assert!(files.len() > 50, "read {} files of src/", files.len());

    let found = violations(&files);
    let broken: Vec<String> = found
        .iter()
        .filter(|(floor, module, _)| !KNOWN_EXCEPTIONS.contains(&(floor.as_str(), module.as_str())))
        .map(|(floor, module, path)| format!("{floor} imports {module} (src/{})", path.display()))
        .collect();
    assert!(
        broken.is_empty(),
        "imports that run up the floors:\n  {}",
        broken.join("\n  ")
    );
    let stale: Vec<_> = KNOWN_EXCEPTIONS
        .iter()
        .filter(|(floor, module)| !found.iter().any(|(f, m, _)| f == floor && m == module))
        .collect();
    assert!(
        stale.is_empty(),
        "no longer needed: remove {stale:?} from KNOWN_EXCEPTIONS"
    );
}

#[test]
fn the_check_sees_every_form_of_import() {
    let file = |path: &str, text: &str| vec![(PathBuf::from(path), text.to_string())];
    let found = |path: &str, text: &str| {
        violations(&file(path, text))
            .into_iter()
            .map(|(floor, module, _)| format!("{floor}->{module}"))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        found("client/conn.rs", "use crate::account::Account;"),
        ["client->account"]
    );
    assert_eq!(
        found(
            "client/mod.rs",
            "use crate::{\n    pop3::{Command, Reply},\n    config::Config,\n};"
        ),
        ["client->config"]
    );
    assert_eq!(
        found("pop3/reply.rs", "fn f() { crate::util::fit(\"\", 1); }"),
        ["pop3->util"]
    );
    assert_eq!(
        found("worker.rs", "let r = crate::check::run(&a);"),
        ["worker->check"]
    );
    assert!(
        found(
            "client/conn.rs",
            "use crate::pop3::Command;\nuse crate::util::fit;"
        )
        .is_empty()
    );
    assert!(found("client/conn.rs", "//! see crate::account::Account").is_empty());
    assert!(found("lib.rs", "use crate::ui::render;").is_empty());
    assert!(found("cmd/list.rs", "use crate::ui::render;").is_empty());
}
