//! Names in the config file: which account names can be typed as an
//! argument, how a name is written back in `[accounts.…]`, and which known
//! key a mistyped one probably meant.
//!
//! Pure functions over strings.

use super::schema::ACCOUNT_KEYS;

pub(super) fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("an account name must not be empty".into());
    }
    if name.contains("://") {
        return Err(format!(
            "the account name \"{}\" contains \"://\", so it would be taken for a URL; choose another name",
            crate::pop3::text::stripped(name)
        ));
    }
    if name.starts_with('-') || name.chars().any(char::is_control) {
        return Err(format!(
            "the account name \"{}\" cannot be typed as an argument; use letters, digits, '.', '_' or '-' (not first)",
            crate::pop3::text::stripped(name)
        ));
    }
    Ok(())
}

/// How a name is written inside `[accounts.…]`.
pub(super) fn show_name(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        name.to_string()
    } else {
        format!("\"{}\"", crate::pop3::text::stripped(name))
    }
}

/// A known key a mistyped one probably meant: the same with dashes for
/// underscores, or within two edits.
pub(super) fn nearest(k: &str) -> Option<&'static str> {
    let dashed = k.replace('_', "-").to_ascii_lowercase();
    if let Some(k) = ACCOUNT_KEYS.iter().find(|a| **a == dashed) {
        return Some(k);
    }
    ACCOUNT_KEYS
        .iter()
        .map(|a| (edit_distance(&dashed, a), *a))
        .filter(|(d, _)| *d <= 2)
        .min()
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for j in 0..b.len() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != b[j]))
                .min(row[j] + 1)
                .min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_misses_are_named() {
        assert_eq!(nearest("hots"), Some("host"));
        assert_eq!(nearest("ca_file"), Some("ca-file"));
        assert_eq!(nearest("passwordcommand"), Some("password-command"));
        assert_eq!(nearest("colour"), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }
}
