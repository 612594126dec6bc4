//! `popdoc completions SHELL` and `popdoc man`: a shell completion script
//! (clap_complete) and the manual page (clap_mangen, roff), both made from
//! the command line's own clap definitions and printed on standard output.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::Cli;

/// Writes the completion script for `shell`.
pub fn completions(shell: Shell, out: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = Cli::command();
    // clap_complete panics on a write error (`| head`): make it in memory.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "popdoc", &mut script);
    out.write_all(&script)
}

/// Writes the manual page: the command and its options, then each command
/// (`popdoc list`, …) with its own synopsis and options.
pub fn man(out: &mut dyn Write) -> std::io::Result<()> {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut page = Vec::new();
    clap_mangen::Man::new(cmd.clone()).render(&mut page)?;
    let page = String::from_utf8_lossy(&page).replace(".SH EXTRA", ".SH \"EXAMPLES AND NOTES\"");
    out.write_all(page.as_bytes())?;
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = sub.get_bin_name().unwrap_or(sub.get_name());
        writeln!(out, ".SH \"{}\"", name.to_uppercase())?;
        let man = clap_mangen::Man::new(sub.clone());
        let mut section = Vec::new();
        man.render_description_section(&mut section)?;
        man.render_synopsis_section(&mut section)?;
        man.render_options_section(&mut section)?;
        if sub.has_subcommands() {
            man.render_subcommands_section(&mut section)?;
        }
        if sub.get_after_help().is_some() {
            man.render_extra_section(&mut section)?;
        }
        let section = String::from_utf8_lossy(&section)
            .replace(".SH DESCRIPTION\n", "")
            .replace(".SH SYNOPSIS", ".SS Synopsis")
            .replace(".SH OPTIONS", ".SS Options")
            .replace(".SH SUBCOMMANDS", ".SS Commands")
            .replace(".SH EXTRA", ".SS Notes");
        out.write_all(section.as_bytes())?;
    }
    Ok(())
}

/// Runs `write` on standard output; a closed pipe (`| head`) is no error.
pub fn print(write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    match write(&mut out).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(format!("writing to standard output failed: {e}"))
        }
        _ => Ok(()),
    }
}
