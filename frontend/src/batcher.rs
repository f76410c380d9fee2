//! Many clients' orders to one leader in one call: a frontend under load sends the leader one
//! `place_batch` for the orders that arrived while every batch slot to it was taken, instead of
//! one HTTP request per order. At low load an order goes alone and at once, so nothing waits for
//! a batch to fill; at high load batches grow by themselves, as the leader's own group commit does.
//!
//! Each order keeps its own outcome and its own retry: a batch that fails as a whole gives every
//! order in it that failure, and each caller's retry loop (`Leadership::call`) resends its own
//! request id, alone or in a later batch.

use common::replica_api::{ReplicaClient, MAX_PLACE_BATCH};
use common::wire::{PlaceRequest, Placed};
use common::{Error, Result};
use std::sync::{Arc, Mutex};
use tokio::sync::oneshot;

use crate::metrics::{bump, Metrics};

/// Batches to one leader that may be on their way at once; an order that finds them all out
/// waits in the frontend for the next one to leave.
///
/// A batch is out for the whole of the leader's pipeline: its queue, the catalog buy, the leader's
/// flush and the followers' appends, each stage holding a different batch while the leader queues
/// whatever reaches it during a catalog buy and buys it all in the next one. The leader batches by
/// itself, then: holding orders back here only saves HTTP calls, and is worth it only once many
/// batches are out. With 2 slots, an order that came while two batches were out waited for one
/// of them to be answered (most of an order's latency) although the leader would have bought it
/// with its very next batch; five sessions ordering at once paid three times a lone order's
/// latency (docs/performance.md, "Buy latency under mixed load"). 8 slots keep every stage fed
/// and still batch at 64 connections (about 8 orders a call), where the saved calls count.
pub(crate) const MAX_IN_FLIGHT: usize = 8;

/// The orders waiting for one replica, and the batches on their way to it.
#[derive(Debug)]
pub(crate) struct PlaceBatcher {
    client: ReplicaClient,
    queue: Mutex<Queue>,
    metrics: Arc<Metrics>,
}

/// Orders waiting for the next batch: `requests[i]` is answered through `answers[i]`.
#[derive(Debug, Default)]
struct Queue {
    requests: Vec<PlaceRequest>,
    answers: Vec<oneshot::Sender<Result<Placed>>>,
    in_flight: usize,
}

/// One batch on its way: the requests sent, and where each one's outcome goes.
type Batch = (Vec<PlaceRequest>, Vec<oneshot::Sender<Result<Placed>>>);

impl PlaceBatcher {
    pub(crate) fn new(client: ReplicaClient, metrics: Arc<Metrics>) -> Arc<PlaceBatcher> {
        Arc::new(PlaceBatcher {
            client,
            queue: Mutex::default(),
            metrics,
        })
    }

    /// Places `request` on this replica, in the next batch that leaves.
    ///
    /// # Errors
    /// The replica's answer for this request, or the failure of the call that carried it.
    pub(crate) async fn place(self: &Arc<Self>, request: &PlaceRequest) -> Result<Placed> {
        let (answer, answered) = oneshot::channel();
        let batch = {
            let mut queue = common::sync::lock(&self.queue);
            queue.requests.push(request.clone());
            queue.answers.push(answer);
            bump(&self.metrics.place_orders);
            if queue.in_flight < MAX_IN_FLIGHT {
                queue.in_flight += 1;
                Some(self.take_batch(&mut queue))
            } else {
                bump(&self.metrics.place_orders_held);
                None
            }
        };
        if let Some(batch) = batch {
            // Its own task: a client that hangs up must not strand the orders batched with it.
            tokio::spawn(Arc::clone(self).send(batch));
        }
        answered
            .await
            .unwrap_or_else(|_| Err(Error::Internal("the batch task ended".into())))
    }

    /// Sends `batch`, then every batch that filled meanwhile, until none is waiting.
    async fn send(self: Arc<Self>, mut batch: Batch) {
        loop {
            let (requests, answers) = batch;
            match self.client.place_batch(&requests).await {
                Ok(outcomes) if outcomes.len() == answers.len() => {
                    for (answer, outcome) in answers.into_iter().zip(outcomes) {
                        let _ = answer.send(outcome);
                    }
                }
                Ok(outcomes) => {
                    let e = Error::Internal(format!(
                        "replica answered {} outcomes for {} orders",
                        outcomes.len(),
                        answers.len()
                    ));
                    answer_all(answers, &e);
                }
                Err(e) => answer_all(answers, &e),
            }
            let mut queue = common::sync::lock(&self.queue);
            if queue.requests.is_empty() {
                queue.in_flight -= 1;
                return;
            }
            batch = self.take_batch(&mut queue);
        }
    }

    /// The oldest waiting orders, at most a batch of them, counted as a batch sent.
    fn take_batch(&self, queue: &mut Queue) -> Batch {
        bump(&self.metrics.place_batches);
        let n = queue.requests.len().min(MAX_PLACE_BATCH);
        (
            queue.requests.drain(..n).collect(),
            queue.answers.drain(..n).collect(),
        )
    }
}

fn answer_all(answers: Vec<oneshot::Sender<Result<Placed>>>, error: &Error) {
    for answer in answers {
        let _ = answer.send(Err(error.clone()));
    }
}
