//! Fault injection while the faults last: crashes of a minority, partitions of every kind, slow
//! disks, and rogue calls with out-of-range values.

use common::wire::{LeaderNotice, Prepare};
use common::{ReplicaId, MAX_EPOCH};
use protocol::Request;

use crate::actors::{Origin, Site};
use crate::events::Event;
use crate::faults::{cut, Partition, PartitionKind};
use crate::world::World;

/// Chances per tick of each fault.
const CRASH: f64 = 0.004;
const PARTITION: f64 = 0.003;
const SLOW_DISK: f64 = 0.002;
const ROGUE: f64 = 0.0005;

impl World {
    pub(crate) fn inject_faults(&mut self) {
        if self.net.heal_due(self.now) {
            self.trace("partition healed", 0, 0);
        }
        let down = self.replicas.iter().filter(|r| r.node.is_none()).count();
        let minority = self.cfg.replicas - self.checks.majority;
        // The cut-off scenario has no crashes: a crash would hand the lead on by itself.
        if down < minority && !self.cfg.leader_cutoffs && self.rng.chance(CRASH) {
            let up: Vec<usize> = (0..self.replicas.len())
                .filter(|&i| self.replicas[i].node.is_some())
                .collect();
            // The leader is the most interesting process to kill.
            let leader = up.iter().copied().find(|&i| {
                self.replicas[i]
                    .node
                    .as_ref()
                    .is_some_and(|n| n.leading().is_some())
            });
            let victim = match leader {
                Some(l) if self.rng.chance(0.5) => l,
                _ => *self
                    .rng
                    .pick(&up)
                    .expect("a minority is down, so some are up"),
            };
            self.crash(victim);
        }
        if self.net.partitions.len() < 2 && self.rng.chance(PARTITION) {
            self.partition();
        }
        if self.rng.chance(SLOW_DISK) {
            let i = self.rng.range(0, self.replicas.len() as u64) as usize;
            let slow = self.rng.range(0, 2) == 0;
            self.replicas[i].disk_delay = if slow { self.rng.range(5, 40) } else { 0 };
            self.faults += 1;
            self.trace("disk speed", i as u64 + 1, self.replicas[i].disk_delay);
        }
        if self.rng.chance(ROGUE) {
            self.rogue_call();
        }
    }

    fn partition(&mut self) {
        let replicas: Vec<Site> = self.replicas.iter().map(|r| Site::Replica(r.id)).collect();
        let frontends: Vec<Site> = self
            .frontends
            .iter()
            .map(|f| Site::Frontend(f.id))
            .collect();
        let everyone: Vec<Site> = replicas
            .iter()
            .chain(&frontends)
            .copied()
            .chain([Site::Catalog])
            .collect();
        let kind = match self.rng.range(0, 4) {
            _ if self.cfg.leader_cutoffs => PartitionKind::LeaderFromFollowers,
            0 => PartitionKind::Isolate,
            1 => PartitionKind::OneWay,
            2 => PartitionKind::LeaderFromFollowers,
            _ => PartitionKind::FrontendFromReplicas,
        };
        let links = match kind {
            PartitionKind::Isolate => {
                let r = *self.rng.pick(&replicas).expect("replicas");
                cut(r, everyone)
            }
            PartitionKind::OneWay => {
                let a = *self.rng.pick(&everyone).expect("sites");
                let b = *self.rng.pick(&everyone).expect("sites");
                if a == b {
                    return;
                }
                vec![(a, b)]
            }
            PartitionKind::LeaderFromFollowers => {
                let leader = self
                    .replicas
                    .iter()
                    .find(|r| r.node.as_ref().is_some_and(|n| n.leading().is_some()))
                    .map(|r| Site::Replica(r.id));
                let Some(leader) = leader else { return };
                cut(leader, replicas.clone())
            }
            PartitionKind::FrontendFromReplicas => {
                let f = *self.rng.pick(&frontends).expect("frontends");
                let some: Vec<Site> = replicas
                    .iter()
                    .copied()
                    .filter(|_| self.rng.chance(0.5))
                    .collect();
                cut(f, some)
            }
        };
        let lasts = if self.cfg.leader_cutoffs {
            self.rng.range(
                crate::world::TRANSPARENCY_TICKS + 200,
                crate::world::TRANSPARENCY_TICKS + 800,
            )
        } else {
            self.rng.range(50, 2500)
        };
        let heal_at = self.now + lasts;
        self.faults += 1;
        self.trace("partition", kind as u64, links.len() as u64);
        for &(a, b) in &links {
            self.trace(
                "link cut",
                crate::world::site_code(a),
                crate::world::site_code(b),
            );
        }
        self.net.add(Partition {
            kind,
            links,
            heal_at,
        });
    }

    /// A rogue call from an operator with the token: values far out of range.
    pub(crate) fn rogue_call(&mut self) {
        let to = self.rng.range(1, self.cfg.replicas as u64 + 1) as ReplicaId;
        let other = to % self.cfg.replicas as ReplicaId + 1;
        let huge = MAX_EPOCH + 1 + self.rng.range(0, u64::MAX - MAX_EPOCH - 1);
        let request = match self.rng.range(0, 3) {
            0 => Request::Leader(LeaderNotice {
                id: other,
                epoch: huge,
            }),
            1 => Request::Prepare(Prepare {
                epoch: huge,
                leader: other,
                from: 0,
            }),
            _ => Request::Append(common::wire::AppendRequest {
                epoch: huge,
                leader: other,
                from: u64::MAX - self.rng.range(0, 2),
                entries: Vec::new(),
                commit_len: u64::MAX,
                round: 0,
            }),
        };
        self.faults += 1;
        self.trace("rogue call", to as u64, 0);
        self.schedule(
            1,
            None,
            Event::ToReplica {
                to,
                origin: Origin::Rogue,
                corr: 0,
                request,
            },
        );
    }
}
