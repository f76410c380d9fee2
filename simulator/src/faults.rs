//! The simulated network and the faults injected into it: loss, duplication, delay spikes, and
//! partitions that heal on their own.

use std::collections::BTreeSet;

use crate::actors::Site;
use crate::rng::Rng;

/// The kinds of partition the simulator makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PartitionKind {
    /// One replica cut off from everyone, both ways.
    Isolate,
    /// One direction of one link.
    OneWay,
    /// The leader cut off from its followers, still reachable from frontends and the catalog.
    LeaderFromFollowers,
    /// A frontend cut off from some replicas.
    FrontendFromReplicas,
}

/// A partition: the links it blocks and when it heals.
pub struct Partition {
    #[allow(dead_code)] // shown by Debug in a failure's trace
    pub kind: PartitionKind,
    pub links: Vec<(Site, Site)>,
    pub heal_at: u64,
}

/// Links and their faults.
#[derive(Default)]
pub struct Network {
    pub partitions: Vec<Partition>,
    blocked: BTreeSet<(Site, Site)>,
    pub loss: f64,
    pub duplication: f64,
    pub spikes: f64,
}

impl Network {
    /// A network with this seed's loss, duplication and delay-spike rates.
    pub fn new(rng: &mut Rng, faulty: bool) -> Network {
        if !faulty {
            return Network::default();
        }
        Network {
            loss: rng.float(0.0, 0.05),
            duplication: rng.float(0.0, 0.03),
            spikes: rng.float(0.0, 0.03),
            ..Network::default()
        }
    }

    pub fn blocked(&self, from: Site, to: Site) -> bool {
        self.blocked.contains(&(from, to))
    }

    /// Whether `a` and `b` can talk both ways.
    pub fn linked(&self, a: Site, b: Site) -> bool {
        !self.blocked(a, b) && !self.blocked(b, a)
    }

    pub fn add(&mut self, partition: Partition) {
        self.blocked.extend(partition.links.iter().copied());
        self.partitions.push(partition);
    }

    /// Heals the partitions due by `now`; true when any healed.
    pub fn heal_due(&mut self, now: u64) -> bool {
        let before = self.partitions.len();
        self.partitions.retain(|p| p.heal_at > now);
        if self.partitions.len() == before {
            return false;
        }
        self.blocked = self
            .partitions
            .iter()
            .flat_map(|p| p.links.iter().copied())
            .collect();
        true
    }

    /// Heals everything and stops losing, duplicating and delaying messages.
    pub fn heal_all(&mut self) {
        self.partitions.clear();
        self.blocked.clear();
        self.loss = 0.0;
        self.duplication = 0.0;
        self.spikes = 0.0;
    }

    /// Ticks a message takes, or `None` when it is lost.
    pub fn delay(&self, rng: &mut Rng) -> Option<u64> {
        if rng.chance(self.loss) {
            return None;
        }
        let base = rng.range(1, 4);
        Some(if rng.chance(self.spikes) {
            base + rng.range(10, 80)
        } else {
            base
        })
    }
}

/// Both directions of every link between `a` and each of `others`.
pub fn cut(a: Site, others: impl IntoIterator<Item = Site>) -> Vec<(Site, Site)> {
    others
        .into_iter()
        .filter(|&b| b != a)
        .flat_map(|b| [(a, b), (b, a)])
        .collect()
}
