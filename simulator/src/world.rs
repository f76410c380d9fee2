//! The simulated world: the event queue, time, the replicas' process loop (flush before send),
//! and one run from a seed to its report.

use common::wire::{LeaderNotice, PlaceRequest, Prepare};
use common::{Epoch, Error, ReplicaId, RequestId, Result, MAX_EPOCH};
use protocol::{
    BuyOutcome, Elector, ElectorConfig, Flaws, MemoryStore, Node, Output, Reply, Request, Tag,
};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BinaryHeap};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::actors::{ClientState, Origin, SimCatalog, SimClient, SimFrontend, SimReplica, Site};
use crate::checks::{Broken, Checker};
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

/// One simulation run.
#[derive(Clone, Debug)]
pub struct Config {
    pub seed: u64,
    pub replicas: usize,
    pub frontends: usize,
    pub clients: usize,
    pub orders_per_client: usize,
    /// Ticks with faults, then ticks without for everything to settle.
    pub fault_ticks: u64,
    pub quiet_ticks: u64,
    /// Whether to inject faults at all.
    pub faults: bool,
    /// Every partition cuts the leader off from its followers (not from frontends or the
    /// catalog), for longer than the transparency bound, and nothing crashes: the scenario of a
    /// leader that must notice it lost its majority.
    pub leader_cutoffs: bool,
    /// Old bugs to switch back on (the simulator's own tests).
    pub flaws: Flaws,
    /// Finding 2's old request-index update.
    pub index_flaw: bool,
}

impl Config {
    /// The defaults for `seed`: 3 replicas, 2 frontends, faults on.
    pub fn new(seed: u64) -> Config {
        Config {
            seed,
            replicas: 3,
            frontends: 2,
            clients: 4,
            orders_per_client: 25,
            fault_ticks: 3000,
            quiet_ticks: 3000,
            faults: true,
            leader_cutoffs: false,
            flaws: Flaws::default(),
            index_flaw: false,
        }
    }

    /// The command that replays this run.
    pub fn replay_command(&self) -> String {
        format!(
            "toystore simulate --start {} --seeds 1 --replicas {} --frontends {}{} --verbose",
            self.seed,
            self.replicas,
            self.frontends,
            if self.leader_cutoffs {
                " --leader-cutoffs"
            } else {
                ""
            }
        )
    }
}

/// A broken invariant, where and when, with the end of the trace that led to it.
#[derive(Clone, Debug)]
pub struct Violation {
    pub invariant: &'static str,
    pub detail: String,
    pub tick: u64,
    pub trace: Vec<String>,
}

/// What one run did.
#[derive(Clone, Debug)]
pub struct Report {
    pub seed: u64,
    pub ticks: u64,
    pub events: u64,
    /// Faults injected: crashes, partitions, slow disks, rogue calls.
    pub faults: u64,
    pub acked: usize,
    pub max_epoch: Epoch,
    /// Epochs begun after the faults healed.
    pub quiet_epochs: Epoch,
    /// A digest of the whole trace: the same seed gives the same digest.
    pub digest: u64,
    pub violation: Option<Violation>,
}

/// Something that happens at a tick.
pub(crate) enum Event {
    ToReplica {
        to: ReplicaId,
        origin: Origin,
        corr: u64,
        request: Request,
    },
    ReplyToReplica {
        to: ReplicaId,
        incarnation: u64,
        from: ReplicaId,
        corr: u64,
        answer: Result<Reply>,
    },
    ReplyToFrontend {
        to: u32,
        corr: u64,
        answer: Result<Reply>,
    },
    ToCatalog {
        from: ReplicaId,
        incarnation: u64,
        corr: u64,
        batch: Vec<common::wire::BuyRequest>,
    },
    CatalogReply {
        to: ReplicaId,
        incarnation: u64,
        corr: u64,
        outcome: BuyOutcome,
    },
    ClientToFrontend {
        to: u32,
        client: usize,
        corr: u64,
        request: Request,
    },
    FrontendToClient {
        client: usize,
        corr: u64,
        answer: Result<Reply>,
    },
    FlushDone {
        replica: ReplicaId,
        incarnation: u64,
    },
}

struct Scheduled {
    at: u64,
    seq: u64,
    /// The link it crosses, checked against partitions on delivery.
    link: Option<(Site, Site)>,
    event: Event,
}

