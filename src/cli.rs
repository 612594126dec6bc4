//! The command line (clap): `popdoc [ACCOUNT|URL]`, `demo`, `list`, `save`,
//! `check`, `config`, `password`, `cache`, `completions`, `man`, and the connection
//! options they share. Only
//! parsing and turning options into an [`Account`] (or changing one from
//! the config file); no I/O.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::account::{self, Account, SecretSource};
use crate::client::conn::LoginMethod;
use crate::client::transport::{CertCheck, Security, parse_fingerprint};

const AFTER_HELP: &str = "\
Examples:
  popdoc demo                                   try it on a built-in demo mailbox
  popdoc demo --serve                           only the demo server: URL and password for list, save, check
  popdoc pop3s://alice@pop.example.com          open a mailbox (TLS, port 995)
  popdoc pop3://alice@mail.example.com          STLS on port 110 (encryption required)
  popdoc list pop3s://alice@pop.example.com     print every message
  popdoc list --json pop3s://alice@pop.example.com > messages.json
  popdoc save pop3s://alice@pop.example.com 4 -o big.eml
  popdoc save pop3s://alice@pop.example.com --uidl 00000c6a4f1e2b3d
  popdoc work                                   open the account \"work\" from the config file
  popdoc list work                              list it
  popdoc config path                            where the config file is looked for
  popdoc cache clear                            forget the headers kept between runs
  popdoc password set work                      store its password in the system keyring
  popdoc check work --retr 1 --repeat 3         a diagnostic report for a support ticket

Accounts: a TOML file (see `popdoc config path`); options given on the command
line override the account's settings.
Password: from the account's source in the config file, from POPDOC_PASSWORD,
from --password-command, or asked on the terminal.
Nothing is ever deleted on the server unless you commit in the interface (c, then y).";

#[derive(Debug, Parser)]
#[command(
    name = "popdoc",
    version,
    about = "Look after a POP3 mailbox on the server: list, preview, save and delete messages, and show where faults lie.",
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<CliCommand>,

    /// Account name from the config file, or URL of the mailbox:
    /// pop3s://USER@HOST[:PORT] or pop3://USER@HOST[:PORT]. Without it:
    /// the default or only account, or a choice of them
    #[arg(value_name = "ACCOUNT|URL")]
    pub target: Option<String>,

    #[command(flatten)]
    pub conn: ConnArgs,

    /// Folder for saved messages (default: popdoc in your download folder)
    #[arg(long, value_name = "DIR")]
    pub save_dir: Option<PathBuf>,

    /// Write a debug log (never passwords) to FILE
    #[arg(long, global = true, value_name = "FILE")]
    pub log: Option<PathBuf>,

    /// Read accounts from this file (default: $POPDOC_CONFIG, else popdoc.toml in the config folder)
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,

    /// Neither read nor write the header cache: fetch every message's headers from the server
    #[arg(long, global = true)]
    pub no_cache: bool,
}

