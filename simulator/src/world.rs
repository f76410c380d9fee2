//! The simulated world: the event queue, time, the replicas' process loop (flush before send),
//! and one run from a seed to its report.

use common::wire::PlaceRequest;
use common::{Epoch, ReplicaId, RequestId};
use protocol::{Elector, ElectorConfig, MemoryStore, Node, Request, Tag};
use std::collections::{BTreeMap, BinaryHeap};

use crate::actors::{ClientState, SimCatalog, SimClient, SimFrontend, SimReplica, Site};
use crate::checks::{Broken, Checker};
use crate::config::{Config, Violation};
use crate::events::{duplicate, Event, Scheduled};
use crate::faults::Network;
use crate::rng::Rng;

/// How long a replica's call to a peer or the catalog may take (the drivers' HTTP timeouts).
pub(crate) const RPC_TIMEOUT: u64 = 100;
/// A frontend's timeouts: a health poll, a proposal (longer than a takeover), an order call.
pub(crate) const HEALTH_TIMEOUT: u64 = 15;
pub(crate) const PROPOSE_TIMEOUT: u64 = protocol::TAKEOVER_TICKS + 50;
pub(crate) const CALL_TIMEOUT: u64 = 100;
/// Longest a request may wait while a majority of replicas stays up and linked with each other,
/// the catalog and its frontend (invariant 8); a leader's crash starts the count again.
pub(crate) const TRANSPARENCY_TICKS: u64 = 1500;
/// Trace entries kept for a failure report.
const TRACE_KEPT: usize = 3000;

#[derive(Clone, Copy)]
struct TraceEntry {
    tick: u64,
    what: &'static str,
    a: u64,
    b: u64,
}

pub(crate) struct World {
    pub cfg: Config,
    pub rng: Rng,
    pub now: u64,
    seq: u64,
    queue: BinaryHeap<Scheduled>,
    pub replicas: Vec<SimReplica>,
    pub frontends: Vec<SimFrontend>,
    pub clients: Vec<SimClient>,
    pub catalog: SimCatalog,
    pub net: Network,
    pub checks: Checker,
    trace: Vec<TraceEntry>,
    pub digest: u64,
    pub events: u64,
    pub faults: u64,
    pub violation: Option<Violation>,
    pub healed: bool,
    pub quiet_start_epoch: Epoch,
}

impl World {
    pub(crate) fn new(cfg: Config) -> World {
        let mut rng = Rng::new(cfg.seed);
        let ids: Vec<ReplicaId> = (1..=cfg.replicas as ReplicaId).collect();
        let replicas = ids
            .iter()
            .map(|&id| {
                let peers = ids.iter().copied().filter(|&p| p != id).collect();
                let mut disk = MemoryStore::default();
                disk.flaw_index_in_one_pass = cfg.index_flaw;
                let mut node = Node::new(id, peers, disk).expect("a memory store opens");
                node.flaws = cfg.flaws;
                node.page_limit = cfg.page_limit;
                node.buys_out = cfg.buys_out;
                SimReplica {
                    id,
                    node: Some(node),
                    disk: None,
                    incarnation: 0,
                    held: Vec::new(),
                    flushing: false,
                    disk_delay: 0,
                    tags: BTreeMap::new(),
                    next_tag: 0,
                    calls: BTreeMap::new(),
                    buying: BTreeMap::new(),
                    restart_at: None,
                    tick_rate: if cfg.faults { rng.float(0.6, 1.0) } else { 1.0 },
                }
            })
            .collect();
        let frontends = (1..=cfg.frontends as u32)
            .map(|id| SimFrontend {
                id,
                elector: Elector::new(ElectorConfig {
                    frontend: id,
                    replicas: ids.clone(),
                    seed: rng.next_u64(),
                }),
                tick_rate: if cfg.faults { rng.float(0.6, 1.0) } else { 1.0 },
                calls: BTreeMap::new(),
                next_call: 0,
                purposes: BTreeMap::new(),
                poll: None,
                proposal_deadline: None,
            })
            .collect();
        let clients = (0..cfg.clients)
            .map(|id| SimClient {
                id,
                state: ClientState::Idle,
                started: 0,
                next_corr: 0,
                acked: BTreeMap::new(),
            })
            .collect();
        let mut catalog = SimCatalog::default();
        for (name, stock) in crate::actors::PRODUCTS {
            catalog.stock.insert(name.to_string(), *stock);
        }
        let net = Network::new(&mut rng, cfg.faults);
        let mut checks = Checker::default();
        checks.majority = cfg.replicas / 2 + 1;
        World {
            cfg,
            rng,
            now: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            replicas,
            frontends,
            clients,
            catalog,
            net,
            checks,
            trace: Vec::with_capacity(TRACE_KEPT * 2),
            digest: 0xcbf2_9ce4_8422_2325,
            events: 0,
            faults: 0,
            violation: None,
            healed: false,
            quiet_start_epoch: 0,
        }
    }

