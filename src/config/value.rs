//! Typed values of the config file: strings, shell commands, booleans,
//! numbers in a range, one of a few choices, and paths (`~` expanded,
//! relative to the file's folder). Each error names the key and keeps the
//! value's place in the file; a value that may be a secret is never quoted.
//!
//! Reads parsed TOML only; it opens no file and reads no environment.

use std::path::{Path, PathBuf};

use toml::Spanned;
use toml::de::DeValue;

use super::schema::{ConfigProblem, problem};

pub(super) fn string<'v>(
    key: &str,
    value: &'v Spanned<DeValue<'_>>,
) -> Result<&'v str, ConfigProblem> {
    match value.get_ref() {
        DeValue::String(s) => Ok(s.as_ref()),
        other => Err(problem(
            value.span(),
            format!(
                "\"{key}\" must be a string (in quotes), not {}",
                type_name(other)
            ),
        )),
    }
}

pub(super) fn command(key: &str, value: &Spanned<DeValue<'_>>) -> Result<String, ConfigProblem> {
    let c = string(key, value)?;
    if c.trim().is_empty() {
        return Err(problem(
            value.span(),
            format!("\"{key}\" must be a shell command, and it is empty"),
        ));
    }
    Ok(c.to_string())
}

pub(super) fn boolean(key: &str, value: &Spanned<DeValue<'_>>) -> Result<bool, ConfigProblem> {
    match value.get_ref() {
        DeValue::Boolean(b) => Ok(*b),
        other => Err(problem(
            value.span(),
            format!(
                "\"{key}\" must be true or false (without quotes), not {}",
                type_name(other)
            ),
        )),
    }
}

pub(super) fn number(
    key: &str,
    value: &Spanned<DeValue<'_>>,
    lo: u64,
    hi: u64,
    unit: &str,
) -> Result<u64, ConfigProblem> {
    let n = match value.get_ref() {
        DeValue::Integer(i) => u64::from_str_radix(i.as_str(), i.radix()).ok(),
        _ => None,
    };
    match n {
        Some(n) if (lo..=hi).contains(&n) => Ok(n),
        _ => {
            let mut message = format!("\"{key}\" must be a number from {lo} to {hi}{unit}");
            if let DeValue::String(s) = value.get_ref()
                && s.trim().parse::<u64>().is_ok()
            {
                message.push_str(", written without quotes");
            }
            Err(problem(value.span(), message))
        }
    }
}

pub(super) fn choice(
    key: &str,
    value: &Spanned<DeValue<'_>>,
    allowed: &[&'static str],
) -> Result<&'static str, ConfigProblem> {
    let list = allowed
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(", ");
    let s = string(key, value)
        .map_err(|_| problem(value.span(), format!("\"{key}\" must be one of {list}")))?;
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(s))
        .copied()
        .ok_or_else(|| {
            problem(
                value.span(),
                format!(
                    "\"{key}\" must be one of {list}, not \"{}\"",
                    crate::pop3::text::stripped(s)
                ),
            )
        })
}

pub(super) fn path(
    key: &str,
    value: &Spanned<DeValue<'_>>,
    base: &Path,
    home: Option<&Path>,
) -> Result<PathBuf, ConfigProblem> {
    let s = string(key, value)?;
    if s.is_empty() {
        return Err(problem(
            value.span(),
            format!("\"{key}\" must not be empty"),
        ));
    }
    expand(s, base, home).ok_or_else(|| {
        problem(
            value.span(),
            format!("\"{key}\" starts with ~ but the home folder is unknown; write the full path"),
        )
    })
}

/// `~` and `~/…` become the home folder; other relative paths are taken
/// from `base` (the config file's folder).
fn expand(s: &str, base: &Path, home: Option<&Path>) -> Option<PathBuf> {
    if s == "~" {
        return home.map(Path::to_path_buf);
    }
    if let Some(rest) = s.strip_prefix("~/") {
        return home.map(|h| h.join(rest));
    }
    let p = Path::new(s);
    Some(if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    })
}

fn type_name(v: &DeValue<'_>) -> &'static str {
    match v {
        DeValue::String(_) => "a string",
        DeValue::Integer(_) => "a number",
        DeValue::Float(_) => "a decimal number",
        DeValue::Boolean(_) => "true/false",
        DeValue::Datetime(_) => "a date",
        DeValue::Array(_) => "a list",
        DeValue::Table(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_expand() {
        let base = Path::new("/etc/popdoc");
        let home = Some(Path::new("/home/a"));
        assert_eq!(
            expand("~/Mail", base, home),
            Some(PathBuf::from("/home/a/Mail"))
        );
        assert_eq!(expand("~", base, home), Some(PathBuf::from("/home/a")));
        assert_eq!(
            expand("ca.pem", base, home),
            Some(PathBuf::from("/etc/popdoc/ca.pem"))
        );
        assert_eq!(expand("/x", base, None), Some(PathBuf::from("/x")));
        assert_eq!(expand("~/x", base, None), None);
    }
}
