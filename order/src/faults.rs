//! Fault injection for the protocol tests: a process started with `TOYSTORE_FAULT=point[:n]`
//! kills itself with SIGKILL the `n`th time (default the first) it reaches `point`;
//! `point:n:panic` panics there instead, as a bug would. Without the variable, which only tests
//! set, every check is one branch on an empty option.
//!
//! Points, each at one of the protocol's hard moments:
//! - `leader-after-local-write`: the leader wrote a batch, and nothing of it has left: no
//!   follower has it, and its own copy may or may not be on disk.
//! - `leader-after-commit`: a majority has the entry, the client has no answer yet.
//! - `follower-mid-append`: a follower wrote an append but did not flush or answer it.

use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable that arms a fault.
pub const FAULT_ENV: &str = "TOYSTORE_FAULT";

/// What an armed fault does when it fires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FaultAction {
    /// SIGKILL, as `kill -9` or a power cut would.
    Kill,
    /// A panic, as a bug would.
    Panic,
}

/// The armed fault of this process, if any.
#[derive(Debug, Default)]
pub struct Faults {
    armed: Option<(String, u64, FaultAction)>,
    seen: AtomicU64,
}

impl Faults {
    /// Reads [`FAULT_ENV`].
    pub fn from_env() -> Faults {
        let armed = std::env::var(FAULT_ENV).ok().map(|spec| {
            let mut parts = spec.split(':');
            let point = parts.next().unwrap_or_default().to_string();
            let n = parts
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(1)
                .max(1);
            let action = match parts.next() {
                Some("panic") => FaultAction::Panic,
                _ => FaultAction::Kill,
            };
            (point, n, action)
        });
        if let Some((point, n, action)) = &armed {
            log::warn!("fault armed: {action:?} at hit {n} of {point}");
        }
        Faults {
            armed,
            seen: AtomicU64::new(0),
        }
    }

    /// Dies here (SIGKILL, as `kill -9` would) or panics if this is the armed point's armed hit.
    pub fn hit(&self, point: &str) {
        if let Some((armed, n, action)) = &self.armed {
            if armed == point && self.seen.fetch_add(1, Ordering::SeqCst) + 1 == *n {
                if *action == FaultAction::Panic {
                    panic!("fault {point}: a panic as a bug would raise");
                }
                log::warn!("fault {point}: killing this process");
                // SAFETY: kill(2) on our own pid; the process ends here, as a crash would end it.
                unsafe {
                    libc::kill(libc::getpid(), libc::SIGKILL);
                }
            }
        }
    }
}
