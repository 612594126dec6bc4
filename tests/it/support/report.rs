//! Reading what the binary printed: text, JSON, and the stages of a
//! `popdoc check` report. It runs nothing (see `cli`).

use std::process::Output;

use serde_json::Value;

/// Standard output as JSON; on failure, says what was printed instead.
pub fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

pub fn text(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The `stage` of every timing row of a check report, in order.
pub fn stages(v: &Value) -> Vec<String> {
    v["timings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["stage"].as_str().unwrap().to_string())
        .collect()
}
