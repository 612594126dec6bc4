//! The preview as lines of text already wrapped to the pane's width: what
//! the preview pane draws, and so how far it can scroll (the last line at
//! the bottom of the pane at most). Pure text with a tone per piece; the
//! ui gives the tones their colours.

use super::{App, PreviewContent, PreviewState};
use crate::mail::BodyKind;
use crate::util::{human_size, wrap};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Label,
    Text,
    Dim,
    Error,
}

/// One screen line: pieces of text, each with its tone.
pub type PagerLine = Vec<(Tone, String)>;

/// Width of the field names in the header block ("Message-ID ").
const LABEL: usize = 11;
/// How far the wrapped part of a raw header line is indented, so that it
/// does not look like a header of its own.
const RAW_INDENT: usize = 4;

/// `text` in `tone`, wrapped to `width`; wrapped parts start `indent`
/// columns in.
fn push_wrapped(out: &mut Vec<PagerLine>, tone: Tone, text: &str, width: usize, indent: usize) {
    let indent = if width > indent * 2 { indent } else { 0 };
    for (i, l) in wrap(text, width, width - indent).into_iter().enumerate() {
        let l = if i == 0 {
            l
        } else {
            format!("{}{l}", " ".repeat(indent))
        };
        out.push(vec![(tone, l)]);
    }
}

/// The preview `p` as lines of at most `width` columns.
pub fn lines(app: &App, p: &PreviewState, width: usize) -> Vec<PagerLine> {
    let width = width.max(1);
    let mut out = Vec::new();
    let pv = match &p.content {
        PreviewContent::Loading => {
            let text = format!(
                "loading the first {} lines (TOP {} {})…",
                app.setup.preview_lines, p.number, app.setup.preview_lines
            );
            push_wrapped(&mut out, Tone::Dim, &text, width, 0);
            return out;
        }
        PreviewContent::Failed(e) => {
            push_wrapped(
                &mut out,
                Tone::Error,
                &format!("preview failed: {e}"),
                width,
                0,
            );
            return out;
        }
        PreviewContent::Ready(pv) => pv,
    };
    if p.raw {
        for h in &pv.raw_headers {
            push_wrapped(&mut out, Tone::Text, h, width, RAW_INDENT);
        }
    } else {
        for (k, v) in &pv.headers {
            // Dates in the user's time zone, like the list.
            let v = match (*k, pv.date) {
                ("Date", Some(t)) => app.date_text(t, true),
                _ => v.clone(),
            };
            if width <= LABEL * 2 {
                push_wrapped(&mut out, Tone::Text, &format!("{k:<LABEL$}{v}"), width, 0);
                continue;
            }
            for (i, l) in wrap(&v, width - LABEL, width - LABEL)
                .into_iter()
                .enumerate()
            {
                let label = if i == 0 { k } else { "" };
                out.push(vec![
                    (Tone::Label, format!("{label:<LABEL$}")),
                    (Tone::Text, l),
                ]);
            }
        }
    }
    let what = match pv.body_kind {
        BodyKind::Text => "text",
        BodyKind::Html => "HTML shown as text",
        BodyKind::None => "no text part",
    };
    let cut = if pv.truncated {
        format!(", first {} lines", app.setup.preview_lines)
    } else {
        String::new()
    };
    push_wrapped(&mut out, Tone::Dim, &format!("── {what}{cut} ──"), width, 0);
    for l in &pv.body {
        push_wrapped(&mut out, Tone::Text, l, width, 0);
    }
    if pv.truncated {
        let note = "… (the rest is not downloaded; s saves the whole message)";
        push_wrapped(&mut out, Tone::Dim, note, width, 0);
    }
    if pv.parts.len() > 1 || pv.parts.first().is_some_and(|x| x.name.is_some()) {
        push_wrapped(&mut out, Tone::Dim, "── MIME parts ──", width, 0);
        for part in &pv.parts {
            let size = match part.size {
                Some(s) => human_size(s),
                None if part.content_type.starts_with("multipart/") => String::new(),
                None => "size unknown (past the preview)".into(),
            };
            let mut text = format!("{}{}", "  ".repeat(part.depth), part.content_type);
            if let Some(n) = &part.name {
                text.push_str(&format!("  \"{n}\""));
            }
            if !size.is_empty() {
                text.push_str(&format!("  {size}"));
            }
            push_wrapped(&mut out, Tone::Text, &text, width, 2 * part.depth + 2);
        }
    }
    out
}