    pub(crate) fn run_to_end(&mut self) {
        for i in 0..self.replicas.len() {
            let node = self.replicas[i]
                .node
                .as_mut()
                .expect("every replica starts up");
            node.start();
            self.after_step(i);
        }
        let end = self.cfg.fault_ticks + self.cfg.quiet_ticks;
        while self.violation.is_none() && self.now < end {
            if !self.healed && self.now >= self.cfg.fault_ticks {
                self.heal();
            }
            self.step_time();
            if self.healed && self.settled() {
                break;
            }
        }
        if self.violation.is_none() {
            self.final_checks();
        }
    }

    /// One tick: faults, deliveries, timers, clients, checks.
    fn step_time(&mut self) {
        self.now += 1;
        if self.cfg.faults && !self.healed {
            self.inject_faults();
        }
        while self.queue.peek().is_some_and(|s| s.at <= self.now) && self.violation.is_none() {
            let scheduled = self.queue.pop().expect("peeked");
            if let Some((from, to)) = scheduled.link {
                if self.net.blocked(from, to) {
                    continue;
                }
            }
            self.events += 1;
            self.deliver(scheduled.event);
            self.check(|w| w.checks.after_event(&w.replicas));
        }
        for i in 0..self.replicas.len() {
            self.tick_replica(i);
        }
        for f in 0..self.frontends.len() {
            self.tick_frontend(f);
        }
        for c in 0..self.clients.len() {
            self.tick_client(c);
        }
        self.check(|w| w.checks.after_event(&w.replicas));
        if self.now.is_multiple_of(25) {
            self.check(|w| w.checks.acked_orders_durable(&w.replicas));
        }
        self.check_transparency();
    }

    pub(crate) fn check(
        &mut self,
        check: impl FnOnce(&mut World) -> std::result::Result<(), Broken>,
    ) {
        if self.violation.is_some() {
            return;
        }
        if let Err(broken) = check(self) {
            self.violate(broken);
        }
    }

    pub(crate) fn violate(&mut self, (invariant, detail): Broken) {
        if self.violation.is_some() {
            return;
        }
        let trace = self
            .trace
            .iter()
            .rev()
            .take(TRACE_KEPT)
            .rev()
            .map(|t| format!("t={:>5} {:<22} {} {}", t.tick, t.what, t.a, t.b))
            .collect();
        self.violation = Some(Violation {
            invariant,
            detail,
            tick: self.now,
            trace,
        });
    }

    pub(crate) fn trace(&mut self, what: &'static str, a: u64, b: u64) {
        for byte in what.bytes().chain(a.to_le_bytes()).chain(b.to_le_bytes()) {
            self.digest = (self.digest ^ byte as u64).wrapping_mul(0x0100_0000_01b3);
        }
        self.digest = (self.digest ^ self.now).wrapping_mul(0x0100_0000_01b3);
        if self.trace.len() >= TRACE_KEPT * 2 {
            self.trace.drain(..TRACE_KEPT);
        }
        self.trace.push(TraceEntry {
            tick: self.now,
            what,
            a,
            b,
        });
    }

    /// Schedules `event` across the link `from → to`, with the network's delay, loss and
    /// duplication.
    pub(crate) fn send(&mut self, from: Site, to: Site, event: Event, duplicable: bool) {
        let Some(delay) = self.net.delay(&mut self.rng) else {
            self.trace("lost", site_code(from), site_code(to));
            return;
        };
        if duplicable && self.rng.chance(self.net.duplication) {
            if let Some(copy) = duplicate(&event) {
                let again = self.rng.range(1, 20);
                self.schedule(delay + again, Some((from, to)), copy);
            }
        }
        self.schedule(delay, Some((from, to)), event);
    }

