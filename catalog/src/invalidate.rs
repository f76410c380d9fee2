//! Pushing cache invalidations to the frontends after a stock change, and resending the ones a
//! frontend did not acknowledge until it does.
//!
//! Every push is first tried once with a short timeout, which `buy` waits for, so a live
//! frontend has dropped its old copy before the order is acknowledged. What a frontend did not
//! acknowledge stays in its [`Backlog`] (newest version per toy) and a resend task per frontend
//! sends the whole backlog again, with backoff, until the frontend takes it. A frontend cut off
//! for longer still serves a stale quantity for at most its cache's time to live.

mod backlog;

use log::{debug, info, warn};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::{JoinHandle, JoinSet};

use common::frontend_api::FrontendClient;
use common::http::Peer;
use common::metrics::bump;
use common::shutdown::ShutdownTrigger;
use common::wire::Invalidation;
use common::{ClusterConfig, Result, Shutdown, Version};

use backlog::{Backlog, Backoff};

/// How long one frontend may take to take an invalidation on the first attempt. Short, because
/// `buy` waits for it before answering: a dead frontend must not stall orders.
pub const INVALIDATE_TIMEOUT: Duration = Duration::from_millis(300);

/// How long a resend may take: nobody waits for it, so a slow frontend gets longer.
pub const RESEND_TIMEOUT: Duration = Duration::from_secs(1);

/// Delay before the first resend after a failed push; doubled after each failed resend.
pub const RESEND_FIRST_DELAY: Duration = Duration::from_millis(50);

/// Longest delay between two resends to one frontend. Below the frontend cache's 2 s time to
/// live, so a frontend back from a short outage is usually fresh before its entries expire.
pub const RESEND_MAX_DELAY: Duration = Duration::from_secs(1);

/// Most toys one frontend's backlog holds (the catalog pushes only its own toys, so this is a
/// guard against a bug rather than a limit a real catalog reaches).
pub const MAX_BACKLOG: usize = 10_000;

/// Sends `invalidate [{name, version}, ...]` to every frontend, and resends in the background
/// whatever a frontend did not acknowledge.
///
/// - A frontend is owed the newest version of every toy changed since its last acknowledgement;
///   it stops being owed one only when it answers a message carrying that version or a newer one.
/// - The resend tasks belong to this value: dropping it (or [`Self::stop`]) ends them.
/// - An outage is logged at warn once, when a frontend first misses a push, and at info when it
///   takes them again; single retries are only debug.
#[derive(Debug)]
pub struct Invalidator {
    links: Vec<Arc<Link>>,
    resend: ResendTasks,
}

/// One frontend: its client and what it owes.
#[derive(Debug)]
struct Link {
    frontend: FrontendClient,
    state: Mutex<LinkState>,
    /// Wakes the resend task after a failed push.
    failed: Notify,
    /// Messages sent to this frontend (first attempts and resends), and those that failed.
    pushes: AtomicU64,
    push_failures: AtomicU64,
}

/// What the pushes to one frontend came to, for `/metrics`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushCounts {
    /// The frontend's internal address (`host:port`).
    pub frontend: String,
    /// Invalidation messages sent, resends included.
    pub pushes: u64,
    /// Of those, the ones the frontend did not acknowledge in time.
    pub failures: u64,
}

#[derive(Debug)]
struct LinkState {
    backlog: Backlog,
    /// Whether the last attempt failed: the warn is logged on the change to `true`.
    failing: bool,
}

