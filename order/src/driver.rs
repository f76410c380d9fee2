//! The driver around one replica's [`Node`]: a single task owns the node and its sled log, takes
//! inputs (HTTP requests, peers' answers, the catalog's answers, ticks) from one queue, steps
//! the node with every input waiting, flushes once if anything was written, and only then
//! carries out the outputs. That last rule is what makes an answer mean "on disk"; taking every
//! waiting input before the one flush is the group commit.
//!
//! Two outputs leave before the flush ([`Output::leaves_before_flush`] says why each is safe):
//! the catalog buy, so the catalog buys the next batch while this one is flushed, and a leader's
//! appends, so its followers write and flush a batch while the leader flushes it too. The
//! leader then counts its own entries towards a commit only once this flush is done
//! ([`Node::on_flushed`]).

use crate::faults::Faults;
use common::catalog_api::CatalogClient;
use common::replica_api::ReplicaClient;
use common::wire::Health;
use common::{Error, ReplicaId, Result, Shutdown};
use log::error;
use protocol::{BuyId, BuyOutcome, Call, Node, Output, Reply, Request, Tag, TICK};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot, watch};

use crate::log::OrderLog;
use crate::metrics::ReplicaMetrics;

/// Most inputs stepped before one flush.
const MAX_INPUTS_PER_FLUSH: usize = 4096;

/// What the driver's task is fed.
pub(crate) enum Input {
    Request {
        request: Request,
        answer: oneshot::Sender<Result<Reply>>,
    },
    Answer {
        from: ReplicaId,
        call: Call,
        answer: Result<Reply>,
    },
    Bought(BuyId, BuyOutcome),
}

/// The handle HTTP handlers use to reach the node.
#[derive(Clone)]
pub(crate) struct NodeHandle {
    inputs: mpsc::UnboundedSender<Input>,
    /// The node's health after its last flushed step.
    health: watch::Receiver<Health>,
}

impl NodeHandle {
    /// Asks the node, and waits for its answer.
    pub(crate) async fn ask(&self, request: Request) -> Result<Reply> {
        let (answer, answered) = oneshot::channel();
        self.inputs
            .send(Input::Request { request, answer })
            .map_err(|_| Error::Unavailable("the replica is stopping".into()))?;
        answered
            .await
            .map_err(|_| Error::Unavailable("the replica is stopping".into()))?
    }

    /// The last published health, without waiting for the node.
    pub(crate) fn health(&self) -> Health {
        self.health.borrow().clone()
    }
}

/// Everything the driver task owns.
struct Driver {
    node: Node<OrderLog>,
    inputs: mpsc::UnboundedReceiver<Input>,
    feed: mpsc::UnboundedSender<Input>,
    waiting: HashMap<u64, oneshot::Sender<Result<Reply>>>,
    next_tag: u64,
    peers: Arc<HashMap<ReplicaId, ReplicaClient>>,
    catalog: CatalogClient,
    health: watch::Sender<Health>,
    faults: Faults,
    metrics: Arc<ReplicaMetrics>,
    /// The log's length at the last flush.
    flushed_len: u64,
}

/// Starts the driver of `node`; it runs until `shutdown`, then flushes and returns the log.
pub(crate) fn start(
    node: Node<OrderLog>,
    peers: HashMap<ReplicaId, ReplicaClient>,
    catalog: CatalogClient,
    metrics: Arc<ReplicaMetrics>,
    shutdown: Shutdown,
) -> (NodeHandle, tokio::task::JoinHandle<()>) {
    let (feed, inputs) = mpsc::unbounded_channel();
    let (health, health_rx) = watch::channel(node.health());
    // What a restart found is on disk already: the first flush counts only what it adds.
    let flushed_len = node.len();
    let driver = Driver {
        node,
        inputs,
        feed: feed.clone(),
        waiting: HashMap::new(),
        next_tag: 0,
        peers: Arc::new(peers),
        catalog,
        health,
        faults: Faults::from_env(),
        metrics,
        flushed_len,
    };
    let task = tokio::spawn(driver.run(shutdown));
    (
        NodeHandle {
            inputs: feed,
            health: health_rx,
        },
        task,
    )
}

