//! Fault injection for the protocol tests: a process started with `TOYSTORE_FAULT=point[:n]`
//! kills itself with SIGKILL the `n`th time (default the first) it reaches `point`. Without the
//! variable, which only tests set, every check is one branch on an empty option.
//!
//! Points, each at one of the protocol's hard moments:
//! - `leader-after-local-flush`: the leader flushed a batch but no follower has it yet.
//! - `leader-after-commit`: a majority has the entry, the client has no answer yet.
//! - `follower-mid-append`: a follower wrote an append but did not flush or answer it.

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that arms a fault.
pub const FAULT_ENV: &str = "TOYSTORE_FAULT";

/// The armed fault of this process, if any.
#[derive(Debug, Default)]
pub struct Faults {
    armed: Option<(String, u64)>,
    seen: AtomicU64,
}

impl Faults {
    /// Reads [`FAULT_ENV`].
    pub fn from_env() -> Faults {
        let armed = std::env::var(FAULT_ENV)
            .ok()
            .map(|spec| match spec.split_once(':') {
                Some((point, n)) => (point.to_string(), n.parse().unwrap_or(1).max(1)),
                None => (spec, 1),
            });
        if let Some((point, n)) = &armed {
            log::warn!("fault armed: SIGKILL at hit {n} of {point}");
        }
        Faults {
            armed,
            seen: AtomicU64::new(0),
        }
    }

    /// Dies here (SIGKILL, as `kill -9` would) if this is the armed point's armed hit.
    pub fn hit(&self, point: &str) {
        if let Some((armed, n)) = &self.armed {
            if armed == point && self.seen.fetch_add(1, Ordering::SeqCst) + 1 == *n {
                log::warn!("fault {point}: killing this process");
                // SAFETY: kill(2) on our own pid; the process ends here, as a crash would end it.
                unsafe {
                    libc::kill(libc::getpid(), libc::SIGKILL);
                }
            }
        }
    }
}
