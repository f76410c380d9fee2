//! The frontend's loop around the real elector, as the simulator runs it: health polls,
//! proposals, and order calls forwarded to the leader and retried with the same request id on
//! every failure that is not the client's business.

use common::wire::{Health, LeaderNotice};
use common::{Error, Result};
use protocol::{Action, Reply, Request};
use std::collections::BTreeSet;

use crate::actors::{is_final, FrontCall, Origin, Poll, Purpose, Site};
use crate::events::Event;
use crate::world::{World, CALL_TIMEOUT, HEALTH_TIMEOUT, PROPOSE_TIMEOUT};

/// First and longest pause between retries of one call.
const FIRST_BACKOFF: u64 = 2;
const MAX_BACKOFF: u64 = 25;

impl World {
    pub(crate) fn tick_frontend(&mut self, f: usize) {
        let now = self.now;
        let rate = self.frontends[f].tick_rate;
        let mut actions = Vec::new();
        if self.rng.chance(rate) {
            actions = self.frontends[f].elector.tick();
        }
        let front = &mut self.frontends[f];
        if front.poll.as_ref().is_some_and(|p| p.deadline <= now) {
            let poll = front.poll.take().expect("checked");
            actions.extend(front.elector.on_health(&poll.answers));
        }
        if let Some((candidate, epoch, deadline)) = front.proposal_deadline_of() {
            if deadline <= now {
                front.proposal_deadline = None;
                front
                    .purposes
                    .retain(|_, p| !matches!(p, Purpose::Propose(..)));
                front.elector.on_proposed(
                    candidate,
                    epoch,
                    Err(Error::Unavailable("proposal timed out".into())),
                );
            }
        }
        self.run_actions(f, actions);
        // Order calls: time out attempts, send the due ones to the leader.
        let front = &mut self.frontends[f];
        let mut sends = Vec::new();
        for (key, call) in front.calls.iter_mut() {
            if let Some((_, leader, epoch, deadline)) = call.attempt {
                if deadline <= now {
                    call.attempt = None;
                    front.elector.on_call_failed(leader, epoch, false);
                    call.retry_at = now + call.backoff;
                    call.backoff = (call.backoff * 2).min(MAX_BACKOFF);
                }
            }
            if call.attempt.is_none() && call.retry_at <= now {
                if let Some((leader, epoch)) = front.elector.leader() {
                    front.next_call += 1;
                    let corr = front.next_call;
                    call.attempt = Some((corr, leader, epoch, now + CALL_TIMEOUT));
                    sends.push((corr, *key, leader, call.request.clone()));
                }
            }
        }
        let id = front.id;
        for (corr, key, leader, request) in sends {
            self.trace("call sent", id as u64, leader as u64);
            self.frontends[f].purposes.insert(corr, Purpose::Call(key));
            let event = Event::ToReplica {
                to: leader,
                origin: Origin::Frontend(id),
                corr,
                request,
            };
            self.send(Site::Frontend(id), Site::Replica(leader), event, true);
        }
    }

    fn run_actions(&mut self, f: usize, actions: Vec<Action>) {
        let id = self.frontends[f].id;
        for action in actions {
            let mut sends = Vec::new();
            let front = &mut self.frontends[f];
            match action {
                Action::PollHealth => {
                    let replicas: Vec<_> = front.elector.replicas().to_vec();
                    front.poll = Some(Poll {
                        answers: Vec::new(),
                        waiting: replicas.iter().copied().collect::<BTreeSet<_>>(),
                        deadline: self.now + HEALTH_TIMEOUT,
                    });
                    for r in replicas {
                        front.next_call += 1;
                        front.purposes.insert(front.next_call, Purpose::Poll(r));
                        sends.push((front.next_call, r, Request::Health));
                    }
                }
                Action::Propose { candidate, epoch } => {
                    front.next_call += 1;
                    front
                        .purposes
                        .insert(front.next_call, Purpose::Propose(candidate, epoch));
                    front.proposal_deadline = Some(self.now + PROPOSE_TIMEOUT);
                    let notice = LeaderNotice {
                        id: candidate,
                        epoch,
                    };
                    sends.push((front.next_call, candidate, Request::Leader(notice)));
                    self.trace("propose", candidate as u64, epoch);
                }
            }
            for (corr, to, request) in sends {
                let event = Event::ToReplica {
                    to,
                    origin: Origin::Frontend(id),
                    corr,
                    request,
                };
                self.send(Site::Frontend(id), Site::Replica(to), event, true);
            }
        }
    }