impl PartialEq for Scheduled {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Scheduled {}
impl PartialOrd for Scheduled {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Scheduled {
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

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
    digest: u64,
    pub events: u64,
    pub faults: u64,
    pub violation: Option<Violation>,
    pub healed: bool,
    quiet_start_epoch: Epoch,
}

/// Runs one seed to its end, or to its first violation (a panic in the protocol code is one).
pub fn run(cfg: &Config) -> Report {
    let mut world = World::new(cfg.clone());
    let outcome = catch_unwind(AssertUnwindSafe(|| world.run_to_end()));
    if let Err(panic) = outcome {
        let message = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panic".into());
        world.violate(("no panic", message));
    }
    let max_epoch = world.max_epoch();
    Report {
        seed: cfg.seed,
        ticks: world.now,
        events: world.events,
        faults: world.faults,
        acked: world.checks.acked.len(),
        max_epoch,
        quiet_epochs: max_epoch.saturating_sub(world.quiet_start_epoch),
        digest: world.digest,
        violation: world.violation,
    }
}

impl World {
    fn new(cfg: Config) -> World {
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
                    buying: None,
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

    fn run_to_end(&mut self) {
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
                let i = to as usize - 1;
                let r = &mut self.replicas[i];
                if r.incarnation != incarnation {
                    return;
                }
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
                let i = to as usize - 1;
                let r = &mut self.replicas[i];
                if r.incarnation != incarnation || r.buying.map(|b| b.0) != Some(corr) {
                    return;
                }
                r.buying = None;
                let Some(node) = r.node.as_mut() else { return };
                node.on_bought(outcome);
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
                let i = replica as usize - 1;
                let r = &mut self.replicas[i];
                if r.incarnation != incarnation {
                    return;
                }
                let Some(node) = r.node.as_mut() else { return };
                node.store_mut().flush();
                r.flushing = false;
                let held = std::mem::take(&mut r.held);
                self.trace("flushed", replica as u64, held.len() as u64);
                self.dispatch(i, held);
            }
        }
    }

    /// The driver's rule: a step's outputs leave only once its writes are flushed.
    pub(crate) fn after_step(&mut self, i: usize) {
        let r = &mut self.replicas[i];
        let Some(node) = r.node.as_mut() else { return };
        let outputs = node.take_outputs();
        if node.store().dirty || r.flushing || !r.held.is_empty() {
            r.held.extend(outputs);
            if !r.flushing {
                r.flushing = true;
                let event = Event::FlushDone {
                    replica: r.id,
                    incarnation: r.incarnation,
                };
                let delay = r.disk_delay;
                self.schedule(delay, None, event);
            }
        } else {
            self.dispatch(i, outputs);
        }
    }

    fn dispatch(&mut self, i: usize, outputs: Vec<Output>) {
        let me = self.replicas[i].id;
        for output in outputs {
            match output {
                Output::Reply { tag, reply } => {
                    let Some((origin, corr)) = self.replicas[i].tags.remove(&tag.0) else {
                        continue;
                    };
                    match origin {
                        Origin::Replica { id, incarnation } => {
                            let event = Event::ReplyToReplica {
                                to: id,
                                incarnation,
                                from: me,
                                corr,
                                answer: reply,
                            };
                            self.send(Site::Replica(me), Site::Replica(id), event, true);
                        }
                        Origin::Frontend(f) => {
                            let event = Event::ReplyToFrontend {
                                to: f,
                                corr,
                                answer: reply,
                            };
                            self.send(Site::Replica(me), Site::Frontend(f), event, true);
                        }
                        Origin::Rogue => {
                            if reply.is_ok() {
                                self.violate((
                                    "wrong internal calls are refused",
                                    format!("replica {me} obeyed an out-of-range call: {reply:?}"),
                                ));
                            }
                        }
                    }
                }
                Output::Send { to, request, call } => {
                    let r = &mut self.replicas[i];
                    r.next_tag += 1;
                    let corr = r.next_tag;
                    r.calls.insert(corr, (to, call, self.now + RPC_TIMEOUT));
                    let origin = Origin::Replica {
                        id: me,
                        incarnation: r.incarnation,
                    };
                    let event = Event::ToReplica {
                        to,
                        origin,
                        corr,
                        request,
                    };
                    self.send(Site::Replica(me), Site::Replica(to), event, true);
                }
                Output::Buy { batch } => {
                    let r = &mut self.replicas[i];
                    r.next_tag += 1;
                    let corr = r.next_tag;
                    r.buying = Some((corr, self.now + RPC_TIMEOUT));
                    let event = Event::ToCatalog {
                        from: me,
                        incarnation: r.incarnation,
                        corr,
                        batch,
                    };
                    self.send(Site::Replica(me), Site::Catalog, event, true);
                }
                Output::Halt { error } => {
                    self.violate((
                        "fail-stop is never needed",
                        format!("replica {me} halted: {error}"),
                    ));
                }
            }
        }
    }

