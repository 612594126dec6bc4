//! Fuzzes the config file parser: arbitrary text, file modes that do and do
//! not let others read it. It must never panic; an error is one line, names
//! the file and a line that exists, holds no unsafe character, and never
//! quotes a password written in the file.
#![no_main]

use std::path::PathBuf;

use libfuzzer_sys::fuzz_target;
use popdoc::config::{ConfigError, Location, Origin, parse};
use popdoc::pop3::text::is_unsafe;

/// Every string written as the value of a key named `password`, anywhere.
fn passwords(v: &toml::Value, out: &mut Vec<String>) {
    match v {
        toml::Value::Table(t) => {
            for (k, v) in t {
                if k == "password"
                    && let toml::Value::String(s) = v
                {
                    out.push(s.clone());
                }
                passwords(v, out);
            }
        }
        toml::Value::Array(a) => a.iter().for_each(|v| passwords(v, out)),
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&flag, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mode = match flag % 3 {
        0 => None,
        1 => Some(0o600),
        _ => Some(0o644),
    };
    let location = Location {
        path: PathBuf::from("/home/u/.config/popdoc/popdoc.toml"),
        origin: Origin::Default,
    };
    let secrets = match text.parse::<toml::Table>() {
        Ok(t) => {
            let mut out = Vec::new();
            passwords(&toml::Value::Table(t), &mut out);
            out.retain(|p| p.len() >= 6);
            out
        }
        Err(_) => Vec::new(),
    };
    match parse(&location, text, mode) {
        Ok(config) => {
            for w in config.warnings() {
                assert!(!w.chars().any(is_unsafe) && !w.contains('\n'), "{w:?}");
                for s in &secrets {
                    assert!(!w.contains(s.as_str()), "password in warning");
                }
            }
            for a in &config.accounts {
                assert!(!a.host.is_empty());
            }
        }
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.starts_with("/home/u/.config/popdoc/popdoc.toml"),
                "{msg}"
            );
            assert!(!msg.contains('\n'), "{msg:?}");
            assert!(!msg.chars().any(is_unsafe), "{msg:?}");
            assert!(
                !msg.contains("Error {") && !msg.contains("Some("),
                "Debug print: {msg}"
            );
            for s in &secrets {
                assert!(!msg.contains(s.as_str()), "password quoted: {msg}");
            }
            if let ConfigError::At { line, .. } = e {
                assert!(
                    line >= 1 && line <= text.lines().count().max(1) + 1,
                    "line {line}"
                );
            }
        }
    }
});
