//! The popdoc binary: parses the command line and runs the command.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use popdoc::cli::{Cli, Command};
use popdoc::cmd;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(path) = &cli.log {
        if let Err(e) = init_log(path) {
            eprintln!("popdoc: cannot write the log file {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("popdoc: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Some(Command::Check(args)) = &cli.command {
        let code = runtime.block_on(popdoc::check::run(args));
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let result: Result<(), String> = runtime.block_on(async {
        match cli.command {
            Some(Command::List(args)) => {
                let account = args.conn.account(&args.target)?;
                cmd::list::run(&account, args.json)
                    .await
                    .map_err(|e| e.to_string())
            }
            Some(Command::Save(args)) => {
                let account = args.conn.account(&args.target)?;
                let req = cmd::save::Request {
                    number: args.number,
                    uidl: args.uidl,
                    output: args.output,
                    dir: args.dir,
                };
                cmd::save::run(&account, req)
                    .await
                    .map_err(|e| e.to_string())
            }
            Some(Command::Check(_)) => unreachable!("handled above"),
            Some(Command::Demo(_)) | None => Err(
                "the full-screen interface is not built yet; use `popdoc list` or `popdoc save`"
                    .into(),
            ),
        }
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("popdoc: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_log(path: &std::path::Path) -> std::io::Result<()> {
    let file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    let filter = tracing_subscriber::EnvFilter::try_from_env("POPDOC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("popdoc=debug"));
    tracing_subscriber::fmt()
        .with_writer(std::sync::Mutex::new(file))
        .with_ansi(false)
        .with_env_filter(filter)
        .init();
    Ok(())
}