    fn tick_replica(&mut self, i: usize) {
        let now = self.now;
        let r = &mut self.replicas[i];
        if r.node.is_none() {
            if r.restart_at.is_some_and(|at| at <= now) {
                self.restart(i);
            }
            return;
        }
        let expired: Vec<u64> = r
            .calls
            .iter()
            .filter(|(_, (_, _, deadline))| *deadline <= now)
            .map(|(corr, _)| *corr)
            .collect();
        let node = r.node.as_mut().expect("checked above");
        for corr in expired {
            let (peer, call, _) = r.calls.remove(&corr).expect("listed above");
            node.on_answer(peer, call, Err(Error::Unavailable("timed out".into())));
        }
        if r.buying.is_some_and(|(_, deadline)| deadline <= now) {
            r.buying = None;
            node.on_bought(Err(Error::Unavailable("catalog timed out".into())));
        }
        let rate = r.tick_rate;
        if self.rng.chance(rate) {
            self.replicas[i].node.as_mut().expect("up").tick();
        }
        self.after_step(i);
    }

    pub(crate) fn crash(&mut self, i: usize) {
        let r = &mut self.replicas[i];
        let Some(node) = r.node.take() else { return };
        if node.leading().is_some() {
            // A leader's crash costs a failover: the transparency count starts again.
            self.topology_changed();
        }
        let r = &mut self.replicas[i];
        let mut disk = node.store().clone();
        disk.crash();
        r.disk = Some(disk);
        r.incarnation += 1;
        r.held.clear();
        r.flushing = false;
        r.tags.clear();
        r.calls.clear();
        r.buying = None;
        let id = r.id;
        r.restart_at = Some(self.now + self.rng.range(20, 400));
        self.faults += 1;
        self.trace("crash", id as u64, 0);
        self.check(|w| w.checks.acked_orders_durable(&w.replicas));
    }

    pub(crate) fn restart(&mut self, i: usize) {
        let r = &mut self.replicas[i];
        let Some(disk) = r.disk.take() else { return };
        let peers = (1..=self.cfg.replicas as ReplicaId)
            .filter(|&p| p != r.id)
            .collect();
        let mut node = Node::new(r.id, peers, disk).expect("a memory store opens");
        node.flaws = self.cfg.flaws;
        node.start();
        r.node = Some(node);
        r.restart_at = None;
        let id = r.id;
        self.checks.restarted(id);
        self.trace("restart", id as u64, 0);
        self.after_step(i);
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

    /// Every client finished its script, every replica is up and holds the same log.
    fn settled(&self) -> bool {
        let clients_done = self.clients.iter().all(|c| {
            matches!(c.state, ClientState::Idle) && c.started >= self.cfg.orders_per_client
        });
        clients_done && self.logs_identical().is_ok()
    }

    fn logs_identical(&self) -> std::result::Result<(), String> {
        let mut logs = self.replicas.iter().map(|r| {
            r.node.as_ref().map(|n| {
                (
                    n.store().entries().cloned().collect::<Vec<_>>(),
                    n.commit_len(),
                )
            })
        });
        let Some(Some((first, _))) = logs.next() else {
            return Err("replica 1 is down".into());
        };
        for (i, log) in logs.enumerate() {
            match log {
                None => return Err(format!("replica {} is down", i + 2)),
                Some((entries, _)) if entries != first => {
                    return Err(format!(
                        "replica {} holds {} entries, replica 1 {}",
                        i + 2,
                        entries.len(),
                        first.len()
                    ))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// After the quiet period: progress, convergence, quiet elections, stock conservation.
    fn final_checks(&mut self) {
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
        if let Err(e) = self.logs_identical() {
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
        self.check(|w| w.checks.acked_orders_durable(&w.replicas));
    }

    /// Invariant 8: while a majority of replicas can talk to each other, to the catalog and to a
    /// frontend, that frontend's requests complete within a bound.
    fn check_transparency(&mut self) {
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
    fn quorum_serves(&self, frontend: Site) -> bool {
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

    pub(crate) fn place_request(key: &str, name: &str, quantity: u32) -> Request {
        Request::Place(PlaceRequest {
            request_id: RequestId::from_idempotency_key(key),
            name: name.to_string(),
            quantity,
        })
    }
}

fn duplicate(event: &Event) -> Option<Event> {
    match event {
        Event::ToReplica {
            to,
            origin,
            corr,
            request,
        } => Some(Event::ToReplica {
            to: *to,
            origin: *origin,
            corr: *corr,
            request: request.clone(),
        }),
        Event::ReplyToReplica {
            to,
            incarnation,
            from,
            corr,
            answer,
        } => Some(Event::ReplyToReplica {
            to: *to,
            incarnation: *incarnation,
            from: *from,
            corr: *corr,
            answer: answer.clone(),
        }),
        Event::ToCatalog {
            from,
            incarnation,
            corr,
            batch,
        } => Some(Event::ToCatalog {
            from: *from,
            incarnation: *incarnation,
            corr: *corr,
            batch: batch.clone(),
        }),
        _ => None,
    }
}

pub(crate) fn site_code(site: Site) -> u64 {
    match site {
        Site::Replica(id) => id as u64,
        Site::Frontend(id) => 100 + id as u64,
        Site::Catalog => 200,
    }
}
