//! The invariants, checked after every event (the cheap ones) or every few ticks (the ones
//! that read every durable copy). A violation names the invariant and the values that broke it.

use common::{Epoch, OrderEntry, OrderNumber, ReplicaId, RequestId};
use protocol::{LogStore, MemoryStore};
use std::collections::BTreeMap;

use crate::actors::SimReplica;

/// A broken invariant: its name and what broke it.
pub type Broken = (&'static str, String);

/// What the checks remember between steps.
#[derive(Default)]
pub struct Checker {
    pub majority: usize,
    /// The leader seen for each epoch.
    leaders: BTreeMap<Epoch, ReplicaId>,
    /// The highest durable epoch seen per replica.
    durable_epoch: BTreeMap<ReplicaId, Epoch>,
    /// The committed log as every replica must agree on it.
    pub committed: Vec<OrderEntry>,
    pub committed_ids: BTreeMap<RequestId, OrderNumber>,
    /// How far each replica's committed prefix has been checked.
    checked: BTreeMap<ReplicaId, u64>,
    /// Every acknowledged order.
    pub acked: Vec<OrderEntry>,
}

impl Checker {
    /// After a restart the committed prefix is checked again from the start.
    pub fn restarted(&mut self, id: ReplicaId) {
        self.checked.insert(id, 0);
    }

    /// One leader per epoch; epochs never go backwards, durably; every replica's committed
    /// prefix agrees, with each request id committed once.
    pub fn after_event(&mut self, replicas: &[SimReplica]) -> Result<(), Broken> {
        for r in replicas {
            let durable = match (&r.node, &r.disk) {
                (Some(node), _) => node.store().durable_position().epoch,
                (None, Some(disk)) => disk.durable_position().epoch,
                (None, None) => continue,
            };
            let seen = self.durable_epoch.entry(r.id).or_default();
            if durable < *seen {
                return Err((
                    "epochs never go backwards",
                    format!(
                        "replica {} persisted epoch {} after {}",
                        r.id, durable, seen
                    ),
                ));
            }
            *seen = durable;
            let Some(node) = &r.node else { continue };
            if node.epoch() < durable {
                return Err((
                    "epochs never go backwards",
                    format!(
                        "replica {} runs epoch {} below its persisted {durable}",
                        r.id,
                        node.epoch()
                    ),
                ));
            }
            // Leading counts once it is durable: a takeover that a crash undid before its flush
            // never sent anything as leader, and the replica may vote for another one after.
            let led = node.store().durable_position().led_epoch;
            if let Some(epoch) = node.leading().filter(|&e| e == led) {
                let leader = *self.leaders.entry(epoch).or_insert(r.id);
                if leader != r.id {
                    return Err((
                        "one leader per epoch",
                        format!("replicas {leader} and {} both lead epoch {epoch}", r.id),
                    ));
                }
            }
            self.check_committed(r.id, node.store(), node.commit_len())?;
        }
        Ok(())
    }

    fn check_committed(
        &mut self,
        id: ReplicaId,
        store: &MemoryStore,
        commit: u64,
    ) -> Result<(), Broken> {
        let from = self.checked.get(&id).copied().unwrap_or(0);
        for number in from..commit {
            let Ok(Some(entry)) = store.get(number) else {
                return Err((
                    "density",
                    format!("replica {id} commits {commit} but lacks {number}"),
                ));
            };
            match self.committed.get(number as usize) {
                Some(agreed) if *agreed != entry => {
                    return Err((
                        "agreement",
                        format!("replica {id} committed {entry:?} at {number}; others {agreed:?}"),
                    ))
                }
                Some(_) => {}
                None => {
                    if let Some(other) = self.committed_ids.insert(entry.request_id.clone(), number)
                    {
                        return Err((
                            "exactly once",
                            format!(
                                "request {} committed at {other} and at {number}",
                                entry.request_id
                            ),
                        ));
                    }
                    self.committed.push(entry);
                }
            }
        }
        self.checked.insert(id, commit.max(from));
        Ok(())
    }

    /// No acknowledged order is lost: each is durable, as acknowledged, on a majority.
    pub fn acked_orders_durable(&self, replicas: &[SimReplica]) -> Result<(), Broken> {
        for entry in &self.acked {
            let holders = replicas
                .iter()
                .filter(|r| {
                    let disk = r.node.as_ref().map(|n| n.store()).or(r.disk.as_ref());
                    disk.and_then(|d| d.durable_get(entry.number))
                        .is_some_and(|held| held.same_order(entry))
                })
                .count();
            if holders < self.majority {
                return Err((
                    "no acknowledged order lost",
                    format!(
                        "order {} ({}) is durable on {holders} replicas, fewer than a majority",
                        entry.number, entry.request_id
                    ),
                ));
            }
        }
        Ok(())
    }
}
