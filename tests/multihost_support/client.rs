//! The store's client side of the drill, from the client namespace: orders placed through the
//! frontend (with what came of each), and the replicas' health and logs.

use super::{MAX_ORDERS_PER_CLIENT, ORDERS, ORDER_PAUSE, TOKEN, WEB};
use common::wire::{Health, LogPage, Role, TOKEN_HEADER};
use common::{OrderEntry, ReplicaId};
use std::cell::{Cell, RefCell};
use std::time::Duration;

/// An acknowledged order.
#[derive(Clone, Debug)]
pub struct Ack {
    pub number: u64,
    pub name: String,
    pub quantity: u32,
}

/// What the clients saw.
#[derive(Default)]
pub struct Seen {
    pub acks: Vec<Ack>,
    /// Requests that did not get an order number (status and body, or the transport error).
    pub errors: Vec<String>,
    pub out_of_stock: usize,
}

/// Talks to the store from the client namespace.
pub struct Client {
    pub http: reqwest::Client,
    pub frontend: String,
}

impl Client {
    pub fn new() -> Client {
        Client {
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("http client"),
            frontend: format!("http://{}:8080", WEB.1),
        }
    }

    fn replica_url(id: ReplicaId, path: &str) -> String {
        format!("http://{}:{}{path}", ORDERS[id as usize - 1].1, 8300 + id)
    }

    pub async fn health(&self, id: ReplicaId) -> Option<Health> {
        let response = self
            .http
            .get(Client::replica_url(id, "/internal/health"))
            .header(TOKEN_HEADER, TOKEN)
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .ok()?;
        response.json().await.ok()
    }

    pub async fn log(&self, id: ReplicaId) -> Option<Vec<OrderEntry>> {
        let response = self
            .http
            .get(Client::replica_url(id, "/internal/log?from=0&limit=10000"))
            .header(TOKEN_HEADER, TOKEN)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        let page: LogPage = response.json().await.ok()?;
        Some(page.entries)
    }

    /// The replica that leads the highest epoch any replica reports, with that epoch.
    pub async fn leader(&self) -> Option<(ReplicaId, u64)> {
        let mut best: Option<(ReplicaId, u64)> = None;
        for (id, _) in (1..).zip(ORDERS) {
            if let Some(health) = self.health(id).await {
                if health.role == Role::Leader
                    && health.ready
                    && best.is_none_or(|(_, epoch)| health.epoch > epoch)
                {
                    best = Some((id, health.epoch));
                }
            }
        }
        best
    }

    /// One order, retried with the same idempotency key (so never placed twice) until it is
    /// acknowledged or refused for stock; every failed attempt is recorded.
    async fn order(&self, key: &str, name: &str, seen: &RefCell<Seen>) {
        for _attempt in 0..5 {
            let result = self
                .http
                .post(format!("{}/orders", self.frontend))
                .header("Idempotency-Key", key)
                .json(&serde_json::json!({"name": name, "quantity": 1}))
                .send()
                .await;
            let failure = match result {
                Ok(response) => {
                    let status = response.status();
                    let body: serde_json::Value = response.json().await.unwrap_or_default();
                    if status == 200 {
                        let number = body["data"]["order_number"]
                            .as_u64()
                            .unwrap_or_else(|| panic!("no order number in {body}"));
                        seen.borrow_mut().acks.push(Ack {
                            number,
                            name: name.to_string(),
                            quantity: 1,
                        });
                        return;
                    }
                    if status == 400 && body.to_string().contains("out of stock") {
                        seen.borrow_mut().out_of_stock += 1;
                        return;
                    }
                    format!("{key}: {status} {body}")
                }
                Err(e) => format!("{key}: {e}"),
            };
            seen.borrow_mut().errors.push(failure);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Places orders one after another until `stop` is set.
    pub async fn load(
        &self,
        client: usize,
        toys: &[String],
        seen: &RefCell<Seen>,
        stop: &Cell<bool>,
    ) {
        for i in 0..MAX_ORDERS_PER_CLIENT {
            if stop.get() {
                return;
            }
            let toy = &toys[(client * 7 + i) % toys.len()];
            self.order(&format!("multihost-{client}-{i}"), toy, seen)
                .await;
            tokio::time::sleep(ORDER_PAUSE).await;
        }
    }
}
