//! The leader's side of placing an order: requests queue for the next catalog buy, a buy's
//! answer finds its batch by its [`BuyId`], and the bought orders are numbered and written in one
//! write (group commit; the driver's flush after the step makes them durable).

use common::wire::{BuyRequest, PlaceRequest};
use common::{Error, OrderEntry, RequestId, Result, MAX_ORDER_QUANTITY, MIN_ORDER_QUANTITY};
use log::{debug, warn};

use crate::io::{BuyId, BuyOutcome, Output, Reply, Tag};
use crate::leading::{
    Answer, Buying, ABSTAIN_TICKS, BUY_LEASE_TICKS, CATALOG_FAILURES_TO_STEP_DOWN, MAX_BATCH,
};
use crate::node::Node;
use crate::store::LogStore;

impl<S: LogStore> Node<S> {
    pub(crate) fn place(&mut self, tag: Tag, request: PlaceRequest) -> Result<Option<Reply>> {
        if !(MIN_ORDER_QUANTITY..=MAX_ORDER_QUANTITY).contains(&request.quantity) {
            return Err(Error::BadRequest(
                "quantity must be a whole number from 1 to 1000".into(),
            ));
        }
        if self.leading_mut().is_none() {
            return Err(self.not_leader());
        }
        if let Some(number) = self.store.lookup(&request.request_id)? {
            let entry = self.store.get(number)?.ok_or_else(|| {
                Error::Internal(format!("request index names missing order {number}"))
            })?;
            if entry.name != request.name || entry.quantity != request.quantity {
                return Err(Error::IdempotencyConflict);
            }
            return Ok(self.await_commit(tag, number, Answer::Placed));
        }
        let leading = self.leading_mut().expect("checked above");
        match leading.unbought.get_mut(&request.request_id) {
            Some(buying) => {
                if buying.request.name != request.name
                    || buying.request.quantity != request.quantity
                {
                    return Err(Error::IdempotencyConflict);
                }
                buying.tags.push(tag);
            }
            None => {
                leading.queue.push(request.request_id.clone());
                leading.unbought.insert(
                    request.request_id.clone(),
                    Buying {
                        request,
                        tags: vec![tag],
                    },
                );
            }
        }
        self.maybe_buy();
        Ok(None)
    }

    /// Sends the queued requests to the catalog as one batch, unless `buys_out` batches are out or
    /// this leader has not heard from a majority lately (it may be cut off: buying then would
    /// take stock for orders that cannot commit here).
    pub(crate) fn maybe_buy(&mut self) {
        let (now, majority, buys_out) = (self.now, self.majority, self.buys_out);
        let Some(leading) = self.leading_mut() else {
            return;
        };
        if leading.in_catalog.len() >= buys_out || leading.queue.is_empty() {
            return;
        }
        if leading.heard_within(now, BUY_LEASE_TICKS) < majority {
            return;
        }
        let take = leading.queue.len().min(MAX_BATCH);
        let ids: Vec<RequestId> = leading.queue.drain(..take).collect();
        let batch: Vec<BuyRequest> = ids
            .iter()
            .map(|id| {
                let r = &leading.unbought[id].request;
                BuyRequest {
                    request_id: r.request_id.clone(),
                    name: r.name.clone(),
                    quantity: r.quantity,
                }
            })
            .collect();
        let id = BuyId(self.next_buy);
        self.next_buy += 1;
        let leading = self.leading_mut().expect("checked above");
        leading.in_catalog.insert(id, ids);
        self.outputs.push(Output::Buy { id, batch });
    }

    /// Numbers and writes what the catalog sold; answers what it refused.
    pub(crate) fn on_bought_batch(&mut self, id: BuyId, outcome: BuyOutcome) -> Result<()> {
        let (epoch, len, any_batch) = (self.epoch, self.len, self.flaws.buy_answer_any_batch);
        let Some(leading) = self.leading_mut() else {
            return Ok(());
        };
        let id = match leading.in_catalog.keys().next() {
            Some(&out) if any_batch => out,
            _ => id,
        };
        // A buy of an earlier leadership: its requests were answered when that one ended.
        let Some(ids) = leading.in_catalog.remove(&id) else {
            return Ok(());
        };
        leading.catalog_failures = match &outcome {
            Err(_) => leading.catalog_failures + 1,
            Ok(_) => 0,
        };
        let unreachable = leading.catalog_failures >= CATALOG_FAILURES_TO_STEP_DOWN;
        let outcomes: Vec<Result<()>> = match outcome {
            Ok(outcomes) if outcomes.len() == ids.len() => {
                outcomes.into_iter().map(|o| o.map(|_| ())).collect()
            }
            Ok(outcomes) => {
                let e = Error::Internal(format!(
                    "catalog answered {} of {} buys",
                    outcomes.len(),
                    ids.len()
                ));
                ids.iter().map(|_| Err(e.clone())).collect()
            }
            Err(e) => {
                warn!(
                    "epoch {epoch}: catalog buy of {} orders failed: {e}",
                    ids.len()
                );
                ids.iter().map(|_| Err(e.clone())).collect()
            }
        };
        let mut entries = Vec::new();
        let mut refused = Vec::new();
        let mut numbered = Vec::new();
        for (id, outcome) in ids.into_iter().zip(outcomes) {
            let buying = leading
                .unbought
                .remove(&id)
                .expect("every id in a batch waits");
            match outcome {
                Ok(()) => {
                    let number = len + entries.len() as u64;
                    entries.push(OrderEntry {
                        number,
                        epoch,
                        request_id: id,
                        name: buying.request.name,
                        quantity: buying.request.quantity,
                    });
                    numbered.push((number, buying.tags));
                }
                Err(e) => refused.extend(buying.tags.into_iter().map(|t| (t, e.clone()))),
            }
        }
        for (tag, e) in refused {
            self.reply(tag, Err(e));
        }
        if unreachable {
            self.step_down("the catalog is out of reach");
            self.abstain_until = self.now + ABSTAIN_TICKS;
            return Ok(());
        }
        if !entries.is_empty() {
            self.len = self.store.write(len, &entries, &|_| false)?;
            assert_eq!(
                self.len,
                len + entries.len() as u64,
                "replica {}: a leader only appends",
                self.id
            );
            self.synced_len = self.len;
            debug!(
                "epoch {epoch}: batch of {} orders written, log length {}",
                entries.len(),
                self.len
            );
            for (number, tags) in numbered {
                for tag in tags {
                    self.await_commit(tag, number, Answer::Placed);
                }
            }
            self.recompute_commit()?;
            self.replicate(false)?;
        }
        self.maybe_buy();
        Ok(())
    }
}
