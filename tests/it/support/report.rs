//! Running the binary with a password in `POPDOC_PASSWORD`, and reading
//! what `popdoc check` printed (text or JSON).

use std::process::Output;

use serde_json::Value;

/// `popdoc ARGS` with `POPDOC_PASSWORD=password`.
pub async fn popdoc(args: &[&str], password: &str) -> Output {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_popdoc"))
        .args(args)
        .env("POPDOC_PASSWORD", password)
        .output()
        .await
        .unwrap()
}

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