#[derive(Debug, Subcommand)]
pub enum CliCommand {
    /// Open the interface on a built-in demo mailbox (no account, no network)
    Demo(DemoArgs),
    /// Print every message on the server: number, UIDL, size, date, from, subject
    List(ListArgs),
    /// Save one message to a file, byte for byte (RETR; never overwrites)
    Save(SaveArgs),
    /// Diagnose a POP3 or SMTP server: stage timings, TLS, capabilities, login, mailbox sanity
    Check(CheckArgs),
    /// About the config file: `popdoc config path`
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Store or remove an account's password in the system keyring
    #[command(subcommand)]
    Password(PasswordCommand),
    /// The header cache (headers kept between runs): `popdoc cache path`, `popdoc cache clear`
    #[command(subcommand)]
    Cache(CacheCommand),
    /// Print a shell completion script: popdoc completions bash > ~/.local/share/bash-completion/completions/popdoc
    Completions {
        /// The shell: bash, zsh, fish, elvish or powershell
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff): popdoc man > popdoc.1; man ./popdoc.1
    Man,
}

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print where the config file is looked for, and whether it exists
    Path,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print the cache folder, or the cache file of ACCOUNT|URL
    Path {
        /// Account name from the config file, or pop3s://USER@HOST[:PORT] or pop3://USER@HOST[:PORT]
        #[arg(value_name = "ACCOUNT|URL")]
        target: Option<String>,
    },
    /// Remove the cached headers: of every account, or of ACCOUNT|URL
    Clear {
        /// Account name from the config file, or pop3s://USER@HOST[:PORT] or pop3://USER@HOST[:PORT]
        #[arg(value_name = "ACCOUNT|URL")]
        target: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum PasswordCommand {
    /// Ask for the password (or read a line from standard input) and store it for ACCOUNT
    Set {
        /// Account name from the config file
        #[arg(value_name = "ACCOUNT")]
        account: String,
    },
    /// Remove ACCOUNT's password from the keyring
    Delete {
        /// Account name from the config file
        #[arg(value_name = "ACCOUNT")]
        account: String,
    },
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Make the demo server slow (about 2 MB/s and 150 ms per reply), to see progress and cancel at work
    #[arg(long)]
    pub slow: bool,
    /// Folder for messages saved in the demo (default: demo-saved in popdoc's data folder, private to you)
    #[arg(long, value_name = "DIR", conflicts_with = "serve")]
    pub save_dir: Option<PathBuf>,
    /// Run only the demo server, printing its URL and password, until Ctrl-C: for `popdoc list`, `save` and `check`
    #[arg(long)]
    pub serve: bool,
    /// Serve the demo mailbox from this new or empty folder and keep it afterwards (to see what a commit removed)
    #[arg(long, value_name = "DIR")]
    pub mailbox_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Account name from the config file, or pop3s://USER@HOST[:PORT] or pop3://USER@HOST[:PORT]
    #[arg(value_name = "ACCOUNT|URL")]
    pub target: String,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub conn: ConnArgs,
}

#[derive(Debug, Args)]
pub struct SaveArgs {
    /// Account name from the config file, or pop3s://USER@HOST[:PORT] or pop3://USER@HOST[:PORT]
    #[arg(value_name = "ACCOUNT|URL")]
    pub target: String,
    /// Message number (as `popdoc list` shows it)
    #[arg(
        value_name = "N",
        required_unless_present = "uidl",
        conflicts_with = "uidl"
    )]
    pub number: Option<u32>,
    /// Choose the message by its UIDL instead of its number
    #[arg(long, value_name = "UIDL")]
    pub uidl: Option<String>,
    /// File to write (default: a name made from date, sender, subject and UIDL)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Folder for the generated file name (default: the current folder)
    #[arg(long, value_name = "DIR", conflicts_with = "output")]
    pub dir: Option<PathBuf>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

/// `popdoc check`; exit status: 0 all worked, 2 usage, 3 connection (DNS,
/// TCP, TLS, greeting, STLS/STARTTLS), 4 login, 5 mailbox commands, 6 RETR,
/// 7 SMTP sending, 1 anything else.
#[derive(Debug, Args)]
#[command(after_help = CHECK_HELP)]
pub struct CheckArgs {
    /// An account name, or a URL: pop3s://USER@HOST[:PORT], pop3://USER@HOST[:PORT],
    /// smtp://[USER@]HOST[:PORT] (STARTTLS, 587) or smtps://[USER@]HOST[:PORT] (465)
    #[arg(value_name = "ACCOUNT|URL")]
    pub target: String,
    /// Print JSON (field names in docs/check-json.md) instead of text
    #[arg(long)]
    pub json: bool,
    /// POP3: also RETR message N into a scratch file (deleted afterwards): time to first byte, throughput, size check
    #[arg(long, value_name = "N")]
    pub retr: Option<u32>,
    /// Run the whole check K times, each on a new connection, and show min/median/max
    #[arg(long, value_name = "K", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub repeat: u32,
    /// Write the transcript of every connection (passwords shown as ***) to FILE
    #[arg(long, value_name = "FILE")]
    pub transcript: Option<PathBuf>,
    /// SMTP: send a short test message to this address (needs --from)
    #[arg(long, value_name = "TO", requires = "from")]
    pub send_test: Option<String>,
    /// SMTP: the sender address for --send-test
    #[arg(long, value_name = "FROM", requires = "send_test")]
    pub from: Option<String>,
    #[command(flatten)]
    pub conn: ConnArgs,
}

