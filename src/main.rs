//! The popdoc binary: parses the command line and runs the command.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use popdoc::cli::{Cli, Command, ConfigCommand, ConnArgs, PasswordCommand};
use popdoc::cmd;
use popdoc::config::Resolved;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(path) = &cli.log
        && let Err(e) = init_log(path)
    {
        eprintln!("popdoc: cannot write the log file {}: {e}", path.display());
        return ExitCode::FAILURE;
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
    if let Some(Command::Check(args)) = &cli.command {
        let resolve = |target: &str, conn: &ConnArgs| one_account(target, conn, config);
        let code = runtime.block_on(popdoc::check::run(args, &resolve));
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
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
                    account_dir: account.save_dir.clone(),
                };
                cmd::save::run(&account, req)
                    .await
                    .map_err(|e| e.to_string())
            }
            Some(Command::Check(_)) => unreachable!("handled above"),
            Some(Command::Config(ConfigCommand::Path)) => cmd::config::path(config),
            Some(Command::Password(PasswordCommand::Set { account })) => {
                cmd::password::set(config, &account)
            }
            Some(Command::Password(PasswordCommand::Delete { account })) => {
                cmd::password::delete(config, &account)
            }
            Some(Command::Demo(args)) => {
                cmd::demo::run(cmd::demo::DemoOptions {
                    slow: args.slow,
                    save_dir: args.save_dir,
                    mailbox_dir: args.mailbox_dir,
                })
                .await
            }
            None => {
                let mut account = match resolve(cli.target.as_deref(), &cli.conn, config)? {
                    Resolved::One(a) => a,
                    Resolved::Pick(mut all) => {
                        if cli.save_dir.is_some() {
                            for a in &mut all {
                                a.save_dir = cli.save_dir.clone();
                            }
                        }
                        return popdoc::runtime::pick_and_run(
                            all,
                            popdoc::runtime::Options {
                                save_dir: popdoc::runtime::default_save_dir(),
                                color: popdoc::runtime::color_wanted(),
                            },
                        )
                        .await;
                    }
                    Resolved::None => {
                        return Err("say which mailbox to open: popdoc pop3s://USER@HOST, or an account from the config file (see `popdoc config path`); or try `popdoc demo`; `popdoc --help` shows more".to_string());
                    }
                };
                if cli.save_dir.is_some() {
                    account.save_dir = cli.save_dir.clone();
                }
                popdoc::runtime::run(
                    account,
                    popdoc::runtime::Options {
                        save_dir: popdoc::runtime::default_save_dir(),
                        color: popdoc::runtime::color_wanted(),
                    },
                )
                .await
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
        Resolved::One(a) => Ok(a),
        _ => Err(format!("\"{target}\" names no account")),
    }
}

/// `config::resolve`, with its warnings printed on stderr.
fn resolve(
    target: Option<&str>,
    conn: &ConnArgs,
    config: Option<&std::path::Path>,
) -> Result<Resolved, String> {
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
