//! The demo mailbox, embedded at build time from `assets/demo/`.

include!(concat!(env!("OUT_DIR"), "/demo_assets.rs"));

/// Writes the demo messages into `dir` (a fresh copy that deletions may
/// change) and returns how many were written.
pub fn write_to(dir: &std::path::Path) -> std::io::Result<usize> {
    for (name, bytes) in MESSAGES {
        std::fs::write(dir.join(name), bytes)?;
    }
    Ok(MESSAGES.len())
}
