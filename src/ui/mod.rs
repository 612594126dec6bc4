//! Drawing the [`App`] with ratatui. Reads the state, never changes it,
//! never does I/O.

pub mod dialog;
pub mod list;
pub mod overlay;
pub mod picker;
pub mod preview;
pub mod status;
pub mod theme;

use ratatui::Frame;

use crate::app::{App, Overlay, layout};
use theme::Theme;

pub fn render(frame: &mut Frame, app: &App) {
    let theme = Theme {
        color: app.screen.color,
    };
    let size = frame.area();
    let a = layout::areas(
        size.width,
        size.height,
        app.screen.preview.is_some(),
        app.status_height(),
    );
    status::title(frame, app, a.title, &theme);
    list::render(frame, app, a.list, &theme);
    if let Some(p) = &app.screen.preview {
        preview::render(frame, app, p, a.preview, &theme);
    }
    status::status(frame, app, a.status, &theme);
    status::hints(frame, app, a.hints, &theme);
    match app.screen.overlay {
        Some(Overlay::Help { scroll }) => overlay::help(frame, scroll, size, &theme),
        Some(Overlay::Transcript { scroll }) => {
            overlay::transcript(frame, app, scroll, size, &theme)
        }
        Some(Overlay::Report { scroll }) => overlay::report(frame, app, scroll, size, &theme),
        None => {}
    }
    if let Some(d) = &app.screen.dialog {
        dialog::render(frame, app, d, &theme);
    }
}
