//! The UI task: owns the terminal, reads input on a thread of its own,
//! starts the worker, and runs the loop that feeds `app::update` and
//! carries out its effects. Draws only when something changed, at most
//! once a frame; an idle popdoc sleeps. Restores the terminal on every
//! way out: a normal exit or error (the [`Screen`] guard), and the ways
//! that end the process at once without `QUIT` ([`stop`]: SIGTERM, SIGHUP,
//! SIGINT, a terminal that can no longer be read; the panic hook in
//! `panic.rs`).

mod panic;
mod stop;

pub use panic::{install_panic_hook, panic_text};
pub use stop::{Stop, restore_terminal, stop, stop_on_signals};

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crossterm::event::{self as ct, Event as CtEvent, MouseEventKind};
use crossterm::execute;
use tokio::sync::mpsc;

use crate::account::Account;
use crate::app::{self, App, Effect, Msg, StatusKind};
use crate::worker::{self, Request};

const FRAME: Duration = Duration::from_millis(16);
/// How long to wait for the worker to leave cleanly at quit.
const QUIT_GRACE: Duration = Duration::from_secs(3);

pub struct Options {
    pub save_dir: PathBuf,
    pub color: bool,
}

/// Where saved messages go unless configured: `popdoc` in the download
/// folder, else in the data folder.
pub fn default_save_dir() -> PathBuf {
    directories::UserDirs::new()
        .and_then(|u| u.download_dir().map(|d| d.join("popdoc")))
        .or_else(|| {
            directories::ProjectDirs::from("", "", "popdoc").map(|p| p.data_dir().join("saved"))
        })
        .unwrap_or_else(|| PathBuf::from("popdoc-saved"))
}

/// `NO_COLOR` (any non-empty value) turns colours off.
pub fn color_wanted() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

fn input_thread(tx: mpsc::Sender<Msg>) {
    std::thread::spawn(move || {
        loop {
            let msg = match ct::read() {
                Ok(CtEvent::Key(k)) => Msg::Key(k),
                Ok(CtEvent::Resize(w, h)) => Msg::Resize(w, h),
                Ok(CtEvent::Mouse(m)) => match m.kind {
                    MouseEventKind::ScrollDown => Msg::Scroll(3),
                    MouseEventKind::ScrollUp => Msg::Scroll(-3),
                    _ => continue,
                },
                Ok(_) => continue,
                // The terminal is gone (its window closed: EOF or EIO).
                // Reading again would fail at once, forever: end now, the
                // same way as on SIGHUP.
                Err(_) => stop(Stop::TerminalGone),
            };
            if tx.blocking_send(msg).is_err() {
                return;
            }
        }
    });
}

/// The terminal in full-screen mode (raw, alternate screen, with the
/// mouse when asked): restored when dropped, also while unwinding.
pub struct Screen(pub ratatui::DefaultTerminal);

impl Screen {
    /// Not `ratatui::init`: its panic hook prints when the terminal is
    /// gone, and a panic inside the hook aborts before popdoc's own hook
    /// (`panic.rs`) removes temporary files.
    pub fn take(mouse: bool) -> Result<Screen, String> {
        let fail = |e: std::io::Error| {
            restore_terminal();
            format!("cannot switch the terminal to full screen: {e}")
        };
        stop::terminal_taken();
        crossterm::terminal::enable_raw_mode().map_err(fail)?;
        execute!(std::io::stdout(), crossterm::terminal::EnterAlternateScreen).map_err(fail)?;
        if mouse {
            let _ = execute!(std::io::stdout(), ct::EnableMouseCapture);
        }
        let terminal =
            ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))
                .map_err(fail)?;
        Ok(Screen(terminal))
    }
}

impl Drop for Screen {
    fn drop(&mut self) {
        restore_terminal();
    }
}

/// The worker, once there is a secret to log in with.
struct Worker {
    requests: mpsc::Sender<Request>,
    events: mpsc::Receiver<worker::Event>,
    task: tokio::task::JoinHandle<()>,
}

fn need_terminal() -> Result<(), String> {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() && std::io::stdin().is_terminal() {
        Ok(())
    } else {
        Err("the full-screen interface needs a terminal; in scripts use `popdoc list`, `popdoc save` or `popdoc check`".into())
    }
}

/// Lets the user choose among `accounts`, then runs the TUI on it.
pub async fn pick_and_run(accounts: Vec<Account>, options: Options) -> Result<(), String> {
    need_terminal()?;
    let mut picker = crate::app::picker::Picker::new(&accounts);
    let mut screen = Screen::take(false)?;
    let chosen = loop {
        if let Err(e) = screen
            .0
            .draw(|f| crate::ui::picker::render(f, &picker, options.color))
        {
            return Err(format!("drawing the screen failed: {e}"));
        }
        let key = match ct::read() {
            Ok(CtEvent::Key(k)) => k,
            Ok(_) => continue,
            Err(_) => stop(Stop::TerminalGone),
        };
        match picker.key(key) {
            crate::app::picker::Picked::Stay => {}
            crate::app::picker::Picked::Open(i) => break Some(i),
            crate::app::picker::Picked::Leave => break None,
        }
    };
    drop(screen);
    match chosen {
        Some(i) => run(accounts[i].clone(), options).await,
        None => Ok(()),
    }
}