    /// A client's request arrives.
    pub(crate) fn frontend_call(&mut self, to: u32, client: usize, corr: u64, request: Request) {
        let front = &mut self.frontends[to as usize - 1];
        front.next_call += 1;
        let key = front.next_call;
        front.calls.insert(
            key,
            FrontCall {
                client,
                client_corr: corr,
                request,
                attempt: None,
                retry_at: self.now,
                backoff: FIRST_BACKOFF,
                healthy_wait: 0,
            },
        );
    }

    /// A replica's answer to one of this frontend's requests.
    pub(crate) fn frontend_reply(&mut self, to: u32, corr: u64, answer: Result<Reply>) {
        let f = to as usize - 1;
        let now = self.now;
        let front = &mut self.frontends[f];
        let Some(purpose) = front.purposes.remove(&corr) else {
            return;
        };
        match purpose {
            Purpose::Poll(replica) => {
                let Some(poll) = front.poll.as_mut() else {
                    return;
                };
                if !poll.waiting.remove(&replica) {
                    return;
                }
                if let Ok(Reply::Health(health)) = answer {
                    poll.answers.push((replica, health));
                }
                if poll.waiting.is_empty() {
                    let poll = front.poll.take().expect("checked");
                    let actions = front.elector.on_health(&poll.answers);
                    let leader = front.elector.leader().map_or(0, |l| l.0 as u64);
                    self.trace("poll done", to as u64, leader);
                    self.run_actions(f, actions);
                }
            }
            Purpose::Propose(candidate, epoch) => {
                front.proposal_deadline = None;
                let health: Result<Health> = match answer {
                    Ok(Reply::Health(h)) => Ok(h),
                    Ok(other) => Err(Error::Internal(format!("unexpected answer {other:?}"))),
                    Err(e) => Err(e),
                };
                front.elector.on_proposed(candidate, epoch, health);
                if let Some((leader, epoch)) = front.elector.leader() {
                    self.trace("frontend follows", leader as u64, epoch);
                }
            }
            Purpose::Call(key) => {
                let Some(call) = front.calls.get_mut(&key) else {
                    return;
                };
                let Some((attempt, leader, epoch, _)) = call.attempt else {
                    return;
                };
                if attempt != corr {
                    return;
                }
                call.attempt = None;
                if is_final(&answer) {
                    let call = front.calls.remove(&key).expect("present");
                    let event = Event::FrontendToClient {
                        client: call.client,
                        corr: call.client_corr,
                        answer,
                    };
                    self.schedule(1, None, event);
                    return;
                }
                let code = answer.as_ref().err().map_or(0, |e| e.status() as u64);
                self.trace("call failed", to as u64, code);
                let front = &mut self.frontends[f];
                let Some(call) = front.calls.get_mut(&key) else {
                    return;
                };
                let definite = matches!(
                    answer,
                    Err(Error::NotLeader { .. }
                        | Error::StaleEpoch { .. }
                        | Error::EpochTaken { .. })
                );
                front.elector.on_call_failed(leader, epoch, definite);
                call.retry_at = now + call.backoff;
                call.backoff = (call.backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

impl crate::actors::SimFrontend {
    /// The proposal out now: candidate, epoch, deadline.
    fn proposal_deadline_of(&self) -> Option<(common::ReplicaId, common::Epoch, u64)> {
        let deadline = self.proposal_deadline?;
        self.purposes.values().find_map(|p| match p {
            Purpose::Propose(c, e) => Some((*c, *e, deadline)),
            _ => None,
        })
    }
}
