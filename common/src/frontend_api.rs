//! A frontend's internal API in one place: its routes, and a typed client for it. The frontend's
//! internal listener mounts these paths; the catalog (invalidation pushes) and the evaluation
//! (the cache's keys) call them through [`FrontendClient`].

use std::time::Duration;

use crate::error::Result;
use crate::http::Peer;
use crate::wire::{CacheKeys, Invalidation};

/// `POST` `[Invalidation]` → [`Acknowledged`](crate::wire::Acknowledged): the catalog's pushes after stock changes.
pub const INVALIDATE: &str = "/internal/invalidate";
/// `GET` → [`CacheKeys`], sorted.
pub const CACHE: &str = "/internal/cache";

/// How long reading the cache's keys may take.
pub const CACHE_TIMEOUT: Duration = Duration::from_secs(5);

/// A typed client for one frontend's internal API.
#[derive(Clone, Debug)]
pub struct FrontendClient {
    peer: Peer,
}

impl FrontendClient {
    pub fn new(peer: Peer) -> FrontendClient {
        FrontendClient { peer }
    }

    /// The frontend's base URL.
    pub fn base(&self) -> &str {
        self.peer.base()
    }

    /// Pushes `invalidations`; `timeout` is the caller's, as a first attempt waits less than a
    /// resend. Only success matters, so the body of the answer is not read.
    pub async fn invalidate(
        &self,
        invalidations: &[Invalidation],
        timeout: Duration,
    ) -> Result<()> {
        self.peer
            .post::<_, serde::de::IgnoredAny>(INVALIDATE, invalidations, timeout)
            .await
            .map(|_| ())
    }

    pub async fn cache_keys(&self) -> Result<Vec<String>> {
        self.peer
            .get::<CacheKeys>(CACHE, CACHE_TIMEOUT)
            .await
            .map(|answer| answer.keys)
    }
}
