//! One election round: ask every order replica how it is, pick the ready one with the highest id,
//! fence the others with the new epoch, then hand the candidate the lead.
//!
//! The decision (who may lead, at which epoch) is the plain function [`plan`]; [`elect`] does the
//! network calls around it. Single-flight and failover live in `leader.rs`.

use common::http::Peer;
use common::wire::{Health, LeaderNotice, Role};
use common::{Epoch, Error, FrontendId, ReplicaId, Result};
use log::{info, warn};
use std::time::Duration;

/// How long a replica may take to answer a health check before it counts as down.
pub(crate) const HEALTH_TIMEOUT: Duration = Duration::from_millis(300);
/// How long a fencing notice to a non-candidate may take (failures are ignored).
pub(crate) const FENCE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the candidate may take to answer its notice: it pulls from its peers first.
pub(crate) const TAKEOVER_TIMEOUT: Duration = Duration::from_secs(5);

/// One order replica: its configured id and a client for its internal API.
#[derive(Clone, Debug)]
pub(crate) struct Replica {
    pub id: ReplicaId,
    pub peer: Peer,
}

/// What an election round decided before it talks to anyone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Plan {
    /// Ready replicas, best (highest id) first.
    pub candidates: Vec<ReplicaId>,
    /// Replicas that answered the health check.
    pub answering: Vec<ReplicaId>,
    /// Epoch for the first candidate; each later candidate gets a higher one.
    pub epoch: Epoch,
}

/// Decides an election from the health answers (`(configured id, health)`).
///
/// The epoch is above every epoch any answering replica has seen and above the last one this
/// frontend used, so a notice can never be mistaken for an old one.
///
/// # Errors
/// `Unavailable` when fewer than `majority` replicas answer, or none of them is ready.
pub(crate) fn plan(
    answers: &[(ReplicaId, Health)],
    majority: usize,
    last_epoch: Epoch,
) -> Result<Plan> {
    if answers.len() < majority {
        return Err(Error::Unavailable(
            "fewer than a majority of order replicas are up".into(),
        ));
    }
    let mut candidates: Vec<ReplicaId> = answers
        .iter()
        .filter(|(_, h)| h.ready)
        .map(|(id, _)| *id)
        .collect();
    candidates.sort_unstable_by(|a, b| b.cmp(a));
    if candidates.is_empty() {
        return Err(Error::Unavailable(
            "no order replica is ready to lead".into(),
        ));
    }
    let seen = answers.iter().map(|(_, h)| h.epoch).max().unwrap_or(0);
    Ok(Plan {
        candidates,
        answering: answers.iter().map(|(id, _)| *id).collect(),
        epoch: seen.max(last_epoch) + 1,
    })
}

/// Whether `health` says its replica leads `epoch` as `id`, ready to take orders.
pub(crate) fn leads(health: &Health, id: ReplicaId, epoch: Epoch) -> bool {
    health.id == id && health.epoch == epoch && health.role == Role::Leader && health.ready
}