const CHECK_HELP: &str = "\
Exit status: 0 everything worked; 2 usage; 3 connection (DNS, TCP, TLS,
greeting, STLS/STARTTLS); 4 login; 5 mailbox commands (STAT, LIST, UIDL, TOP,
QUIT); 6 RETR; 7 SMTP sending (MAIL FROM, RCPT TO, DATA); 1 anything else.
The report is printed up to the failure, with the error sentence.

Examples:
  popdoc check pop3s://alice@pop.example.com
  popdoc check pop3s://alice@pop.example.com --retr 1 --repeat 3 --transcript t.txt
  popdoc check --json pop3s://alice@pop.example.com > report.json
  popdoc check smtp://alice@smtp.example.com --send-test bob@example.net --from alice@example.com";

#[derive(Debug, Args, Clone, Default)]
pub struct ConnArgs {
    /// Run CMD (with sh -c) and use the first line it prints as the password
    #[arg(long, value_name = "CMD")]
    pub password_command: Option<String>,
    /// Run CMD and use the first line it prints as an OAuth2 bearer token (XOAUTH2 / OAUTHBEARER)
    #[arg(long, value_name = "CMD", conflicts_with = "password_command")]
    pub oauth_token_command: Option<String>,
    /// Also trust the CA certificate(s) in this PEM file (for servers with their own CA)
    #[arg(long, value_name = "PATH")]
    pub ca_file: Option<PathBuf>,
    /// Accept exactly the certificate with this SHA-256 fingerprint (hex, colons allowed)
    #[arg(long, value_name = "SHA256", conflicts_with = "ca_file")]
    pub fingerprint: Option<String>,
    /// Do not check the server's certificate at all (encrypted but not authenticated)
    #[arg(long, conflicts_with_all = ["ca_file", "fingerprint"])]
    pub insecure_no_verify: bool,
    /// With pop3:// (or tls = "starttls"), do not use STLS: send the password UNENCRYPTED
    #[arg(long)]
    pub plaintext: bool,
    /// Login method: auto, plain, login, user, apop, xoauth2, oauthbearer [default: auto]
    #[arg(long, value_name = "METHOD")]
    pub login: Option<String>,
    /// Seconds each reply may take in total (a message body: at least 4096 bytes per period) [default: 60]
    #[arg(long, value_name = "SECS")]
    pub timeout: Option<u64>,
    /// Seconds to wait for the connection and TLS handshake [default: 20]
    #[arg(long, value_name = "SECS")]
    pub connect_timeout: Option<u64>,
}

/// The first word of `args` (program name first) that is not an option
/// or an option's value: the command, or the account or URL.
pub fn first_word(args: &[std::ffi::OsString]) -> Option<String> {
    use clap::CommandFactory;
    let cmd = Cli::command();
    let with_value: Vec<String> = cmd
        .get_arguments()
        .filter(|a| a.get_action().takes_values())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(w) = words.next() {
        if w == "--" {
            return words.next().map(|w| w.into_owned());
        }
        if w.starts_with('-') {
            if with_value.iter().any(|o| *o == w) {
                words.next();
            }
            continue;
        }
        return Some(w.into_owned());
    }
    None
}