impl Driver {
    async fn run(mut self, shutdown: Shutdown) {
        self.node.start();
        self.settle().await;
        let mut ticks = tokio::time::interval(TICK);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = shutdown.wait() => break,
                _ = ticks.tick() => self.node.tick(),
                input = self.inputs.recv() => match input {
                    Some(input) => self.step(input),
                    None => break,
                },
            }
            // Group commit: everything already waiting joins this flush.
            for _ in 0..MAX_INPUTS_PER_FLUSH {
                match self.inputs.try_recv() {
                    Ok(input) => self.step(input),
                    Err(_) => break,
                }
            }
            self.settle().await;
        }
        if let Err(e) = self.node.store().flush().await {
            error!("final flush failed: {e}");
        }
    }

    fn step(&mut self, input: Input) {
        match input {
            Input::Request { request, answer } => {
                let append_with_entries =
                    matches!(&request, Request::Append(a) if !a.entries.is_empty());
                self.next_tag += 1;
                self.waiting.insert(self.next_tag, answer);
                self.node.on_request(Tag(self.next_tag), request);
                if append_with_entries && self.node.store().is_dirty() {
                    self.faults.hit("follower-mid-append");
                }
            }
            Input::Answer { from, call, answer } => self.node.on_answer(from, call, answer),
            Input::Bought(id, outcome) => self.node.on_bought(id, outcome),
        }
    }

    /// Flushes what the steps wrote, then carries out their outputs; what may leave before the
    /// flush (a catalog buy, a leader's appends) goes first and travels while the flush runs.
    async fn settle(&mut self) {
        let wrote = self.node.store_mut().take_dirty();
        let entries = self.node.store_mut().take_written_entries();
        if wrote && self.node.leading().is_some() && self.node.len() > self.flushed_len {
            self.faults.hit("leader-after-local-write");
        }
        let (early, outputs): (Vec<Output>, Vec<Output>) = self
            .node
            .take_outputs()
            .into_iter()
            .partition(Output::leaves_before_flush);
        for output in early {
            self.carry_out(output);
        }
        if wrote {
            let began = Instant::now();
            if let Err(e) = self.node.store().flush().await {
                self.fail_stop("flush", &e);
            }
            self.metrics.flushed(began.elapsed(), entries);
        }
        self.flushed_len = self.node.len();
        // What commits now that the leader's own entries are on disk is answered with the rest.
        // The commit index it writes may reach the disk with the next flush: a restart reads a
        // lower one, which only holds back what it counts as committed.
        self.node.on_flushed();
        self.health.send_if_modified(|h| {
            let now = self.node.health();
            let changed = *h != now;
            *h = now;
            changed
        });
        self.metrics.publish(&self.node);
        for output in outputs.into_iter().chain(self.node.take_outputs()) {
            self.carry_out(output);
        }
    }

    fn carry_out(&mut self, output: Output) {
        match output {
            Output::Reply { tag, reply } => {
                if matches!(reply, Ok(Reply::Placed(_))) {
                    self.faults.hit("leader-after-commit");
                }
                if let Some(answer) = self.waiting.remove(&tag.0) {
                    // The asker may have gone (a client that hung up): nothing to do then.
                    let _ = answer.send(reply);
                }
            }
            Output::Send {
                to, request, call, ..
            } => {
                let Some(peer) = self.peers.get(&to).cloned() else {
                    return;
                };
                let feed = self.feed.clone();
                tokio::spawn(async move {
                    let answer = call_peer(&peer, request).await;
                    let _ = feed.send(Input::Answer {
                        from: to,
                        call,
                        answer,
                    });
                });
            }
            Output::Buy { id, batch } => {
                let catalog = self.catalog.clone();
                let feed = self.feed.clone();
                tokio::spawn(async move {
                    let outcome = catalog.buy_batch(&batch).await;
                    let _ = feed.send(Input::Bought(id, outcome));
                });
            }
            Output::Halt { error } => self.fail_stop("storage", &error),
        }
    }

    /// A local storage failure: stop serving rather than risk answering from a log that may
    /// differ from what is on disk. A restart recovers from the last flush.
    fn fail_stop(&self, what: &str, e: &Error) -> ! {
        error!(
            "replica {}: {what} failed: {e}; stopping so that nothing unflushed is served",
            self.node.health().id
        );
        std::process::exit(70);
    }
}

async fn call_peer(peer: &ReplicaClient, request: Request) -> Result<Reply> {
    match request {
        Request::Prepare(p) => peer.prepare(&p).await.map(Reply::Promise),
        Request::Append(a) => peer.append(&a).await.map(Reply::Appended),
        Request::Log(q) => peer.log(&q).await.map(Reply::Page),
        other => Err(Error::Internal(format!(
            "a replica does not send {other:?} to its peers"
        ))),
    }
}