    pub(crate) fn schedule(&mut self, delay: u64, link: Option<(Site, Site)>, event: Event) {
        self.seq += 1;
        self.queue.push(Scheduled {
            at: self.now + delay,
            seq: self.seq,
            link,
            event,
        });
    }

    fn deliver(&mut self, event: Event) {
        match event {
            Event::ToReplica {
                to,
                origin,
                corr,
                request,
            } => {
                self.trace("deliver request", to as u64, corr);
                let i = to as usize - 1;
                let r = &mut self.replicas[i];
                let Some(node) = r.node.as_mut() else { return };
                r.next_tag += 1;
                r.tags.insert(r.next_tag, (origin, corr));
                node.on_request(Tag(r.next_tag), request);
                self.after_step(i);
            }
            Event::ReplyToReplica {
                to,
                incarnation,
                from,
                corr,
                answer,
            } => {
                let Some(i) = self.incarnation_up(to, incarnation) else {
                    return;
                };
                let r = &mut self.replicas[i];
                let (Some(node), Some((peer, call, _))) = (r.node.as_mut(), r.calls.remove(&corr))
                else {
                    return;
                };
                debug_assert_eq!(peer, from);
                node.on_answer(peer, call, answer);
                self.trace("deliver answer", to as u64, from as u64);
                self.after_step(i);
            }
            Event::ReplyToFrontend { to, corr, answer } => self.frontend_reply(to, corr, answer),
            Event::ToCatalog {
                from,
                incarnation,
                corr,
                batch,
            } => {
                self.trace("catalog buy", from as u64, batch.len() as u64);
                let outcome = Ok(self.catalog.buy(&batch));
                let event = Event::CatalogReply {
                    to: from,
                    incarnation,
                    corr,
                    outcome,
                };
                self.send(Site::Catalog, Site::Replica(from), event, false);
            }
            Event::CatalogReply {
                to,
                incarnation,
                corr,
                outcome,
            } => {
                let Some(i) = self.incarnation_up(to, incarnation) else {
                    return;
                };
                let r = &mut self.replicas[i];
                // An answer after its call timed out: the node was told of the failure already.
                let Some((buy, _)) = r.buying.remove(&corr) else {
                    return;
                };
                let Some(node) = r.node.as_mut() else { return };
                node.on_bought(buy, outcome);
                self.after_step(i);
            }
            Event::ClientToFrontend {
                to,
                client,
                corr,
                request,
            } => self.frontend_call(to, client, corr, request),
            Event::FrontendToClient {
                client,
                corr,
                answer,
            } => self.client_answer(client, corr, answer),
            Event::FlushDone {
                replica,
                incarnation,
            } => {
                let Some(i) = self.incarnation_up(replica, incarnation) else {
                    return;
                };
                let r = &mut self.replicas[i];
                let Some(node) = r.node.as_mut() else { return };
                node.store_mut().flush();
                node.on_flushed();
                r.flushing = false;
                let mut held = std::mem::take(&mut r.held);
                held.extend(node.take_outputs());
                self.trace("flushed", replica as u64, held.len() as u64);
                self.dispatch(i, held);
            }
        }
    }

    /// Ends the faults: partitions heal, links stop losing, disks are fast, every replica is up.
    fn heal(&mut self) {
        self.healed = true;
        self.net.heal_all();
        for r in &mut self.replicas {
            r.disk_delay = 0;
            r.tick_rate = 1.0;
        }
        for f in &mut self.frontends {
            f.tick_rate = 1.0;
        }
        for i in 0..self.replicas.len() {
            self.restart(i);
        }
        self.quiet_start_epoch = self.max_epoch();
        self.trace("healed", self.quiet_start_epoch, 0);
    }

    pub(crate) fn max_epoch(&self) -> Epoch {
        self.replicas
            .iter()
            .filter_map(|r| r.node.as_ref().map(|n| n.epoch()))
            .max()
            .unwrap_or(0)
    }

    pub(crate) fn place_request(key: &str, name: &str, quantity: u32) -> Request {
        Request::Place(PlaceRequest {
            request_id: RequestId::from_idempotency_key(key),
            name: name.to_string(),
            quantity,
        })
    }
}

pub(crate) fn site_code(site: Site) -> u64 {
    match site {
        Site::Replica(id) => id as u64,
        Site::Frontend(id) => 100 + id as u64,
        Site::Catalog => 200,
    }
}
