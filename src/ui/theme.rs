//! Styles that read on dark and light terminals: the terminal's own
//! foreground and background, a few basic colours for meaning, and
//! modifiers (bold, reverse) for structure. With colour off (`NO_COLOR`),
//! only the modifiers remain.

use ratatui::style::{Color, Modifier, Style};

#[derive(Debug, Clone, Copy)]
pub struct Theme {
    pub color: bool,
}

impl Theme {
    fn fg(&self, c: Color) -> Style {
        if self.color {
            Style::new().fg(c)
        } else {
            Style::new()
        }
    }

    pub fn title(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn header(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD | Modifier::UNDERLINED)
    }
    pub fn selected(&self) -> Style {
        Style::new().add_modifier(Modifier::REVERSED)
    }
    pub fn marked(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn saved(&self) -> Style {
        self.fg(Color::Green)
    }
    pub fn dim(&self) -> Style {
        Style::new().add_modifier(Modifier::DIM)
    }
    pub fn error(&self) -> Style {
        self.fg(Color::Red).add_modifier(Modifier::BOLD)
    }
    pub fn success(&self) -> Style {
        self.fg(Color::Green).add_modifier(Modifier::BOLD)
    }
    pub fn info(&self) -> Style {
        Style::new()
    }
    pub fn key(&self) -> Style {
        self.fg(Color::Cyan).add_modifier(Modifier::BOLD)
    }
    pub fn label(&self) -> Style {
        Style::new().add_modifier(Modifier::BOLD)
    }
    pub fn sent(&self) -> Style {
        self.fg(Color::Cyan)
    }
    pub fn gauge(&self) -> Style {
        self.fg(Color::Green)
    }
}
