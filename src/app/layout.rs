//! Where things go on the screen, as a pure function of the terminal size,
//! so that `update` (page sizes, visible rows) and `render` agree.

use ratatui::layout::Rect;

/// Wide enough for the preview to sit beside the list.
pub const SIDE_BY_SIDE: u16 = 120;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Areas {
    /// Top line: server, security, counts, sizes.
    pub title: Rect,
    /// The message table, its header row included.
    pub list: Rect,
    /// The preview pane (zero-sized when closed).
    pub preview: Rect,
    /// Activity, progress or error.
    pub status: Rect,
    /// Key hints.
    pub hints: Rect,
}

/// The most lines the status may take on a screen `height` lines high: a
/// long message (a saved file's whole path, an error that says what to
/// do) gets up to four lines, a quarter of a small screen.
pub fn max_status_lines(height: u16) -> u16 {
    (height / 4).clamp(1, 4)
}

/// `status_lines`: how many lines the status needs (see
/// [`max_status_lines`]).
pub fn areas(width: u16, height: u16, preview: bool, status_lines: u16) -> Areas {
    let status_h = status_lines.clamp(1, max_status_lines(height));
    let full = Rect::new(0, 0, width, height);
    let row = |y: u16| Rect::new(0, y.min(height.saturating_sub(1)), width, 1.min(height));
    let title = row(0);
    let hints = row(height.saturating_sub(1));
    let body_h = height.saturating_sub(2 + status_h);
    let status = Rect::new(
        0,
        (1 + body_h).min(height.saturating_sub(1)),
        width,
        status_h.min(height.saturating_sub(2)),
    );
    let body = Rect::new(0, 1.min(height), width, body_h);
    if !preview {
        return Areas {
            title,
            list: body,
            preview: Rect::new(0, body.bottom(), width, 0),
            status,
            hints,
        };
    }
    let (list, pane) = if width >= SIDE_BY_SIDE {
        let lw = width * 11 / 20;
        (
            Rect::new(0, body.y, lw, body_h),
            Rect::new(lw, body.y, width - lw, body_h),
        )
    } else {
        let lh = (body_h * 2 / 5).max(3.min(body_h));
        (
            Rect::new(0, body.y, width, lh),
            Rect::new(0, body.y + lh, width, body_h - lh),
        )
    };
    let _ = full;
    Areas {
        title,
        list,
        preview: pane,
        status,
        hints,
    }
}

/// Where the text goes inside the preview pane `pane` (below its title,
/// right of its border when it sits beside the list).
pub fn preview_text(pane: Rect) -> Rect {
    let side = pane.y == 1 && pane.x > 0;
    let left = u16::from(side).min(pane.width);
    let top = 1.min(pane.height);
    Rect::new(
        pane.x + left,
        pane.y + top,
        pane.width - left,
        pane.height - top,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn areas_cover_the_screen_without_overlap() {
        for (w, h, p, s) in [
            (80, 24, false, 1),
            (80, 24, true, 1),
            (80, 24, true, 3),
            (80, 24, false, 9),
            (160, 50, true, 2),
            (40, 8, true, 4),
            (20, 3, false, 2),
            (20, 2, false, 2),
        ] {
            let a = areas(w, h, p, s);
            let parts = [a.title, a.list, a.preview, a.status, a.hints];
            let area: u32 = parts.iter().map(|r| r.width as u32 * r.height as u32).sum();
            assert_eq!(area, w as u32 * h as u32, "{w}x{h} {p}");
            for (i, x) in parts.iter().enumerate() {
                for y in &parts[i + 1..] {
                    assert!(
                        x.intersection(*y).is_empty() || x.area() == 0 || y.area() == 0,
                        "{w}x{h}: {x:?} {y:?}"
                    );
                }
            }
        }
        assert_eq!(areas(160, 50, true, 1).list.height, 47, "side by side");
        assert!(areas(80, 24, true, 1).list.height < 21, "stacked");
        let tall = areas(80, 24, false, 3);
        assert_eq!((tall.status.height, tall.list.height), (3, 19));
        assert_eq!(tall.status.bottom(), tall.hints.y);
        assert_eq!(areas(80, 24, false, 9).status.height, 4, "at most 4");
        assert_eq!(areas(44, 8, false, 3).status.height, 2, "small screen");
        assert_eq!(areas(44, 7, false, 3).status.height, 1, "smaller screen");
    }
}