/// The resend tasks, stopped when this is dropped.
#[derive(Debug)]
struct ResendTasks {
    /// Firing (or dropping) it tells every task to stop.
    stop: ShutdownTrigger,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for ResendTasks {
    fn drop(&mut self) {
        self.stop.fire();
        // A task in the middle of a resend stops at once rather than at its next check.
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Invalidator {
    /// An invalidator for the internal listeners at `frontends`, sharing one pooled HTTP client,
    /// with one resend task per frontend. Must be called inside a tokio runtime.
    pub fn new(frontends: impl IntoIterator<Item = SocketAddr>, token: &str) -> Invalidator {
        let http = Peer::http_client();
        let links: Vec<Arc<Link>> = frontends
            .into_iter()
            .map(|addr| {
                Arc::new(Link {
                    frontend: FrontendClient::new(Peer::new(http.clone(), addr, token)),
                    state: Mutex::new(LinkState {
                        backlog: Backlog::new(MAX_BACKLOG),
                        failing: false,
                    }),
                    failed: Notify::new(),
                    pushes: AtomicU64::new(0),
                    push_failures: AtomicU64::new(0),
                })
            })
            .collect();
        let (stop, stopped) = Shutdown::new();
        let tasks = links
            .iter()
            .map(|link| tokio::spawn(resend_loop(link.clone(), stopped.clone())))
            .collect();
        Invalidator {
            links,
            resend: ResendTasks { stop, tasks },
        }
    }

    /// An invalidator for every frontend of the cluster.
    pub fn for_cluster(config: &ClusterConfig) -> Invalidator {
        Invalidator::new(config.frontends.iter().map(|f| f.internal), &config.token)
    }

    /// Tells every frontend that `name` changed to `version`, and waits until each has answered
    /// or timed out. Never fails: what was not delivered is resent in the background.
    pub async fn push(&self, name: &str, version: Version) {
        self.push_all(&[(name.to_string(), version)]).await;
    }

    /// Like [`Self::push`] for several changes at once: one request per frontend carries them
    /// all, along with anything that frontend still owes from earlier pushes.
    pub async fn push_all(&self, changes: &[(String, Version)]) {
        if changes.is_empty() {
            return;
        }
        let mut pushes = JoinSet::new();
        for link in &self.links {
            let message = link.owe(changes);
            let link = link.clone();
            pushes.spawn(async move {
                let sent = link.send(&message, INVALIDATE_TIMEOUT).await;
                link.settle(&message, sent);
            });
        }
        while let Some(joined) = pushes.join_next().await {
            if let Err(e) = joined {
                warn!("invalidation push task failed: {e}");
            }
        }
    }

    /// Per frontend, the invalidation messages sent and those that failed.
    pub fn push_counts(&self) -> Vec<PushCounts> {
        self.links
            .iter()
            .map(|link| PushCounts {
                frontend: link
                    .frontend
                    .base()
                    .trim_start_matches("http://")
                    .to_string(),
                pushes: link.pushes.load(Ordering::Relaxed),
                failures: link.push_failures.load(Ordering::Relaxed),
            })
            .collect()
    }

    /// Stops the resend tasks (what is still owed is logged); the service calls it on shutdown.
    pub fn stop(&self) {
        for link in &self.links {
            let state = link.lock();
            if !state.backlog.is_empty() {
                warn!(
                    "stopping with invalidations of {} toys never delivered to frontend {}",
                    state.backlog.len(),
                    link.frontend.base()
                );
            }
        }
        self.resend.stop.fire();
    }
}

impl Link {
    /// Records `changes` as owed and returns the message to send: everything owed.
    fn owe(&self, changes: &[(String, Version)]) -> Vec<Invalidation> {
        let mut state = self.lock();
        let dropped = state.backlog.add(changes);
        if dropped > 0 {
            warn!(
                "invalidation backlog of frontend {} is full ({MAX_BACKLOG} toys): {dropped} \
                 changes dropped, left to the cache's time to live",
                self.frontend.base()
            );
        }
        state.backlog.message()
    }

    async fn send(&self, message: &[Invalidation], timeout: Duration) -> Result<()> {
        self.frontend.invalidate(message, timeout).await
    }

    /// Books the outcome of sending `message`; after a failure, wakes the resend task.
    fn settle(&self, message: &[Invalidation], sent: Result<()>) {
        bump(&self.pushes);
        if sent.is_err() {
            bump(&self.push_failures);
        }
        let mut state = self.lock();
        let base = self.frontend.base();
        match sent {
            Ok(()) => {
                state.backlog.acknowledge(message);
                debug!("invalidated {} toys at frontend {base}", message.len());
                if std::mem::replace(&mut state.failing, false) {
                    info!("frontend {base} takes invalidations again");
                }
            }
            Err(e) => {
                if std::mem::replace(&mut state.failing, true) {
                    debug!("invalidations still not delivered to frontend {base}: {e}");
                } else {
                    warn!(
                        "invalidation of {} not delivered to frontend {base}: {e}; resending \
                         until it answers",
                        names(message)
                    );
                }
                self.failed.notify_one();
            }
        }
    }

    /// Everything owed, or `None` when nothing is.
    fn owed(&self) -> Option<Vec<Invalidation>> {
        let state = self.lock();
        (!state.backlog.is_empty()).then(|| state.backlog.message())
    }

    fn lock(&self) -> MutexGuard<'_, LinkState> {
        // The state is only ever changed by whole-value operations, so a panic elsewhere cannot
        // leave it torn.
        common::sync::lock(&self.state)
    }
}

/// One frontend's resend task: asleep until a push to it fails, then resending everything it
/// owes, with backoff, until it has acknowledged it all.
async fn resend_loop(link: Arc<Link>, stop: Shutdown) {
    let mut backoff = Backoff::new(RESEND_FIRST_DELAY, RESEND_MAX_DELAY);
    loop {
        tokio::select! {
            () = stop.wait() => return,
            () = link.failed.notified() => {}
        }
        backoff.reset();
        loop {
            tokio::select! {
                () = stop.wait() => return,
                () = tokio::time::sleep(backoff.next_delay()) => {}
            }
            // A first attempt may have delivered everything in the meantime.
            let Some(message) = link.owed() else { break };
            let sent = link.send(&message, RESEND_TIMEOUT).await;
            if sent.is_ok() {
                // What is left was pushed meanwhile: no reason to wait long for it.
                backoff.reset();
            }
            link.settle(&message, sent);
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

#[cfg(test)]
mod tests;