/// The command a mistyped first word was probably meant to be (`lsit` →
/// `list`): None for a URL, or a word not close to any command's name.
/// Whether the word is an account is for the caller to rule out.
pub fn nearest_command(word: &str) -> Option<String> {
    use clap::CommandFactory;
    if account::looks_like_url(word) || word.starts_with('-') {
        return None;
    }
    let cmd = Cli::command();
    cmd.get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name())
        .filter(|name| *name != word)
        .map(|name| (strsim::damerau_levenshtein(word, name), name))
        // Close: one or two edits (a swap counts as one), and fewer than
        // half the name's letters.
        .filter(|(d, name)| *d <= 2 && *d * 2 < name.len())
        .min()
        .map(|(_, name)| name.to_string())
}

impl ConnArgs {
    /// An account from a URL and these options.
    pub fn account(&self, url: &str) -> Result<Account, String> {
        let parts = account::parse_url(url)?;
        let mut a = Account::new(url, &parts.host, parts.port, &parts.user, parts.security);
        a.cache = account::CacheSetting::Default;
        self.apply(&mut a)?;
        Ok(a)
    }

    /// Changes `a` by the options given: each option given replaces the
    /// account's setting; options not given leave it alone.
    pub fn apply(&self, a: &mut Account) -> Result<(), String> {
        if self.plaintext {
            if a.security == Security::Implicit {
                return Err("--plaintext goes with pop3:// URLs and tls = \"starttls\" accounts; pop3s:// and tls = \"implicit\" are always encrypted".into());
            }
            a.security = Security::Plaintext;
            a.plaintext_by = Some("--plaintext");
        }
        if let Some(path) = &self.ca_file {
            a.cert = CertCheck::ExtraCa(path.clone());
        } else if let Some(fp) = &self.fingerprint {
            a.cert = CertCheck::Pin(parse_fingerprint(fp).ok_or_else(|| {
                format!("\"{fp}\" is not a SHA-256 fingerprint (64 hex digits, colons allowed)")
            })?);
        } else if self.insecure_no_verify {
            a.cert = CertCheck::NoVerify;
        }
        if let Some(login) = &self.login {
            a.login = LoginMethod::parse(login).ok_or_else(|| {
                format!(
                    "unknown login method \"{login}\"; use auto, plain, login, user, apop, xoauth2 or oauthbearer"
                )
            })?;
        }
        if let Some(cmd) = &self.oauth_token_command {
            a.secret = SecretSource::TokenCommand(cmd.clone());
        } else if let Some(cmd) = &self.password_command {
            a.secret = SecretSource::Command(cmd.clone());
        }
        if self.timeout == Some(0) || self.connect_timeout == Some(0) {
            return Err("timeouts must be at least 1 second".into());
        }
        if let Some(t) = self.timeout {
            a.timeout = Duration::from_secs(t);
        }
        if let Some(t) = self.connect_timeout {
            a.connect_timeout = Duration::from_secs(t);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn subcommands_and_bare_url() {
        let c = Cli::try_parse_from(["popdoc", "pop3s://a@h"]).unwrap();
        assert_eq!(c.target.as_deref(), Some("pop3s://a@h"));
        let c = Cli::try_parse_from(["popdoc", "list", "--json", "pop3s://a@h"]).unwrap();
        assert!(matches!(
            c.command,
            Some(CliCommand::List(ListArgs { json: true, .. }))
        ));
        let c = Cli::try_parse_from(["popdoc", "save", "pop3s://a@h", "--uidl", "X1"]).unwrap();
        assert!(matches!(
            c.command,
            Some(CliCommand::Save(SaveArgs { number: None, .. }))
        ));
        assert!(Cli::try_parse_from(["popdoc", "save", "pop3s://a@h"]).is_err());
        assert!(
            Cli::try_parse_from(["popdoc", "save", "pop3s://a@h", "3", "--uidl", "X"]).is_err()
        );
    }

    #[test]
    fn config_and_password_commands() {
        let c = Cli::try_parse_from(["popdoc", "work", "--config", "/x.toml"]).unwrap();
        assert_eq!(c.target.as_deref(), Some("work"));
        assert_eq!(c.config.as_deref(), Some(std::path::Path::new("/x.toml")));
        let c = Cli::try_parse_from(["popdoc", "config", "path", "--config", "/y"]).unwrap();
        assert!(matches!(
            c.command,
            Some(CliCommand::Config(ConfigCommand::Path))
        ));
        assert_eq!(c.config.as_deref(), Some(std::path::Path::new("/y")));
        let c = Cli::try_parse_from(["popdoc", "password", "set", "work"]).unwrap();
        assert!(
            matches!(c.command, Some(CliCommand::Password(PasswordCommand::Set { account })) if account == "work")
        );
        assert!(Cli::try_parse_from(["popdoc", "password", "delete"]).is_err());
        let c = Cli::try_parse_from(["popdoc", "cache", "path", "work"]).unwrap();
        assert!(
            matches!(c.command, Some(CliCommand::Cache(CacheCommand::Path { target: Some(t) })) if t == "work")
        );
        let c = Cli::try_parse_from(["popdoc", "cache", "clear"]).unwrap();
        assert!(matches!(
            c.command,
            Some(CliCommand::Cache(CacheCommand::Clear { target: None }))
        ));
        let c = Cli::try_parse_from(["popdoc", "list", "work", "--no-cache"]).unwrap();
        assert!(c.no_cache, "--no-cache goes after a command too");
        assert!(!Cli::try_parse_from(["popdoc", "work"]).unwrap().no_cache);
        let c = Cli::try_parse_from(["popdoc", "list", "work", "--timeout", "5"]).unwrap();
        let Some(CliCommand::List(l)) = c.command else {
            panic!()
        };
        assert_eq!((l.target.as_str(), l.conn.timeout), ("work", Some(5)));
        assert_eq!(l.conn.login, None, "not given, so the account's stays");
    }

    #[test]
    fn mistyped_commands_are_recognised() {
        let args = |a: &[&str]| -> Vec<std::ffi::OsString> {
            std::iter::once("popdoc")
                .chain(a.iter().copied())
                .map(Into::into)
                .collect()
        };
        assert_eq!(
            first_word(&args(&["lsit", "pop3s://a@h"])).as_deref(),
            Some("lsit")
        );
        assert_eq!(
            first_word(&args(&["--config", "x.toml", "--plaintext", "sav", "u"])).as_deref(),
            Some("sav")
        );
        assert_eq!(first_word(&args(&["--timeout", "5"])), None);
        assert_eq!(nearest_command("lsit").as_deref(), Some("list"));
        assert_eq!(nearest_command("sav").as_deref(), Some("save"));
        assert_eq!(nearest_command("chekc").as_deref(), Some("check"));
        assert_eq!(nearest_command("list"), None, "a command is no typo");
        assert_eq!(nearest_command("work"), None);
        assert_eq!(nearest_command("pop3s://lsit@h"), None);
    }

    #[test]
    fn options_become_an_account() {
        let args = ConnArgs {
            fingerprint: Some("AB:".repeat(31) + "AB"),
            login: Some("APOP".into()),
            timeout: Some(5),
            connect_timeout: Some(5),
            password_command: Some("pass show mail".into()),
            ..Default::default()
        };
        let a = args.account("pop3://u@h:1110").unwrap();
        assert_eq!(a.security, Security::StartTls);
        assert_eq!(a.cert, CertCheck::Pin([0xab; 32]));
        assert_eq!(a.login, LoginMethod::Apop);
        assert_eq!(a.secret, SecretSource::Command("pass show mail".into()));
        let plain = ConnArgs {
            plaintext: true,
            ..Default::default()
        };
        assert_eq!(
            plain.account("pop3://u@h").unwrap().security,
            Security::Plaintext
        );
        assert!(plain.account("pop3s://u@h").is_err());
        let bad = ConnArgs {
            login: Some("kerberos".into()),
            ..Default::default()
        };
        assert!(
            bad.account("pop3s://u@h")
                .unwrap_err()
                .contains("unknown login method")
        );
    }
}
