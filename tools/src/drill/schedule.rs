//! The kill schedule: when the next kill comes and what it hits, drawn from a seeded generator so
//! a drill with `--seed` makes the same draws every time. Who the leader is, and so what a
//! leader-biased draw hits, is known only at run time.

use common::{FrontendId, ReplicaId};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::time::Duration;
use supervisor::Service;

/// What a drill may kill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Target {
    /// The order replicas (the store promises clients transparency for these).
    Replicas,
    /// The frontend: clients see errors while it is down; reported separately.
    Frontend,
    /// The catalog: queries and orders fail while it is down; reported separately.
    Catalog,
}

/// A drill target that is not one of [`Target`]'s.
#[derive(Debug, thiserror::Error)]
#[error("unknown target {0:?}: use replicas, frontend or catalog")]
pub struct UnknownTarget(pub String);

impl std::str::FromStr for Target {
    type Err = UnknownTarget;
    fn from_str(text: &str) -> Result<Self, UnknownTarget> {
        match text {
            "replicas" | "replica" | "order" => Ok(Target::Replicas),
            "frontend" => Ok(Target::Frontend),
            "catalog" => Ok(Target::Catalog),
            other => Err(UnknownTarget(other.to_string())),
        }
    }
}

/// The seeded draws of a drill.
pub struct Schedule {
    rng: StdRng,
    kill_every: Duration,
    targets: Vec<Target>,
    replicas: Vec<ReplicaId>,
    frontends: Vec<FrontendId>,
    leader_bias: f64,
}

impl Schedule {
    /// A schedule; `seed` makes it reproducible.
    pub fn new(
        seed: u64,
        kill_every: Duration,
        targets: Vec<Target>,
        replicas: Vec<ReplicaId>,
        frontends: Vec<FrontendId>,
        leader_bias: f64,
    ) -> Schedule {
        Schedule {
            rng: StdRng::seed_from_u64(seed),
            kill_every,
            targets,
            replicas,
            frontends,
            leader_bias,
        }
    }

    /// Time to the next kill: `kill_every` with ±50% jitter.
    pub fn next_gap(&mut self) -> Duration {
        self.kill_every.mul_f64(self.rng.gen_range(0.5..1.5))
    }

    /// The next victim, given the current leader: the leader with probability `leader_bias`
    /// (when replicas are targets), otherwise a uniform pick among every target service.
    pub fn next_victim(&mut self, leader: Option<ReplicaId>) -> Service {
        let leader_draw = self.rng.gen_bool(self.leader_bias.clamp(0.0, 1.0));
        let mut pool: Vec<Service> = Vec::new();
        for target in &self.targets {
            match target {
                Target::Replicas => {
                    pool.extend(self.replicas.iter().map(|&id| Service::Replica(id)))
                }
                Target::Frontend => {
                    pool.extend(self.frontends.iter().map(|&id| Service::Frontend(id)))
                }
                Target::Catalog => pool.push(Service::Catalog),
            }
        }
        let pick = pool[self.rng.gen_range(0..pool.len())];
        match leader {
            Some(id) if leader_draw && self.targets.contains(&Target::Replicas) => {
                Service::Replica(id)
            }
            _ => pick,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_repeats_its_draws_and_bias_hits_the_leader() {
        let draw = |seed| {
            let mut s = Schedule::new(
                seed,
                Duration::from_secs(4),
                vec![Target::Replicas],
                vec![1, 2, 3],
                vec![1],
                0.5,
            );
            (0..20)
                .map(|_| (s.next_gap(), s.next_victim(Some(3))))
                .collect::<Vec<_>>()
        };
        assert_eq!(draw(7), draw(7));
        assert_ne!(draw(7), draw(8));
        let draws = draw(1);
        assert!(draws
            .iter()
            .all(|(gap, _)| *gap >= Duration::from_secs(2) && *gap < Duration::from_secs(6)));
        let leader_hits = draws
            .iter()
            .filter(|(_, v)| *v == Service::Replica(3))
            .count();
        assert!(
            leader_hits >= 8,
            "a 0.5 bias plus a third of the rest hits the leader often: {leader_hits}/20"
        );
        let mut all = Schedule::new(
            3,
            Duration::from_secs(1),
            vec![Target::Frontend, Target::Catalog],
            vec![1],
            vec![1, 2],
            1.0,
        );
        let victims: Vec<Service> = (0..30).map(|_| all.next_victim(Some(1))).collect();
        assert!(victims
            .iter()
            .all(|v| matches!(v, Service::Frontend(_) | Service::Catalog)));
        for frontend in [Service::Frontend(1), Service::Frontend(2)] {
            assert!(
                victims.contains(&frontend),
                "{frontend} never drawn: {victims:?}"
            );
        }
    }
}
