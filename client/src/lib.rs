//! The client side of the store: a local-cluster launcher that starts and breaks real `toystore`
//! processes (`cluster`), used by `up`, drills, the evaluation and the tests.
//!
//! Invariant: a [`cluster::LocalCluster`] only ever signals processes it started itself, by pid,
//! and kills them all when dropped.

pub mod cluster;

pub use cluster::{ClusterOptions, LocalCluster, Output, Service};
