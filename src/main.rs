//! The popdoc binary: parses the command line and runs the command.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use popdoc::cli::{Cli, Command, ConfigCommand, ConnArgs, PasswordCommand};
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
    let config = cli.config.clone();
    let config = config.as_deref();
    let result: Result<(), String> = runtime.block_on(async {
        match cli.command {
            Some(Command::List(args)) => {
                let account = one_account(&args.target, &args.conn, config)?;
                cmd::list::run(&account, args.json)
                    .await
                    .map_err(|e| e.to_string())
            }
            Some(Command::Save(args)) => {
                let account = one_account(&args.target, &args.conn, config)?;
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
            Some(Command::Config(ConfigCommand::Path)) => cmd::config::path(config),
            Some(Command::Password(PasswordCommand::Set { account })) => {
                cmd::password::set(config, &account)
            }
            Some(Command::Password(PasswordCommand::Delete { account })) => {
                cmd::password::delete(config, &account)
            }
            Some(Command::Demo(_)) => Err(
                "the full-screen interface is not built yet; use `popdoc list` or `popdoc save`"
                    .into(),
            ),
            None => {
                // Resolve now so that config errors show; the interface
                // takes the result once it exists.
                let _ = resolve(cli.target.as_deref(), &cli.conn, config)?;
                Err(
                    "the full-screen interface is not built yet; use `popdoc list` or `popdoc save`"
                        .into(),
                )
            }
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

/// The account or URL a command names, after printing config warnings.
fn one_account(
    target: &str,
    conn: &ConnArgs,
    config: Option<&std::path::Path>,
) -> Result<popdoc::account::Account, String> {
    match resolve(Some(target), conn, config)? {
        popdoc::config::Resolved::One(a) => Ok(a),
        _ => Err(format!("\"{target}\" names no account")),
    }
}

/// `config::resolve`, with its warnings printed on stderr.
fn resolve(
    target: Option<&str>,
    conn: &ConnArgs,
    config: Option<&std::path::Path>,
) -> Result<popdoc::config::Resolved, String> {
    let r = popdoc::config::resolve(target, conn, config).map_err(|e| e.to_string())?;
    for w in &r.warnings {
        eprintln!("popdoc: warning: {w}");
    }
    Ok(r.resolved)
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
