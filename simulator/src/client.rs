//! The clients: each places a bounded number of orders with idempotency keys through random
//! frontends, sometimes retries an acknowledged key (it must get the same number) or reuses one
//! with another body (it must be refused), and reads every acknowledged order back at once.

use common::wire::Placed;
use common::{Error, OrderEntry, Result};
use protocol::{Reply, Request};

use crate::actors::{ClientState, Expect, PRODUCTS};
use crate::events::Event;
use crate::world::World;

/// Chance per tick that an idle client starts its next request.
const START_CHANCE: f64 = 0.2;

impl World {
    pub(crate) fn tick_client(&mut self, c: usize) {
        let client = &self.clients[c];
        if !matches!(client.state, ClientState::Idle)
            || client.started >= self.cfg.orders_per_client
            || !self.rng.chance(START_CHANCE)
        {
            return;
        }
        let acked: Vec<(String, (u64, String, u32))> = client
            .acked
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let roll = self.rng.float(0.0, 1.0);
        let (key, name, quantity, expect) = match self.rng.pick(&acked).cloned() {
            Some((key, (number, name, quantity))) if roll < 0.1 => {
                (key, name, quantity, Expect::Same(number))
            }
            Some((key, (_, name, quantity))) if roll < 0.13 => {
                (key, name, quantity + 1, Expect::Conflict)
            }
            _ => {
                let (name, _) = *self.rng.pick(PRODUCTS).expect("there are products");
                let key = format!("c{}-{}", c, client.started);
                (
                    key,
                    name.to_string(),
                    self.rng.range(1, 4) as u32,
                    Expect::New,
                )
            }
        };
        let request = World::place_request(&key, &name, quantity);
        let client = &mut self.clients[c];
        client.started += 1;
        client.next_corr += 1;
        let corr = client.next_corr;
        client.state = ClientState::Placing {
            key,
            name,
            quantity,
            expect,
            corr,
        };
        self.send_via_some_frontend(c, corr, request);
    }

    fn send_via_some_frontend(&mut self, client: usize, corr: u64, request: Request) {
        let to = self.rng.range(1, self.frontends.len() as u64 + 1) as u32;
        self.schedule(
            1,
            None,
            Event::ClientToFrontend {
                to,
                client,
                corr,
                request,
            },
        );
    }

    pub(crate) fn client_answer(&mut self, c: usize, corr: u64, answer: Result<Reply>) {
        let state = self.clients[c].state.clone();
        match state {
            ClientState::Placing {
                key,
                name,
                quantity,
                expect,
                corr: expected,
            } if expected == corr => {
                self.clients[c].state = ClientState::Idle;
                match (answer, expect) {
                    (Ok(Reply::Placed(Placed { number })), Expect::New) => {
                        self.trace("acknowledged", c as u64, number);
                        self.clients[c]
                            .acked
                            .insert(key.clone(), (number, name.clone(), quantity));
                        let request_id = common::RequestId::from_idempotency_key(&key);
                        self.checks.acked.push(OrderEntry {
                            number,
                            epoch: 0,
                            request_id,
                            name,
                            quantity,
                        });
                        self.check(|w| w.checks.acked_orders_durable(&w.replicas));
                        let client = &mut self.clients[c];
                        client.next_corr += 1;
                        let corr = client.next_corr;
                        client.state = ClientState::Reading { number, key, corr };
                        self.send_via_some_frontend(c, corr, Request::Get(number));
                    }
                    (Ok(Reply::Placed(Placed { number })), Expect::Same(first))
                        if number == first => {}
                    (Ok(Reply::Placed(Placed { number })), Expect::Same(first)) => self.violate((
                        "exactly once",
                        format!("key {key} got order {first}, then {number} on a retry"),
                    )),
                    (Ok(reply), Expect::Conflict) => self.violate((
                        "exactly once",
                        format!("key {key} reused with another body was answered {reply:?}"),
                    )),
                    (Err(Error::IdempotencyConflict), Expect::Conflict) => {}
                    (Err(Error::OutOfStock), Expect::New) => {}
                    (other, _) => self.violate((
                        "transparency",
                        format!("client {c} placing {key} got {other:?}"),
                    )),
                }
            }
            ClientState::Reading {
                number,
                key,
                corr: expected,
            } if expected == corr => {
                self.clients[c].state = ClientState::Idle;
                let (_, name, quantity) = self.clients[c].acked[&key].clone();
                match answer {
                    Ok(Reply::Order(entry))
                        if entry.number == number
                            && entry.name == name
                            && entry.quantity == quantity => {}
                    other => self.violate((
                        "read after acknowledge",
                        format!("order {number} ({key}) was acknowledged, then read as {other:?}"),
                    )),
                }
            }
            _ => {}
        }
    }
}
