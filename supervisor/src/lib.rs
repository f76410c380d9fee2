//! The process supervisor: a local cluster of real `toystore` processes. It writes a cluster file
//! on free loopback ports (or takes an existing one), runs each service as a child process
//! (optionally under a wrapper that execs it, such as `ip netns exec`), and kills (SIGKILL),
//! stops (SIGTERM) and restarts them by pid. `toystore up`, the drills, the evaluation, the
//! bench and every integration test, the multi-host one included, start and break the store
//! through it, so all of them do it the same way; `health` asks the running services how they
//! are (readiness, a replica's health and log, the leader and its epoch). For `toystore up` it
//! also relays a child's stderr keeping its last line (why it stopped), gives children the
//! parent-death signal, and schedules restarts with backoff ([`restart`]); those are opt-in, so
//! the drills and tests, which want to see a crash, see it.
//!
//! Invariants: a [`LocalCluster`] only ever signals processes it started itself, by pid, and kills
//! every one of them when it is dropped; a temporary data root lives exactly as long as its
//! cluster; it restarts nothing by itself.

mod cluster;
mod create;
mod error;
mod health;
mod launcher;
mod relay;
pub mod restart;
mod service;
mod stderr;

pub use cluster::{ChildOutput, LocalCluster};
pub use create::{free_ports, ClusterOptions};
pub use error::SupervisorError;
pub use restart::{RestartPolicy, Restarts};
pub use service::Service;
