//! Reading peers' logs: the takeover of a new leader, and the catch-up of a restarted replica.
//! Both range-scan the peers from the local commit index and adopt the best log
//! (`protocol::best_log`); a takeover also fences each peer at its epoch while reading.

use common::wire::{LogPage, LogQuery, Role, MAX_LOG_PAGE};
use common::{len_after, Epoch, Error, OrderEntry, ReplicaId, Result};
use futures_util::future::join_all;
use log::{info, warn};
use std::sync::Arc;
use std::time::Duration;

use crate::log::{META_COMMIT_LEN, META_LOG_EPOCH};
use crate::protocol::{best_log, LogSummary};
use crate::replica::Replica;
use crate::replication::Leadership;

/// Time one page of a range scan may take.
pub const PAGE_TIMEOUT: Duration = Duration::from_secs(3);
/// Pause between catch-up attempts of a restarted replica that reached peers but failed midway.
pub const CATCH_UP_RETRY: Duration = Duration::from_millis(300);
/// Attempts before a restarted replica gives up catching up and serves what it has.
pub const CATCH_UP_ATTEMPTS: usize = 20;

/// The best log found among the peers, read in full past `from`.
struct Pulled {
    peer: ReplicaId,
    summary: LogSummary,
    commit_len: u64,
    entries: Vec<OrderEntry>,
}

/// What reading the peers found.
struct PullOutcome {
    /// Peers that answered.
    reached: usize,
    /// The highest commit length any of them reported: entries below it are committed.
    commit_len: u64,
    /// The best log, when a peer holds a strictly better one than ours.
    best: Option<Pulled>,
}

/// Reads every peer's log past `from` (fencing them at `fence` when given).
async fn pull_best(
    replica: &Replica,
    from: u64,
    mine: LogSummary,
    fence: Option<Epoch>,
) -> Result<PullOutcome> {
    let query = |from: u64| LogQuery {
        from,
        limit: MAX_LOG_PAGE,
        epoch: fence,
        leader: fence.map(|_| replica.id),
    };
    let first_pages = join_all(replica.peers.iter().map(|(id, peer)| {
        let path = page_path(&query(from));
        async move { (*id, peer.get::<LogPage>(&path, PAGE_TIMEOUT).await) }
    }))
    .await;
    let mut answered = Vec::new();
    for (id, page) in first_pages {
        match page {
            Ok(page) => answered.push((id, page)),
            Err(Error::StaleEpoch { got, current }) => {
                return Err(Error::StaleEpoch { got, current });
            }
            Err(e) => info!("replica {}: peer {id} not read: {e}", replica.id),
        }
    }
    let mut summaries = vec![mine];
    summaries.extend(answered.iter().map(|(_, p)| LogSummary {
        log_epoch: p.log_epoch,
        len: len_after(p.last),
    }));
    let best = best_log(&summaries).expect("the list holds at least our own log");
    let commit_len = answered
        .iter()
        .map(|(_, p)| len_after(p.commit))
        .max()
        .unwrap_or(0);
    if best == 0 {
        return Ok(PullOutcome {
            reached: answered.len(),
            commit_len,
            best: None,
        });
    }
    let (peer_id, first) = answered.swap_remove(best - 1);
    let summary = summaries[best];
    let peer = &replica
        .peers
        .iter()
        .find(|(id, _)| *id == peer_id)
        .expect("answered peers are known")
        .1;
    let mut entries = first.entries;
    while from + (entries.len() as u64) < summary.len {
        let page: LogPage = peer
            .get(
                &page_path(&query(from + entries.len() as u64)),
                PAGE_TIMEOUT,
            )
            .await?;
        if page.log_epoch != summary.log_epoch || page.entries.is_empty() {
            return Err(Error::Unavailable(format!(
                "peer {peer_id}'s log changed while being read (log epoch {} -> {})",
                summary.log_epoch, page.log_epoch
            )));
        }
        entries.extend(page.entries);
    }
    entries.truncate((summary.len - from) as usize);
    Ok(PullOutcome {
        reached: answered.len() + 1,
        commit_len,
        best: Some(Pulled {
            peer: peer_id,
            summary,
            commit_len: len_after(first.commit),
            entries,
        }),
    })
}

fn page_path(query: &LogQuery) -> String {
    let mut path = format!("/internal/log?from={}&limit={}", query.from, query.limit);
    if let (Some(epoch), Some(leader)) = (query.epoch, query.leader) {
        path.push_str(&format!("&epoch={epoch}&leader={leader}"));
    }
    path
}

