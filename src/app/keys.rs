//! The key table: every key the list screen understands, with its help
//! text. Dispatch and the `?` screen both read this one table.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    PageUp,
    PageDown,
    Top,
    Bottom,
    Largest,
    Open,
    Close,
    PreviewDown,
    PreviewUp,
    RawHeaders,
    Save,
    SaveThenMark,
    ToggleMark,
    ToggleMarkShown,
    Unmark,
    UnmarkAll,
    Commit,
    Sort,
    Reverse,
    Filter,
    Transcript,
    WriteTranscript,
    Report,
    Retry,
    Help,
    Quit,
}

pub struct Binding {
    pub keys: &'static [(KeyCode, KeyModifiers)],
    pub action: Action,
    pub help: &'static str,
}

const N: KeyModifiers = KeyModifiers::NONE;
const S: KeyModifiers = KeyModifiers::SHIFT;

pub const BINDINGS: &[Binding] = &[
    Binding {
        keys: &[(KeyCode::Char('j'), N), (KeyCode::Down, N)],
        action: Action::Down,
        help: "next message",
    },
    Binding {
        keys: &[(KeyCode::Char('k'), N), (KeyCode::Up, N)],
        action: Action::Up,
        help: "previous message",
    },
    Binding {
        keys: &[
            (KeyCode::PageDown, N),
            (KeyCode::Char('f'), KeyModifiers::CONTROL),
        ],
        action: Action::PageDown,
        help: "page down",
    },
    Binding {
        keys: &[
            (KeyCode::PageUp, N),
            (KeyCode::Char('b'), KeyModifiers::CONTROL),
        ],
        action: Action::PageUp,
        help: "page up",
    },
    Binding {
        keys: &[(KeyCode::Char('g'), N), (KeyCode::Home, N)],
        action: Action::Top,
        help: "first message",
    },
    Binding {
        keys: &[(KeyCode::Char('G'), S), (KeyCode::End, N)],
        action: Action::Bottom,
        help: "last message",
    },
    Binding {
        keys: &[(KeyCode::Char('L'), S)],
        action: Action::Largest,
        help: "jump to the largest message",
    },
    Binding {
        keys: &[(KeyCode::Enter, N), (KeyCode::Char('l'), N)],
        action: Action::Open,
        help: "preview (headers, first lines, parts; no download)",
    },
    Binding {
        keys: &[(KeyCode::Char('h'), N), (KeyCode::Esc, N)],
        action: Action::Close,
        help: "close the preview / cancel / clear the filter",
    },
    Binding {
        keys: &[(KeyCode::Char(' '), N)],
        action: Action::PreviewDown,
        help: "scroll the preview down",
    },
    Binding {
        keys: &[(KeyCode::Backspace, N)],
        action: Action::PreviewUp,
        help: "scroll the preview up",
    },
    Binding {
        keys: &[(KeyCode::Char('H'), S)],
        action: Action::RawHeaders,
        help: "all raw headers in the preview",
    },
    Binding {
        keys: &[(KeyCode::Char('s'), N)],
        action: Action::Save,
        help: "save the message to a file (RETR)",
    },
    Binding {
        keys: &[(KeyCode::Char('S'), S)],
        action: Action::SaveThenMark,
        help: "save, then mark for deletion once verified",
    },
    Binding {
        keys: &[(KeyCode::Char('d'), N)],
        action: Action::ToggleMark,
        help: "mark / unmark for deletion, then move to the next message",
    },
    Binding {
        keys: &[(KeyCode::Char('D'), S)],
        action: Action::ToggleMarkShown,
        help: "mark / unmark every message shown",
    },
    Binding {
        keys: &[(KeyCode::Char('u'), N)],
        action: Action::Unmark,
        help: "unmark, then move to the next message",
    },
    Binding {
        keys: &[(KeyCode::Char('U'), S)],
        action: Action::UnmarkAll,
        help: "unmark all (RSET)",
    },
    Binding {
        keys: &[(KeyCode::Char('c'), N)],
        action: Action::Commit,
        help: "commit: delete the marked messages (asks first)",
    },
    Binding {
        keys: &[(KeyCode::Char('o'), N)],
        action: Action::Sort,
        help: "sort by number, size, date, from, subject",
    },
    Binding {
        keys: &[(KeyCode::Char('O'), S)],
        action: Action::Reverse,
        help: "reverse the sort",
    },
    Binding {
        keys: &[(KeyCode::Char('/'), N)],
        action: Action::Filter,
        help: "filter From/Subject or a whole UIDL/number (Enter keeps)",
    },
    Binding {
        keys: &[(KeyCode::Char('t'), N)],
        action: Action::Transcript,
        help: "show the transcript",
    },
    Binding {
        keys: &[(KeyCode::Char('w'), N)],
        action: Action::WriteTranscript,
        help: "write the transcript (or the report) to a file",
    },
    Binding {
        keys: &[(KeyCode::Char('i'), N)],
        action: Action::Report,
        help: "connection report, as popdoc check prints it",
    },
    Binding {
        keys: &[(KeyCode::Char('r'), N)],
        action: Action::Retry,
        help: "reconnect",
    },
    Binding {
        keys: &[(KeyCode::Char('?'), N), (KeyCode::F(1), N)],
        action: Action::Help,
        help: "this help",
    },
    Binding {
        keys: &[
            (KeyCode::Char('q'), N),
            (KeyCode::Char('c'), KeyModifiers::CONTROL),
        ],
        action: Action::Quit,
        help: "quit (asks if marks are pending); in the preview q closes it",
    },
];