/// Runs the TUI on `account` until the user quits; an error when the
/// session failed (could not connect or log in, or the connection was
/// lost) and the user left, so that the exit status says so.
pub async fn run(account: Account, options: Options) -> Result<(), String> {
    need_terminal()?;
    // Without a stored secret, the password is typed into the TUI itself.
    let (mut worker, ask) = match crate::secret::lookup(&account).map_err(|e| e.to_string())? {
        crate::secret::Lookup::Found { secret, token } => {
            let (requests, events, task) = worker::spawn(account.clone(), secret, token);
            (
                Some(Worker {
                    requests,
                    events,
                    task,
                }),
                None,
            )
        }
        crate::secret::Lookup::Ask { warning } => (None, Some(warning)),
    };
    let mut screen = Screen::take(true)?;
    let result = event_loop(&mut screen.0, &account, options, ask, &mut worker).await;
    drop(screen);
    // The worker leaves without deleting anything; give it a moment.
    if let Some(w) = worker {
        let _ = w.requests.try_send(Request::Shutdown);
        let _ = tokio::time::timeout(QUIT_GRACE, w.task).await;
    }
    result
}

async fn next_event(worker: &mut Option<Worker>) -> Option<worker::Event> {
    match worker {
        Some(w) => w.events.recv().await,
        None => std::future::pending().await,
    }
}

async fn event_loop(
    terminal: &mut ratatui::DefaultTerminal,
    account: &Account,
    options: Options,
    ask: Option<Option<String>>,
    worker: &mut Option<Worker>,
) -> Result<(), String> {
    let (in_tx, mut input) = mpsc::channel(256);
    // Files are written off the UI task; their outcome comes back here.
    let (written_tx, mut written) = mpsc::channel::<Msg>(8);
    input_thread(in_tx);
    let mut app = App::new(
        account.server_label(),
        account.save_dir.clone().unwrap_or(options.save_dir),
        account.preview_lines,
        jiff::tz::TimeZone::system(),
    );
    app.screen.color = options.color;
    if let Some(warning) = ask {
        app.ask_password();
        if let (Some(w), Some(app::Dialog::Password { message, .. })) =
            (warning, &mut app.screen.dialog)
        {
            *message = Some(w);
        }
    }
    if let Ok(size) = terminal.size() {
        app.screen.width = size.width;
        app.screen.height = size.height;
    }
    let mut dirty = true;
    let mut last_draw = Instant::now() - FRAME;
    let mut quit_deadline: Option<tokio::time::Instant> = None;
    let mut worker_gone = false;
    loop {
        // A request waiting for the worker: its note counts the seconds.
        if app.clock(Instant::now()) {
            dirty = true;
        }
        if dirty && last_draw.elapsed() >= FRAME {
            terminal
                .draw(|f| crate::ui::render(f, &app))
                .map_err(|e| format!("drawing the screen failed: {e}"))?;
            dirty = false;
            last_draw = Instant::now();
        }
        let next_frame = tokio::time::Instant::from_std(last_draw + FRAME);
        // Wakes once a second only while something waits; idle otherwise.
        let tick = app.waiting_since().map(|since| {
            let secs = since.elapsed().as_secs() + 1;
            tokio::time::Instant::from_std(since + Duration::from_secs(secs))
        });
        let msg = tokio::select! {
            m = input.recv() => match m {
                Some(m) => m,
                None => return Err("the terminal input ended".into()),
            },
            Some(m) = written.recv() => m,
            e = next_event(worker), if !worker_gone => match e {
                Some(e) => Msg::Worker(e),
                None => {
                    worker_gone = true;
                    if app.lifecycle.quitting {
                        return app.outcome();
                    }
                    Msg::Worker(worker::Event::Disconnected(worker::Failure::new(worker::FailureKind::Local, "the connection task ended unexpectedly")))
                }
            },
            _ = tokio::time::sleep_until(next_frame), if dirty => continue,
            _ = async { tokio::time::sleep_until(tick.unwrap()).await }, if tick.is_some() => continue,
            _ = async { tokio::time::sleep_until(quit_deadline.unwrap()).await }, if quit_deadline.is_some() => return app.outcome(),
        };
        dirty = true;
        for effect in app::update(&mut app, msg) {
            match effect {
                Effect::Pop(req) => {
                    let Some(w) = worker.as_ref() else { continue };
                    if let Err(e) = w.requests.try_send(req) {
                        let why = match e {
                            mpsc::error::TrySendError::Full(_) => {
                                "popdoc is busy; try again in a moment"
                            }
                            mpsc::error::TrySendError::Closed(_) => "the connection task has ended",
                        };
                        app.status(StatusKind::Error, why);
                    }
                }
                Effect::Login(secret) => match worker.as_ref() {
                    Some(w) => {
                        let _ = w.requests.try_send(Request::Login(secret));
                    }
                    None => {
                        let (requests, events, task) =
                            worker::spawn(account.clone(), secret, false);
                        *worker = Some(Worker {
                            requests,
                            events,
                            task,
                        });
                        worker_gone = false;
                    }
                },
                Effect::Cancel(token) => token.cancel(),
                Effect::WriteFile { path, contents } => {
                    let tx = written_tx.clone();
                    tokio::task::spawn_blocking(move || {
                        let result = path
                            .parent()
                            .map_or(Ok(()), std::fs::create_dir_all)
                            .and_then(|_| std::fs::write(&path, contents))
                            .map(|_| path.clone())
                            .map_err(|e| format!("could not write {}: {e}", path.display()));
                        let _ = tx.blocking_send(Msg::Written(result));
                    });
                }
                Effect::Quit => return app.outcome(),
            }
        }
        if app.lifecycle.quitting && quit_deadline.is_none() {
            quit_deadline = Some(tokio::time::Instant::now() + QUIT_GRACE);
        }
    }
}