/// Makes this replica the leader of `epoch`: fence and read a majority, adopt the best log past
/// our commit index, flush, then start leading. Only then does `place` work.
///
/// # Errors
/// Not ready, a newer epoch seen meanwhile, or fewer than a majority reachable.
pub(crate) async fn take_over(replica: &Arc<Replica>, epoch: Epoch) -> Result<()> {
    let _one_at_a_time = replica.takeover_lock.lock().await;
    let (from, mine) = {
        let s = replica.state();
        if s.epoch != epoch {
            return Err(Error::StaleEpoch {
                got: epoch,
                current: s.epoch,
            });
        }
        if s.leading.is_some() {
            return Ok(());
        }
        if !s.ready {
            return Err(Error::NotLeader { leader: s.leader });
        }
        (s.commit_len, s.summary())
    };
    let PullOutcome {
        reached,
        commit_len: peers_commit,
        best: pulled,
    } = pull_best(replica, from, mine, Some(epoch)).await?;
    let majority = replica.config.majority();
    if reached + 1 < majority {
        warn!(
            "replica {}: cannot lead epoch {epoch}: reached {reached} peers, a majority needs {}",
            replica.id,
            majority - 1
        );
        return Err(Error::Unavailable(format!(
            "replica {} reached {} of the {} replicas it needs to lead",
            replica.id,
            reached + 1,
            majority
        )));
    }
    let _writing = replica.write_lock.lock().await;
    let (len, commit_len) = {
        let s = replica.state();
        if s.epoch != epoch {
            return Err(Error::StaleEpoch {
                got: epoch,
                current: s.epoch,
            });
        }
        (s.len, s.commit_len)
    };
    let (suffix, source) = match pulled {
        Some(p) => (
            p.entries,
            format!(
                "replica {} (log epoch {}, {} entries)",
                p.peer, p.summary.log_epoch, p.summary.len
            ),
        ),
        None => (replica.log.slice(from, len)?, "its own log".to_string()),
    };
    // Entries keep the epoch of the leader that wrote them: a log's standing is its `log_epoch`,
    // not its entries' stamps, so an adopted entry needs no new stamp (see protocol.rs).
    let new_commit = commit_len.max(peers_commit).min(from + suffix.len() as u64);
    let new_len = replica.log.write(from, &suffix, commit_len, |_| true)?;
    replica.log.raise_meta(META_LOG_EPOCH, epoch)?;
    replica.log.raise_meta(META_COMMIT_LEN, new_commit)?;
    replica.log.flush().await?;
    let mut s = replica.state();
    if s.epoch != epoch {
        return Err(Error::StaleEpoch {
            got: epoch,
            current: s.epoch,
        });
    }
    s.len = new_len;
    s.log_epoch = epoch;
    s.commit_len = new_commit;
    s.synced_len = new_len;
    s.role = Role::Leader;
    s.leader = Some(replica.id);
    s.leading = Some(Leadership::start(replica, epoch, new_len, new_commit));
    info!(
        "replica {} leads epoch {epoch}: adopted {} entries from {from} of {source}; log length {new_len}, commit {new_commit}",
        replica.id,
        suffix.len()
    );
    Ok(())
}

/// Catch-up after a start: pull the best log past our commit index from the peers, adopt it if it
/// beats ours, then report ready. A replica that reaches no peer has nothing to learn and is ready.
pub(crate) async fn recover(replica: Arc<Replica>) {
    for attempt in 1..=CATCH_UP_ATTEMPTS {
        if replica.shutdown.is_down() {
            return;
        }
        match catch_up_once(&replica).await {
            Ok(()) => break,
            Err(e) if attempt < CATCH_UP_ATTEMPTS => {
                warn!(
                    "replica {}: catch-up attempt {attempt} failed: {e}; retrying",
                    replica.id
                );
                tokio::time::sleep(CATCH_UP_RETRY).await;
            }
            Err(e) => warn!(
                "replica {}: catch-up failed {attempt} times ({e}); serving what it has",
                replica.id
            ),
        }
    }
    let mut s = replica.state();
    s.ready = true;
    if s.role == Role::Recovering {
        s.role = Role::Follower;
    }
    info!(
        "replica {} ready: log length {}, commit {}, epoch {}",
        replica.id, s.len, s.commit_len, s.epoch
    );
}

async fn catch_up_once(replica: &Replica) -> Result<()> {
    let (from, mine) = {
        let s = replica.state();
        (s.commit_len, s.summary())
    };
    let PullOutcome {
        reached,
        best: pulled,
        ..
    } = pull_best(replica, from, mine, None).await?;
    let Some(pulled) = pulled else {
        info!(
            "replica {}: catch-up from {from}: reached {reached} peers, none ahead",
            replica.id
        );
        return Ok(());
    };
    let _writing = replica.write_lock.lock().await;
    let (commit_len, now) = {
        let s = replica.state();
        (s.commit_len, s.summary())
    };
    if (now.log_epoch, now.len) >= (pulled.summary.log_epoch, pulled.summary.len)
        || commit_len != from
    {
        // An append arrived while we read: the leader is feeding us already.
        return Ok(());
    }
    let new_len = replica
        .log
        .write(from, &pulled.entries, commit_len, |_| true)?;
    let new_commit = commit_len.max(pulled.commit_len.min(new_len));
    replica
        .log
        .raise_meta(META_LOG_EPOCH, pulled.summary.log_epoch)?;
    replica.log.raise_meta(META_COMMIT_LEN, new_commit)?;
    replica.log.flush().await?;
    let mut s = replica.state();
    s.len = new_len;
    s.log_epoch = s.log_epoch.max(pulled.summary.log_epoch);
    s.commit_len = s.commit_len.max(new_commit);
    info!(
        "replica {}: caught up {} entries from {from} off replica {} (log epoch {}); log length {new_len}, commit {new_commit}",
        replica.id,
        pulled.entries.len(),
        pulled.peer,
        pulled.summary.log_epoch
    );
    Ok(())
}
