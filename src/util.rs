//! Small formatting helpers shared by the commands and the TUI: sizes,
//! durations and times for people.

use std::time::{Duration, SystemTime};

use unicode_width::UnicodeWidthChar;

/// Pads or cuts `s` to exactly `width` terminal columns, counting wide
/// characters (CJK, emoji) as two; a cut string ends in `…`.
pub fn fit(s: &str, width: usize) -> String {
    let cw = |c: char| c.width().unwrap_or(0);
    let total: usize = s.chars().map(cw).sum();
    let mut out = String::new();
    let mut w = 0;
    if total <= width {
        out.push_str(s);
        w = total;
    } else if width > 0 {
        for c in s.chars() {
            if w + cw(c) > width - 1 {
                break;
            }
            out.push(c);
            w += cw(c);
        }
        out.push('…');
        w += 1;
    }
    out.extend(std::iter::repeat_n(' ', width.saturating_sub(w)));
    out
}

/// Cuts `s` into lines of at most `first` columns (the first line) and
/// `rest` columns (the others), between words; a word longer than a whole
/// line (a path, a URL) starts where it is and is cut where the line is
/// full. Nothing but the spaces at the cuts is dropped; wide characters
/// count two.
pub fn wrap(s: &str, first: usize, rest: usize) -> Vec<String> {
    wrap_lines(s, first, rest, Long::Cut)
}

/// Cuts `s` into lines of at most `width` columns only between words, the
/// words separated by single spaces: a word longer than a line (a
/// fingerprint, a URL) stays whole on a line of its own, so that it can be
/// copied. For reports.
pub fn wrap_words(s: &str, width: usize) -> Vec<String> {
    let words = s.split(' ').filter(|w| !w.is_empty());
    wrap_lines(
        &words.collect::<Vec<_>>().join(" "),
        width,
        width,
        Long::Keep,
    )
}

/// What [`wrap_lines`] does with a word longer than a whole line.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Long {
    Cut,
    Keep,
}

/// The one word wrap behind [`wrap`] and [`wrap_words`].
fn wrap_lines(s: &str, first: usize, rest: usize, long: Long) -> Vec<String> {
    let cw = |c: char| c.width().unwrap_or(0);
    let room = |n: usize| if n == 0 { first } else { rest }.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    let mut w = 0;
    for (i, word) in s.split(' ').enumerate() {
        let ww: usize = word.chars().map(cw).sum();
        let sep = usize::from(i > 0);
        if w + sep + ww <= room(lines.len()) {
            if sep == 1 {
                line.push(' ');
            }
            line.push_str(word);
            w += sep + ww;
            continue;
        }
        if w > 0 && ww <= room(lines.len() + 1) {
            lines.push(std::mem::replace(&mut line, word.to_string()));
            w = ww;
            continue;
        }
        if long == Long::Keep {
            // Longer than a line: whole, on a line of its own.
            if w > 0 {
                lines.push(std::mem::take(&mut line));
            }
            line.push_str(word);
            w = ww;
            continue;
        }
        // Longer than a line: from here, cut where the line is full.
        if sep == 1 && w + 1 < room(lines.len()) {
            line.push(' ');
            w += 1;
        } else if w > 0 {
            lines.push(std::mem::take(&mut line));
            w = 0;
        }
        for c in word.chars() {
            if w + cw(c) > room(lines.len()) && !line.is_empty() {
                lines.push(std::mem::take(&mut line));
                w = 0;
            }
            line.push(c);
            w += cw(c);
        }
    }
    lines.push(line);
    lines
}

/// `1.2 MB`, `512 B` (decimal units, as mail clients show them).
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut v = bytes as f64;
    let mut unit = 0;
    while v >= 999.95 && unit < UNITS.len() - 1 {
        v /= 1000.0;
        unit += 1;
    }
    if v < 10.0 {
        format!("{v:.1} {}", UNITS[unit])
    } else {
        format!("{v:.0} {}", UNITS[unit])
    }
}

/// `830 ms`, `4.2 s`, `3 min 05 s`.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms} ms")
    } else if ms < 60_000 {
        format!("{:.1} s", d.as_secs_f64())
    } else {
        let s = d.as_secs();
        format!("{} min {:02} s", s / 60, s % 60)
    }
}

/// How long a transfer took, with its rate when the time is long enough
/// to give one: `in 1.2 s (5.1 MB/s)`, `in <1 ms` (a rate computed from a
/// time that shows as 0 ms would be made up).
pub fn transfer_time(bytes: u64, elapsed: Duration) -> String {
    if elapsed < Duration::from_millis(1) {
        return "in <1 ms".into();
    }
    let rate = bytes as f64 / elapsed.as_secs_f64();
    format!(
        "in {} ({}/s)",
        human_duration(elapsed),
        human_size(rate as u64)
    )
}

/// `2026-11-22 03:00:15` in UTC.
pub fn format_utc(t: SystemTime) -> String {
    jiff::Timestamp::try_from(t)
        .map(|ts| ts.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| "?".into())
}

