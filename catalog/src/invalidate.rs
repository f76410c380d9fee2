//! Pushing cache invalidations to the frontends after a stock change.

use log::{debug, warn};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::task::JoinSet;

use common::http::Peer;
use common::wire::Invalidation;
use common::{ClusterConfig, Version};

/// Path of the frontend's invalidation endpoint.
pub const INVALIDATE_PATH: &str = "/internal/invalidate";

/// How long one frontend may take to take an invalidation. Short, because `buy` waits for the
/// push before answering: a dead frontend must not stall orders.
pub const INVALIDATE_TIMEOUT: Duration = Duration::from_millis(300);

/// Sends `invalidate [{name, version}, ...]` to every frontend.
///
/// Delivery is best effort: a frontend that is down or slow is logged and skipped, and nothing
/// is resent later (a frontend that was down starts with an empty cache anyway).
#[derive(Clone, Debug)]
pub struct Invalidator {
    frontends: Arc<[Peer]>,
}

impl Invalidator {
    /// An invalidator for the internal listeners at `frontends`, sharing one pooled HTTP client.
    pub fn new(frontends: impl IntoIterator<Item = SocketAddr>, token: &str) -> Invalidator {
        let http = Peer::http_client();
        let frontends = frontends
            .into_iter()
            .map(|addr| Peer::new(http.clone(), addr, token));
        Invalidator {
            frontends: frontends.collect(),
        }
    }

    /// An invalidator for every frontend of the cluster.
    pub fn for_cluster(config: &ClusterConfig) -> Invalidator {
        Invalidator::new(config.frontends.iter().map(|f| f.internal), &config.token)
    }

    /// Tells every frontend that `name` changed to `version`, and waits until each has answered
    /// or timed out. Never fails: an undelivered invalidation is logged at warn.
    pub async fn push(&self, name: &str, version: Version) {
        self.push_all(&[(name.to_string(), version)]).await;
    }

    /// Like [`Self::push`] for several changes at once: one request per frontend carries them all.
    pub async fn push_all(&self, changes: &[(String, Version)]) {
        if changes.is_empty() {
            return;
        }
        let message: Arc<[Invalidation]> = changes
            .iter()
            .map(|(name, version)| Invalidation {
                name: name.clone(),
                version: *version,
            })
            .collect();
        let mut pushes = JoinSet::new();
        for frontend in self.frontends.iter() {
            let (frontend, message) = (frontend.clone(), message.clone());
            pushes.spawn(async move {
                // The frontend answers `{}`; only success matters.
                let sent = frontend
                    .post::<_, serde::de::IgnoredAny>(
                        INVALIDATE_PATH,
                        &*message,
                        INVALIDATE_TIMEOUT,
                    )
                    .await;
                (frontend, message, sent)
            });
        }
        while let Some(joined) = pushes.join_next().await {
            match joined {
                Ok((frontend, message, Ok(_))) => {
                    debug!(
                        "invalidated {} products at frontend {}",
                        message.len(),
                        frontend.base()
                    )
                }
                Ok((frontend, message, Err(e))) => warn!(
                    "invalidation of {} not delivered to frontend {}: {e}",
                    names(&message),
                    frontend.base()
                ),
                Err(e) => warn!("invalidation push task failed: {e}"),
            }
        }
    }
}

fn names(message: &[Invalidation]) -> String {
    let names: Vec<String> = message
        .iter()
        .map(|i| format!("{} (version {})", i.name, i.version))
        .collect();
    names.join(", ")
}
