//! Many clients' orders to one leader in one call: a frontend under load sends the leader one
//! `place_batch` for every order that arrived while the previous batch was on its way, instead of
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

/// Batches to one leader that may be on their way at once: one being answered while the next
/// fills keeps the leader busy without sending orders one by one.
const MAX_IN_FLIGHT: usize = 2;

type Waiting = (PlaceRequest, oneshot::Sender<Result<Placed>>);

/// The orders waiting for one replica, and the batches on their way to it.
#[derive(Debug)]
pub(crate) struct PlaceBatcher {
    client: ReplicaClient,
    queue: Mutex<Queue>,
}

#[derive(Debug, Default)]
struct Queue {
    waiting: Vec<Waiting>,
    in_flight: usize,
}

impl PlaceBatcher {
    pub(crate) fn new(client: ReplicaClient) -> Arc<PlaceBatcher> {
        Arc::new(PlaceBatcher {
            client,
            queue: Mutex::default(),
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
            queue.waiting.push((request.clone(), answer));
            if queue.in_flight < MAX_IN_FLIGHT {
                queue.in_flight += 1;
                Some(take_batch(&mut queue.waiting))
            } else {
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
    async fn send(self: Arc<Self>, mut batch: Vec<Waiting>) {
        loop {
            let requests: Vec<PlaceRequest> = batch.iter().map(|(r, _)| r.clone()).collect();
            match self.client.place_batch(&requests).await {
                Ok(outcomes) if outcomes.len() == batch.len() => {
                    for ((_, answer), outcome) in batch.into_iter().zip(outcomes) {
                        let _ = answer.send(outcome);
                    }
                }
                Ok(outcomes) => {
                    let e = Error::Internal(format!(
                        "replica answered {} outcomes for {} orders",
                        outcomes.len(),
                        batch.len()
                    ));
                    answer_all(batch, &e);
                }
                Err(e) => answer_all(batch, &e),
            }
            let mut queue = common::sync::lock(&self.queue);
            if queue.waiting.is_empty() {
                queue.in_flight -= 1;
                return;
            }
            batch = take_batch(&mut queue.waiting);
        }
    }
}

/// The oldest waiting orders, at most a batch of them.
fn take_batch(waiting: &mut Vec<Waiting>) -> Vec<Waiting> {
    let n = waiting.len().min(MAX_PLACE_BATCH);
    waiting.drain(..n).collect()
}

fn answer_all(batch: Vec<Waiting>, error: &Error) {
    for (_, answer) in batch {
        let _ = answer.send(Err(error.clone()));
    }
}
