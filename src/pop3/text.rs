//! The one sanitiser for text from outside (server replies, mail headers,
//! config values, key stores) that is about to reach a terminal.
//!
//! A character is unsafe when it is a control character (every escape
//! sequence starts with one) or an invisible format character that can
//! reorder or hide text: bidirectional overrides, embeddings, isolates and
//! marks, zero-width spaces and joiners used to hide words, the BOM and the
//! interlinear annotation marks. Unsafe characters are shown as `?`
//! ([`printable`], [`marked`]) or dropped ([`stripped`]). It lives in the
//! protocol core because reply text needs it and `pop3` imports nothing else
//! of popdoc; every floor above uses it from here. Pure: no I/O.

/// Whether `c` must never be put on a terminal as it is.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Bidi marks, embeddings, overrides and isolates (Unicode 9 UAX #9).
            '\u{061C}' | '\u{200E}' | '\u{200F}'
                | '\u{202A}'..='\u{202E}'
                | '\u{2066}'..='\u{2069}'
                // Zero-width space, word joiner and invisible operators.
                | '\u{200B}'
                | '\u{2060}'..='\u{2064}'
                // Deprecated format characters (shaping and digit controls).
                | '\u{206A}'..='\u{206F}'
                // Byte order mark / zero-width no-break space.
                | '\u{FEFF}'
                // Interlinear annotation anchors and separators.
                | '\u{FFF9}'..='\u{FFFB}'
        )
}

/// Bytes for people: lossy UTF-8, each unsafe character shown as `?`.
pub fn printable(bytes: &[u8]) -> String {
    marked(&String::from_utf8_lossy(bytes))
}

/// Each unsafe character shown as `?`, so that the reader sees something
/// was there.
pub fn marked(s: &str) -> String {
    s.chars()
        .map(|c| if is_unsafe(c) { '?' } else { c })
        .collect()
}

/// Unsafe characters dropped (a tab becomes a space), runs of whitespace
/// kept as they are: for text that is read, like a header or a body line.
pub fn stripped(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\t' => Some(' '),
            c if is_unsafe(c) => None,
            c => Some(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_marked_or_dropped() {
        assert_eq!(marked("ok\x1b[31m\x07"), "ok?[31m?");
        assert_eq!(stripped("a\tb\x1b[2Jc\r\n"), "a b[2Jc");
        assert_eq!(printable(b"caf\xe9\x00"), "caf\u{fffd}?");
    }

    #[test]
    fn bidi_overrides_and_isolates_never_pass() {
        // "evil\u{202E}fdp.exe" shows as "evilexe.pdf" on a terminal.
        let hostile = "a\u{202A}b\u{202B}c\u{202C}d\u{202D}e\u{202E}f\u{2066}g\u{2067}h\u{2068}i\u{2069}j\u{200E}k\u{200F}l\u{061C}m";
        assert_eq!(stripped(hostile), "abcdefghijklm");
        assert_eq!(marked(hostile), "a?b?c?d?e?f?g?h?i?j?k?l?m");
        assert_eq!(printable(hostile.as_bytes()), marked(hostile));
        for c in [
            '\u{200B}', '\u{2060}', '\u{2064}', '\u{206F}', '\u{FEFF}', '\u{FFF9}',
        ] {
            assert!(is_unsafe(c), "{c:?}");
        }
    }

    #[test]
    fn ordinary_text_is_kept() {
        let text = "Café crème, 日本語, 😀, שלום, ‍x y  z";
        assert_eq!(marked(text), text);
        assert_eq!(stripped(text), text);
    }
}