/// The action bound to a key on the list screen.
pub fn action_for(key: &KeyEvent) -> Option<Action> {
    // Terminals differ on whether Shift comes with an upper-case letter.
    let mods = key.modifiers - KeyModifiers::SHIFT;
    BINDINGS.iter().find_map(|b| {
        b.keys
            .iter()
            .any(|(code, m)| *code == key.code && (*m - KeyModifiers::SHIFT) == mods)
            .then_some(b.action)
    })
}

/// How a key is written in the help: `j`, `↓`, `Enter`, `Ctrl-f`.
pub fn key_name(code: KeyCode, mods: KeyModifiers) -> String {
    let base = match code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Down => "↓".into(),
        KeyCode::Up => "↑".into(),
        KeyCode::PageDown => "PgDn".into(),
        KeyCode::PageUp => "PgUp".into(),
        KeyCode::Home => "Home".into(),
        KeyCode::End => "End".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        KeyCode::Backspace => "Backspace".into(),
        KeyCode::F(n) => format!("F{n}"),
        other => format!("{other:?}"),
    };
    if mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{base}")
    } else {
        base
    }
}

/// Rows for the help screen and the README: (keys, what they do).
pub fn help_rows() -> Vec<(String, &'static str)> {
    BINDINGS
        .iter()
        .map(|b| {
            let keys: Vec<String> = b.keys.iter().map(|(c, m)| key_name(*c, *m)).collect();
            (keys.join(" "), b.help)
        })
        .collect()
}

/// The notes under the key rows in the help.
pub const HELP_NOTES: [&str; 2] = [
    " Marks are kept by popdoc until you commit (c, then y); q asks before leaving them.",
    " Leaving without committing deletes nothing on the server.",
];

/// Lines of the help text (for scrolling): the rows, a blank line, the
/// notes.
pub fn help_lines() -> usize {
    help_rows().len() + 1 + HELP_NOTES.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_key_is_bound_twice() {
        let mut seen = std::collections::HashSet::new();
        for b in BINDINGS {
            for k in b.keys {
                assert!(seen.insert(*k), "{k:?} bound twice");
            }
        }
    }

    #[test]
    fn shift_is_optional_for_capitals() {
        let plain = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::NONE);
        let shifted = KeyEvent::new(KeyCode::Char('G'), KeyModifiers::SHIFT);
        assert_eq!(action_for(&plain), Some(Action::Bottom));
        assert_eq!(action_for(&shifted), Some(Action::Bottom));
        let ctrl_c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(action_for(&ctrl_c), Some(Action::Quit));
        assert_eq!(
            action_for(&KeyEvent::new(KeyCode::Char('c'), N)),
            Some(Action::Commit)
        );
        assert_eq!(action_for(&KeyEvent::new(KeyCode::Char('x'), N)), None);
    }

    #[test]
    fn help_names() {
        let rows = help_rows();
        assert_eq!(rows[0].0, "j ↓");
        assert!(rows.iter().any(|(k, _)| k == "PgDn Ctrl-f"));
    }
}
