//! The names of the store's processes.

use common::{FrontendId, ReplicaId};
use std::fmt;

/// One process of the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    Catalog,
    Replica(ReplicaId),
    Frontend(FrontendId),
}

impl fmt::Display for Service {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Service::Catalog => write!(f, "catalog"),
            Service::Replica(id) => write!(f, "order-{id}"),
            Service::Frontend(id) => write!(f, "frontend-{id}"),
        }
    }
}
