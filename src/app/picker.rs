//! Choosing an account when the config has several and no default: a list
//! to move through, Enter to open, q or Esc to leave. Pure, like `update`.

use crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use crate::account::Account;
use crate::client::transport::Security;

pub struct Picker {
    /// (name, what it connects to)
    pub entries: Vec<(String, String)>,
    pub selected: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Picked {
    Stay,
    Open(usize),
    Leave,
}

impl Picker {
    pub fn new(accounts: &[Account]) -> Picker {
        let entries = accounts
            .iter()
            .map(|a| {
                let security = match a.security {
                    Security::Implicit => "TLS",
                    Security::StartTls => "STLS",
                    Security::Plaintext => "plain",
                };
                (
                    a.label.clone(),
                    format!("{} ({security})", a.server_label()),
                )
            })
            .collect();
        Picker {
            entries,
            selected: 0,
        }
    }

    pub fn key(&mut self, key: KeyEvent) -> Picked {
        if key.kind == KeyEventKind::Release {
            return Picked::Stay;
        }
        let last = self.entries.len().saturating_sub(1);
        match key.code {
            KeyCode::Char('j') | KeyCode::Down => self.selected = (self.selected + 1).min(last),
            KeyCode::Char('k') | KeyCode::Up => self.selected = self.selected.saturating_sub(1),
            KeyCode::Char('g') | KeyCode::Home => self.selected = 0,
            KeyCode::Char('G') | KeyCode::End => self.selected = last,
            KeyCode::Enter | KeyCode::Char('l') if !self.entries.is_empty() => {
                return Picked::Open(self.selected);
            }
            KeyCode::Char('q') | KeyCode::Esc => return Picked::Leave,
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                return Picked::Leave;
            }
            _ => {}
        }
        Picked::Stay
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, KeyModifiers::NONE)
    }

    #[test]
    fn move_and_choose() {
        let mut p = Picker {
            entries: vec![
                ("a".into(), "x".into()),
                ("b".into(), "y".into()),
                ("c".into(), "z".into()),
            ],
            selected: 0,
        };
        assert_eq!(p.key(k(KeyCode::Up)), Picked::Stay);
        assert_eq!(p.selected, 0);
        p.key(k(KeyCode::Char('j')));
        p.key(k(KeyCode::Down));
        p.key(k(KeyCode::Down));
        assert_eq!(p.selected, 2);
        assert_eq!(p.key(k(KeyCode::Enter)), Picked::Open(2));
        p.key(k(KeyCode::Char('g')));
        assert_eq!(p.key(k(KeyCode::Char('l'))), Picked::Open(0));
        assert_eq!(p.key(k(KeyCode::Char('q'))), Picked::Leave);
    }
}
