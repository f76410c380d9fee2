//! `toystore bench`: every figure of the performance table in one run, each next to a baseline
//! measured in the same run on the same machine, so that a noisy machine still gives comparable
//! ratios.
//!
//! The bench starts its own cluster on loopback ([`setup`]: a catalog, three order replicas and
//! one frontend, each its own process, sled data in a temporary directory) and two baselines:
//!
//! - the HTTP limit ([`baseline_http`]): a bare warp handler answering the bytes of
//!   `GET /products/Tux`, run as its own process (`toystore bench-baseline-http`), loaded by the
//!   very loop that loads the frontend;
//! - the disk limit ([`baseline_disk`]): a bare sled write + flush loop in a directory next to the
//!   cluster's data.
//!
//! Then, for each preload level (orders put in the log first, [`preload`]): durable orders/s and
//! latency at each client count ([`orders`]), the RSS of every service ([`memory`]), bytes on disk
//! per order ([`disk`]), the catch-up of a follower that missed orders (those of a timed run and,
//! at a level that preloads, the preload's) and the restart of an up-to-date one ([`catch_up`]). Once, at the first level: the cached `GET /products/Tux`
//! against the HTTP baseline ([`reads`]) and the buy latency of `tools::load` sessions
//! ([`mixed`]). Last: the leader killed with SIGKILL under load ([`failover`]). [`report`] holds
//! the rows, their baselines, ratios and targets, and prints the table.
//!
//! Invariants: every measurement is bounded in time and count (a preload also stops at a time
//! bound, and its rows say how many orders the log really held); traffic goes to 127.0.0.1 only;
//! the bench signals only the processes it started, by pid (the cluster's through
//! [`supervisor::LocalCluster`], the HTTP baseline's through its [`std::process::Child`]), and
//! kills them all when it returns or fails. Targets are printed next to the figures; nothing
//! fails because a target is missed.

pub mod baseline_disk;
pub mod baseline_http;
mod catch_up;
mod closed_loop;
mod disk;
mod failover;
mod memory;
mod mixed;
mod options;
pub mod orders;
mod preload;
mod reads;
pub mod report;
mod rows;
mod run;
mod setup;

pub use options::{BenchOptions, Measure};
pub use orders::OrderRun;
pub use report::{BenchReport, BenchSetup, Row, Target};
pub use run::run;
