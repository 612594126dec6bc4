//! The popdoc binary: parses the command line and runs the command.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use popdoc::cli::{CacheCommand, Cli, CliCommand, ConfigCommand, ConnArgs, PasswordCommand};
use popdoc::cmd;
use popdoc::config::Resolved;

fn main() -> ExitCode {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => {
            // `popdoc lsit URL`: clap takes `lsit` for an account and
            // complains about the URL; say what was meant instead.
            if e.use_stderr()
                && let Some(word) = popdoc::cli::first_word(&args)
                && let Some(hint) = mistyped_command(&word, config_flag(&args).as_deref())
            {
                eprintln!("popdoc: {hint}");
                return ExitCode::from(2);
            }
            e.exit()
        }
    };
    if cli.command.is_none()
        && let Some(word) = &cli.target
        && let Some(hint) = mistyped_command(word, cli.config.as_deref())
    {
        eprintln!("popdoc: {hint}");
        return ExitCode::from(2);
    }
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
    // A panic or a signal ends popdoc at once, without QUIT, with the
    // terminal restored and temporary files removed (`runtime::stop`).
    // `demo --serve` stops on its own on Ctrl-C, SIGTERM and SIGHUP.
    popdoc::runtime::install_panic_hook(cli.log.clone());
    if !matches!(&cli.command, Some(CliCommand::Demo(d)) if d.serve) {
        runtime.spawn(popdoc::runtime::stop_on_signals());
    }
    let config = cli.config.clone();
    let config = config.as_deref();
    if let Some(CliCommand::Check(args)) = &cli.command {
        let resolve = |target: &str, conn: &ConnArgs| one_account(target, conn, config);
        let code = runtime.block_on(popdoc::check::run(args, &resolve));
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    let no_cache = cli.no_cache;
    let result: Result<(), String> = runtime.block_on(async {
        match cli.command {
            Some(CliCommand::List(args)) => {
                let mut account = one_account(&args.target, &args.conn, config)?;
                cmd::cache::apply_flag(&mut account, no_cache);
                cmd::list::run(&account, args.json)
                    .await
                    .map_err(|e| e.to_string())
            }
            Some(CliCommand::Save(args)) => {
                let account = one_account(&args.target, &args.conn, config)?;
                let req = cmd::save::SaveJob {
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
            Some(CliCommand::Check(_)) => unreachable!("handled above"),
            Some(CliCommand::Config(ConfigCommand::Path)) => cmd::config::path(config),
            Some(CliCommand::Password(PasswordCommand::Set { account })) => {
                cmd::password::set(config, &account)
            }
            Some(CliCommand::Password(PasswordCommand::Delete { account })) => {
                cmd::password::delete(config, &account)
            }
            Some(CliCommand::Cache(CacheCommand::Path { target })) => {
                let account = target.map(|t| one_account(&t, &ConnArgs::default(), config));
                cmd::cache::path(account.transpose()?.as_ref())
            }
            Some(CliCommand::Cache(CacheCommand::Clear { target })) => {
                let account = target.map(|t| one_account(&t, &ConnArgs::default(), config));
                cmd::cache::clear(account.transpose()?.as_ref())
            }
            Some(CliCommand::Completions { shell }) => {
                cmd::docs::print(|out| cmd::docs::completions(shell, out))
            }
            Some(CliCommand::Man) => cmd::docs::print(cmd::docs::man),
            Some(CliCommand::Demo(args)) => {
                cmd::demo::run(cmd::demo::DemoOptions {
                    slow: args.slow,
                    serve: args.serve,
                    save_dir: args.save_dir,
                    mailbox_dir: args.mailbox_dir,
                })
                .await
            }
            None => {
                let mut account = match resolve(cli.target.as_deref(), &cli.conn, config)? {
                    Resolved::One(a) => a,
                    Resolved::Pick(mut all) => {
                        for a in &mut all {
                            cmd::cache::apply_flag(a, no_cache);
                        }
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
                cmd::cache::apply_flag(&mut account, no_cache);
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

/// "'lsit' is not a command; did you mean 'list'?", when `word` is close
/// to a command's name and is neither a URL nor an account in the config.
fn mistyped_command(word: &str, config: Option<&std::path::Path>) -> Option<String> {
    let command = popdoc::cli::nearest_command(word)?;
    let is_account = popdoc::config::locate(config)
        .ok()
        .filter(|l| l.path.exists())
        .and_then(|l| popdoc::config::load(&l).ok())
        .is_some_and(|c| c.account(word).is_some());
    (!is_account).then(|| {
        format!(
            "'{}' is not a command; did you mean '{command}'? (`popdoc --help` lists the commands)",
            popdoc::pop3::text::stripped(word)
        )
    })
}

/// The value of `--config` in `args` that clap could not parse.
fn config_flag(args: &[std::ffi::OsString]) -> Option<std::path::PathBuf> {
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let a = a.to_string_lossy();
        if a == "--config" {
            return it.next().map(Into::into);
        }
        if let Some(v) = a.strip_prefix("--config=") {
            return Some(v.into());
        }
    }
    None
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