/// A Unix time as `2026-11-22 04:00` in the local time zone.
pub fn format_local(unix: i64) -> String {
    jiff::Timestamp::from_second(unix)
        .map(|ts| {
            ts.to_zoned(jiff::tz::TimeZone::system())
                .strftime("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_else(|_| "?".into())
}

/// A Unix time as RFC 3339 UTC (`2026-11-22T03:00:15Z`), for JSON.
pub fn rfc3339(unix: i64) -> Option<String> {
    jiff::Timestamp::from_second(unix)
        .ok()
        .map(|ts| ts.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_counts_display_width() {
        assert_eq!(fit("abc", 5), "abc  ");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("日本語テキスト", 7), "日本語…");
        assert_eq!(fit("日本語", 5), "日本…");
        assert_eq!(fit("😀😀😀", 4), "😀… ");
        assert_eq!(fit("", 2), "  ");
        assert_eq!(fit("abc", 0), "");
    }

    #[test]
    fn wrap_cuts_between_words_else_anywhere_and_loses_nothing() {
        assert_eq!(wrap("", 10, 10), [""]);
        assert_eq!(wrap("short", 10, 10), ["short"]);
        assert_eq!(wrap("one two three", 7, 7), ["one two", "three"]);
        assert_eq!(wrap("one two three", 8, 8), ["one two", "three"]);
        assert_eq!(
            wrap("saved /a/very/long/path-2.eml", 8, 10),
            ["saved /a", "/very/long", "/path-2.em", "l"],
            "a word longer than a line starts where it is"
        );
        assert_eq!(wrap("a  b", 10, 10), ["a  b"], "spaces kept");
        assert_eq!(wrap("  indented text", 12, 12), ["  indented", "text"]);
        assert_eq!(wrap("日本語テキスト", 6, 6), ["日本語", "テキス", "ト"]);
        let text = "Received: from mail.example.org (mail.example.org [192.0.2.1]) by mx";
        for width in 5..40 {
            let lines = wrap(text, width, width - 2);
            assert!(
                lines.iter().all(|l| l.chars().count() <= width),
                "{lines:?}"
            );
            let joined: String = lines.concat();
            assert_eq!(joined.replace(' ', ""), text.replace(' ', ""), "{width}");
        }
    }

    #[test]
    fn wrap_words_cuts_only_between_words() {
        assert_eq!(wrap_words("a bb ccc", 4), vec!["a bb", "ccc"]);
        assert_eq!(wrap_words("", 10), vec![""]);
        assert_eq!(wrap_words("   ", 10), vec![""]);
        assert_eq!(wrap_words("  a   b  ", 10), vec!["a b"]);
        let fp = "AB:CD:EF:01:23:45:67:89";
        assert_eq!(
            wrap_words(&format!("sha256 {fp} seen"), 10),
            vec!["sha256", fp, "seen"],
            "a long word stays whole"
        );
        assert_eq!(wrap_words(fp, 10), vec![fp]);
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size(0), "0 B");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(1000), "1.0 kB");
        assert_eq!(human_size(1_234_567), "1.2 MB");
        assert_eq!(human_size(52_428_800), "52 MB");
        assert_eq!(human_size(999_999), "1.0 MB");
    }

    #[test]
    fn no_rate_from_a_time_too_short_to_measure() {
        assert_eq!(transfer_time(5411, Duration::from_micros(400)), "in <1 ms");
        assert_eq!(transfer_time(5411, Duration::ZERO), "in <1 ms");
        assert_eq!(
            transfer_time(6_300_000, Duration::from_millis(1250)),
            "in 1.2 s (5.0 MB/s)"
        );
        assert_eq!(
            transfer_time(5411, Duration::from_millis(2)),
            "in 2 ms (2.7 MB/s)"
        );
    }

    #[test]
    fn durations_and_times() {
        assert_eq!(human_duration(Duration::from_millis(830)), "830 ms");
        assert_eq!(human_duration(Duration::from_millis(4240)), "4.2 s");
        assert_eq!(human_duration(Duration::from_secs(185)), "3 min 05 s");
        assert_eq!(
            format_utc(SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_316_415)),
            "2026-11-22 03:00:15"
        );
        assert_eq!(rfc3339(0).unwrap(), "1970-01-01T00:00:00Z");
    }
}

thread_local! {
    static CONTAINED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f`, turning a panic inside it into `None`: for third-party code
/// that parses what a server sent (mail-parser has panicked on crafted
/// MIME), so that a hostile message costs its own summary, not the session.
/// While `f` runs, [`panic_is_contained`] is true on this thread, so the
/// process's panic hook lets the unwinding reach here instead of ending
/// popdoc.
pub fn contained<T>(f: impl FnOnce() -> T) -> Option<T> {
    let was = CONTAINED.with(|c| c.replace(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    CONTAINED.with(|c| c.set(was));
    r.ok()
}

/// True while [`contained`] runs on this thread.
pub fn panic_is_contained() -> bool {
    CONTAINED.with(std::cell::Cell::get)
}
