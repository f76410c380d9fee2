//! The checks that look at the whole world rather than one event: transparency while a majority
//! can serve, and, once the faults heal, progress, convergence, quiet elections and stock.

use common::RequestId;

use crate::actors::{ClientState, Site};
use crate::world::{World, TRANSPARENCY_TICKS};

impl World {
    /// Every client finished its script, every replica is up and holds the same log.
    pub(crate) fn settled(&self) -> bool {
        let clients_done = self.clients.iter().all(|c| {
            matches!(c.state, ClientState::Idle) && c.started >= self.cfg.orders_per_client
        });
        clients_done && self.log_difference().is_none()
    }

    /// How the replicas' logs differ (a replica down counts), `None` when they are identical.
    pub(crate) fn log_difference(&self) -> Option<String> {
        let mut logs = self.replicas.iter().map(|r| {
            r.node.as_ref().map(|n| {
                (
                    n.store().entries().cloned().collect::<Vec<_>>(),
                    n.commit_len(),
                )
            })
        });
        let Some(Some((first, _))) = logs.next() else {
            return Some("replica 1 is down".into());
        };
        for (i, log) in logs.enumerate() {
            match log {
                None => return Some(format!("replica {} is down", i + 2)),
                Some((entries, _)) if entries != first => {
                    return Some(format!(
                        "replica {} holds {} entries, replica 1 {}",
                        i + 2,
                        entries.len(),
                        first.len()
                    ))
                }
                Some(_) => {}
            }
        }
        None
    }

    /// After the quiet period: progress, convergence, quiet elections, stock conservation.
    pub(crate) fn final_checks(&mut self) {
        let pending: Vec<String> = self
            .clients
            .iter()
            .filter(|c| {
                !matches!(c.state, ClientState::Idle) || c.started < self.cfg.orders_per_client
            })
            .map(|c| format!("client {} ({:?}, {} started)", c.id, c.state, c.started))
            .collect();
        if !pending.is_empty() {
            let detail = format!(
                "{} ticks after the faults healed, still pending: {}",
                self.cfg.quiet_ticks,
                pending.join("; ")
            );
            self.violate(("progress", detail));
            return;
        }
        if let Some(e) = self.log_difference() {
            let states: Vec<String> = self
                .replicas
                .iter()
                .filter_map(|r| r.node.as_ref().map(|n| format!("{:?}", n.health())))
                .collect();
            self.violate(("convergence", format!("{e}; {}", states.join("; "))));
            return;
        }
        let quiet = self.max_epoch().saturating_sub(self.quiet_start_epoch);
        if quiet > 3 * self.cfg.frontends as u64 + 3 {
            self.violate((
                "elections settle",
                format!("{quiet} epochs begun after the faults healed"),
            ));
            return;
        }
        let lost: Vec<&RequestId> = self
            .catalog
            .taken
            .keys()
            .filter(|id| !self.checks.committed_ids.contains_key(*id))
            .collect();
        if let Some(id) = lost.first() {
            let detail = format!(
                "{} requests took stock but never committed, e.g. {id}",
                lost.len()
            );
            self.violate(("no stock taken for an order that never commits", detail));
            return;
        }
        let unsold = self.checks.committed.iter().find(|entry| {
            self.catalog.taken.get(&entry.request_id).copied() != Some(entry.quantity)
        });
        if let Some(entry) = unsold {
            let detail = format!(
                "order {} ({} of {}, request {}) committed, the catalog sold it {:?}",
                entry.number,
                entry.quantity,
                entry.name,
                entry.request_id,
                self.catalog.taken.get(&entry.request_id)
            );
            self.violate(("no order commits without its stock", detail));
            return;
        }
        self.check(|w| w.checks.acked_orders_durable(&w.replicas));
    }

    /// Invariant 8: while a majority of replicas can talk to each other, to the catalog and to a
    /// frontend, that frontend's requests complete within a bound.
    pub(crate) fn check_transparency(&mut self) {
        if self.frontends.iter().all(|f| f.calls.is_empty()) {
            return;
        }
        for f in 0..self.frontends.len() {
            let healthy = self.quorum_serves(Site::Frontend(self.frontends[f].id));
            for call in self.frontends[f].calls.values_mut() {
                call.healthy_wait = if healthy { call.healthy_wait + 1 } else { 0 };
            }
            let stuck = self.frontends[f]
                .calls
                .values()
                .find(|c| c.healthy_wait > TRANSPARENCY_TICKS);
            if let Some(call) = stuck {
                let states: Vec<String> = self
                    .replicas
                    .iter()
                    .filter_map(|r| r.node.as_ref().map(|n| format!("{:?}", n.health())))
                    .collect();
                let detail = format!(
                    "frontend {}: {:?} waited {} ticks while a majority could serve it (attempt {:?}, retry at {}); frontend follows {:?}; {}",
                    self.frontends[f].id,
                    call.request,
                    call.healthy_wait,
                    call.attempt,
                    call.retry_at,
                    format!("{} | sim: deadline {:?} purposes {:?}", self.frontends[f].elector.describe(), self.frontends[f].proposal_deadline, self.frontends[f].purposes.values().filter(|p| matches!(p, crate::actors::Purpose::Propose(..))).collect::<Vec<_>>()),
                    states.join("; ")
                );
                self.violate(("transparency", detail));
                return;
            }
        }
    }

    /// Starts every request's transparency count again.
    pub(crate) fn topology_changed(&mut self) {
        for f in &mut self.frontends {
            for call in f.calls.values_mut() {
                call.healthy_wait = 0;
            }
        }
    }

    /// Whether a majority of up replicas are linked with each other, the catalog and `frontend`.
    pub(crate) fn quorum_serves(&self, frontend: Site) -> bool {
        let up: Vec<Site> = self
            .replicas
            .iter()
            .filter(|r| r.node.is_some())
            .map(|r| Site::Replica(r.id))
            .filter(|&s| self.net.linked(s, frontend) && self.net.linked(s, Site::Catalog))
            .collect();
        let majority = self.checks.majority;
        (0u32..1 << up.len()).any(|mask| {
            let group: Vec<Site> = (0..up.len())
                .filter(|b| mask & (1 << b) != 0)
                .map(|b| up[b])
                .collect();
            group.len() >= majority
                && group
                    .iter()
                    .all(|&a| group.iter().all(|&b| a == b || self.net.linked(a, b)))
        })
    }
}
