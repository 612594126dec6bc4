//! The worker's hooks into the header cache (`crate::cache`): after the
//! listing, the summaries already known go to the app at once and their
//! `TOP` is never sent; each fetched summary is kept; the file is written
//! when the session's headers are complete, before a new session, and when
//! the worker ends. A cache that cannot be read or written is only logged:
//! the session goes on as without one.

use super::Failure;
use super::run::Actor;
use crate::cache::Cache;
use crate::client::ops::Listing;
use crate::mail::Summary;

impl Actor {
    /// Opens the account's cache for this listing (after saving the last
    /// session's): the summaries it holds, ready for `Event::Headers`.
    pub(super) async fn open_cache(
        &mut self,
        listing: &[Listing],
    ) -> Vec<(u32, Result<Summary, Failure>)> {
        self.save_cache().await;
        // Reading is quick (a few milliseconds for 100,000 messages).
        let Some((cache, hits)) = Cache::open(&self.account, listing) else {
            return Vec::new();
        };
        self.cache = Some(cache);
        hits.into_iter().map(|(n, s)| (n, Ok(s))).collect()
    }

    /// Whether message `number`'s headers must be fetched (`TOP n 0`):
    /// the filter of the queue of numbers to fetch.
    pub(super) fn uncached(&self, number: u32) -> bool {
        self.cache.as_ref().is_none_or(|c| !c.has(number))
    }

    /// Writes the cache if it changed, and lets it go.
    pub(super) async fn save_cache(&mut self) {
        let Some(mut cache) = self.cache.take() else {
            return;
        };
        let path = cache.path().to_path_buf();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || cache.save()).await {
            tracing::warn!(file = %path.display(), error = %e, "header cache not written");
        }
    }
}

/// Keeps a fetched summary in the cache (errors are not cached).
pub(super) fn record(cache: &mut Option<Cache>, number: u32, r: &Result<Summary, Failure>) {
    if let (Some(c), Ok(s)) = (cache.as_mut(), r) {
        c.record(number, s);
    }
}
