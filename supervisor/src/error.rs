//! What can go wrong when starting, stopping or asking the processes of a local cluster.

use common::{ConfigError, ReplicaId};
use std::time::Duration;

use crate::service::Service;

/// The failure of a [`LocalCluster`](crate::LocalCluster) operation.
#[derive(Debug, thiserror::Error)]
pub enum SupervisorError {
    #[error(
        "a cluster needs at least one frontend and one replica, not {frontends} and {replicas}"
    )]
    EmptyCluster { frontends: usize, replicas: usize },
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A file or directory of the cluster that cannot be made, written or opened.
    #[error(transparent)]
    File(#[from] common::FileError),
    #[error("no free loopback ports: {0}")]
    Ports(#[source] std::io::Error),
    #[error("{0} already runs")]
    AlreadyRunning(Service),
    #[error("{0} is not running")]
    NotRunning(Service),
    #[error("cannot start {service}: {source}")]
    Spawn {
        service: Service,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot reap {service}: {source}")]
    Reap {
        service: Service,
        #[source]
        source: std::io::Error,
    },
    /// `hint` says where the service's output is, when it went to a file.
    #[error("{service} not ready within {timeout:?}{hint}")]
    NotReady {
        service: Service,
        timeout: Duration,
        hint: String,
    },
    #[error("{service} serves no orders within {timeout:?}{hint}")]
    NoOrders {
        service: Service,
        timeout: Duration,
        hint: String,
    },
    #[error("cannot read replica {id}'s log: {source}")]
    ReplicaLog {
        id: ReplicaId,
        #[source]
        source: common::Error,
    },
}

impl SupervisorError {}
