//! A request the user made (a preview) that the worker has not answered
//! yet: since when, what the status line says about it ("waiting N s for
//! the server" after about 2 s), and Esc to stop waiting. The clock is the
//! runtime's: it stamps the start and the time now ([`App::clock`]); the
//! text is a pure function of the two.

use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use super::{App, Effect, PreviewContent, StatusKind};

/// How long a reply may take before the status line says so.
const QUIET: Duration = Duration::from_secs(2);

/// The outstanding request (one token for all previews asked while it is
/// outstanding: the worker works on the oldest one).
#[derive(Debug, Clone)]
pub struct Waiting {
    /// Stamped by the runtime when it first sees the wait.
    pub since: Option<Instant>,
    /// What the status line says about it, once it has lasted.
    pub text: Option<String>,
    pub cancel: CancellationToken,
}

/// What the status line says after waiting since `since`: nothing for
/// about 2 s, then "waiting N s for the server".
pub fn waiting_text(now: Instant, since: Instant) -> Option<String> {
    let waited = now.saturating_duration_since(since);
    (waited > QUIET).then(|| format!("waiting {} s for the server", waited.as_secs()))
}

impl App {
    /// The wait for the shown preview, while it is loading.
    pub(super) fn waiting(&self) -> Option<&Waiting> {
        let loading = self
            .screen
            .preview
            .as_ref()
            .is_some_and(|p| p.content == PreviewContent::Loading);
        self.screen.waiting.as_ref().filter(|_| loading)
    }

    /// The token for a new preview: the outstanding wait's (it goes on),
    /// or a new wait's.
    pub(super) fn start_waiting(&mut self) -> CancellationToken {
        if let Some(w) = self.waiting() {
            return w.cancel.clone();
        }
        let cancel = CancellationToken::new();
        self.screen.waiting = Some(Waiting {
            since: None,
            text: None,
            cancel: cancel.clone(),
        });
        cancel
    }

    /// Since when a request has been waiting for the worker (the runtime
    /// ticks once a second only then).
    pub fn waiting_since(&self) -> Option<Instant> {
        self.waiting().and_then(|w| w.since)
    }

    /// The status line's note about the wait, if it has lasted.
    pub fn waiting_note(&self) -> Option<String> {
        let text = self.waiting()?.text.as_deref()?;
        Some(format!("{text} · Esc stops waiting"))
    }

    /// The runtime's clock: stamps the start of a new wait and updates
    /// its text. True when what is shown changed.
    pub fn clock(&mut self, now: Instant) -> bool {
        if self.waiting().is_none() {
            return false;
        }
        let Some(w) = self.screen.waiting.as_mut() else {
            return false;
        };
        let since = *w.since.get_or_insert(now);
        let text = waiting_text(now, since);
        let changed = text != w.text;
        w.text = text;
        if changed {
            self.scroll_into_view();
        }
        changed
    }

    /// Esc while the status line says it waits: stop waiting. The worker
    /// then reconnects (the reply is still coming). False when nothing
    /// was waiting that long (Esc means what it means otherwise).
    pub(super) fn stop_waiting(&mut self, fx: &mut Vec<Effect>) -> bool {
        if self.waiting().is_none_or(|w| w.text.is_none()) {
            return false;
        }
        if let Some(w) = self.screen.waiting.take() {
            fx.push(Effect::Cancel(w.cancel));
        }
        self.screen.preview = None;
        self.status(StatusKind::Info, "cancelled; reconnecting");
        true
    }
}
