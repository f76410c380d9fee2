//! A replica's process in the simulated world: stepping its node, the flush-before-send rule,
//! carrying out its outputs, its timers, crashing and restarting it.

use common::{Error, ReplicaId};
use protocol::{Node, Output};

use crate::actors::{Origin, Site};
use crate::events::Event;
use crate::world::{World, RPC_TIMEOUT};

impl World {
    /// The index of replica `id` if it still runs as `incarnation`: an answer or a flush meant
    /// for a process that crashed since is dropped, as the real one's would be.
    pub(crate) fn incarnation_up(&self, id: ReplicaId, incarnation: u64) -> Option<usize> {
        let i = id as usize - 1;
        let r = &self.replicas[i];
        (r.incarnation == incarnation && r.node.is_some()).then_some(i)
    }

    /// The driver's rule: a step's outputs leave only once its writes are flushed, but for what
    /// [`Output::leaves_before_flush`] names (a catalog buy, a leader's appends), which leaves
    /// at once.
    pub(crate) fn after_step(&mut self, i: usize) {
        let r = &mut self.replicas[i];
        let Some(node) = r.node.as_mut() else { return };
        let (early, mut outputs): (Vec<Output>, Vec<Output>) = node
            .take_outputs()
            .into_iter()
            .partition(Output::leaves_before_flush);
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
            self.dispatch(i, early);
        } else {
            // Nothing unflushed: everything the node wrote is on disk.
            node.on_flushed();
            outputs.extend(node.take_outputs());
            self.dispatch(i, early);
            self.dispatch(i, outputs);
        }
    }

    pub(crate) fn dispatch(&mut self, i: usize, outputs: Vec<Output>) {
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
                Output::Send {
                    to, request, call, ..
                } => {
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
                Output::Buy { id, batch } => {
                    let r = &mut self.replicas[i];
                    r.next_tag += 1;
                    let corr = r.next_tag;
                    r.buying.insert(corr, (id, self.now + RPC_TIMEOUT));
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

    pub(crate) fn tick_replica(&mut self, i: usize) {
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
        let timed_out: Vec<u64> = r
            .buying
            .iter()
            .filter(|(_, (_, deadline))| *deadline <= now)
            .map(|(corr, _)| *corr)
            .collect();
        for corr in timed_out {
            let (buy, _) = r.buying.remove(&corr).expect("listed above");
            node.on_bought(buy, Err(Error::Unavailable("catalog timed out".into())));
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
        r.buying.clear();
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
        node.page_limit = self.cfg.page_limit;
        node.buys_out = self.cfg.buys_out;
        node.start();
        r.node = Some(node);
        r.restart_at = None;
        let id = r.id;
        self.checks.restarted(id);
        self.trace("restart", id as u64, 0);
        self.after_step(i);
    }
}