/// Asks every replica for its health at once; the ones that answer in time.
pub(crate) async fn poll_health(replicas: &[Replica]) -> Vec<(ReplicaId, Health)> {
    let asks: Vec<_> = replicas
        .iter()
        .map(|r| {
            let replica = r.clone();
            tokio::spawn(async move {
                let health = replica
                    .peer
                    .get::<Health>("/internal/health", HEALTH_TIMEOUT)
                    .await;
                (replica.id, health)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for ask in asks {
        match ask.await {
            Ok((id, Ok(health))) if health.id == id => answers.push((id, health)),
            Ok((id, Ok(health))) => {
                warn!(
                    "replica {id} reports id {}: check the cluster file; ignoring it",
                    health.id
                )
            }
            Ok((id, Err(e))) => log::debug!("replica {id} did not answer its health check: {e}"),
            Err(e) => warn!("health check task failed: {e}"),
        }
    }
    answers
}

/// Runs one election round. `last_epoch` is the highest epoch this frontend has used; it is
/// raised for every notice sent, even a failed one, since some replica may have recorded it.
///
/// # Errors
/// `Unavailable` when there is no majority, no ready replica, or no candidate took the lead.
pub(crate) async fn elect(
    frontend: FrontendId,
    replicas: &[Replica],
    majority: usize,
    last_epoch: &mut Epoch,
) -> Result<(ReplicaId, Epoch)> {
    let answers = poll_health(replicas).await;
    let summary: Vec<String> = answers
        .iter()
        .map(|(id, h)| format!("{id}: epoch {} {:?} ready={}", h.epoch, h.role, h.ready))
        .collect();
    let heard = format!(
        "{} of {} replicas answer [{}]",
        answers.len(),
        replicas.len(),
        summary.join(", ")
    );
    let plan = match plan(&answers, majority, *last_epoch) {
        Ok(plan) => plan,
        Err(e) => {
            // The caller logs the failure; while replicas are down this repeats every period.
            log::debug!("frontend {frontend}: no election: {heard}");
            return Err(e);
        }
    };
    info!("frontend {frontend}: electing an order leader; {heard}");
    let mut epoch = plan.epoch;
    for &candidate in &plan.candidates {
        *last_epoch = epoch;
        let notice = LeaderNotice {
            id: candidate,
            epoch,
        };
        info!("frontend {frontend}: proposing replica {candidate} for epoch {epoch}");
        // Fence first: once the others know the new epoch, an old leader can no longer get a
        // majority for an append, so it cannot commit behind the new leader's back.
        let others = replicas
            .iter()
            .filter(|r| r.id != candidate && plan.answering.contains(&r.id));
        notify_all(others, &notice).await;
        let Some(replica) = replicas.iter().find(|r| r.id == candidate) else {
            continue; // Unreachable: candidates come from the replicas list.
        };
        match replica
            .peer
            .post::<_, Health>("/internal/leader", &notice, TAKEOVER_TIMEOUT)
            .await
        {
            Ok(health) if leads(&health, candidate, epoch) => return Ok((candidate, epoch)),
            Ok(health) => warn!(
                "frontend {frontend}: replica {candidate} accepted epoch {epoch} but reports \
                 epoch {} {:?} ready={}",
                health.epoch, health.role, health.ready
            ),
            Err(Error::StaleEpoch { got, current }) => {
                warn!("frontend {frontend}: replica {candidate} refused epoch {got}: it is at {current}");
                epoch = epoch.max(current);
            }
            Err(e) => {
                warn!("frontend {frontend}: replica {candidate} did not take epoch {epoch}: {e}")
            }
        }
        epoch += 1;
    }
    Err(Error::Unavailable(
        "no order replica could take the lead".into(),
    ))
}

/// Sends `notice` to each replica at once; waits for all, ignores failures (a replica that
/// missed it learns the epoch from the leader's appends).
async fn notify_all<'a>(replicas: impl Iterator<Item = &'a Replica>, notice: &LeaderNotice) {
    let sends: Vec<_> = replicas
        .map(|r| {
            let (replica, notice) = (r.clone(), notice.clone());
            tokio::spawn(async move {
                let sent = replica
                    .peer
                    .post::<_, Health>("/internal/leader", &notice, FENCE_TIMEOUT)
                    .await;
                if let Err(e) = sent {
                    log::debug!("replica {} did not take notice {notice:?}: {e}", replica.id);
                }
            })
        })
        .collect();
    for send in sends {
        let _ = send.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn health(id: ReplicaId, epoch: Epoch, ready: bool) -> (ReplicaId, Health) {
        let role = Role::Follower;
        (
            id,
            Health {
                id,
                epoch,
                role,
                leader: None,
                last: None,
                commit: None,
                ready,
            },
        )
    }

    #[test]
    fn needs_a_majority() {
        let err = plan(&[health(3, 4, true)], 2, 0).unwrap_err();
        assert_eq!(
            err,
            Error::Unavailable("fewer than a majority of order replicas are up".into())
        );
        assert!(plan(&[], 2, 0).is_err());
    }

    #[test]
    fn highest_ready_id_first_at_a_fresh_epoch() {
        let answers = [health(1, 2, true), health(3, 5, false), health(2, 4, true)];
        let plan = plan(&answers, 2, 0).unwrap();
        assert_eq!(plan.candidates, vec![2, 1], "3 is not ready");
        assert_eq!(plan.answering, vec![1, 3, 2]);
        assert_eq!(plan.epoch, 6, "above every reported epoch");
    }

    #[test]
    fn epoch_is_above_the_last_one_this_frontend_used() {
        let answers = [health(1, 2, true), health(2, 2, true)];
        assert_eq!(plan(&answers, 2, 9).unwrap().epoch, 10);
    }

    #[test]
    fn no_ready_replica_means_unavailable() {
        let answers = [health(1, 2, false), health(2, 2, false)];
        assert!(matches!(plan(&answers, 2, 0), Err(Error::Unavailable(_))));
    }

    #[test]
    fn leads_only_as_ready_leader_of_that_epoch() {
        let (_, mut h) = health(3, 7, true);
        assert!(!leads(&h, 3, 7), "a follower does not lead");
        h.role = Role::Leader;
        assert!(leads(&h, 3, 7));
        assert!(!leads(&h, 3, 8), "another epoch");
        assert!(!leads(&h, 2, 7), "another replica");
        h.ready = false;
        assert!(!leads(&h, 3, 7), "not ready");
    }
}
