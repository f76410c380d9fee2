//! One order replica: its state, and the handlers of its internal API. Leading (group commit,
//! follower loops) lives in `replication.rs`; reading peers (takeover, restart catch-up) in
//! `catchup.rs`; the rules themselves in `protocol.rs`.

use common::http::Peer;
use common::wire::{
    AppendReply, AppendRequest, Health, LeaderNotice, LogPage, LogQuery, Role, MAX_LOG_PAGE,
};
use common::{
    last_of, len_after, ClusterConfig, Epoch, Error, OrderEntry, OrderNumber, ReplicaId, Result,
    Shutdown,
};
use log::{error, info, warn};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::log::{OrderLog, Position, META_COMMIT_LEN, META_EPOCH, META_LOG_EPOCH};
use crate::protocol::{drops_past_leader_end, follower_accepts, LogSummary};
use crate::replication::Leadership;

/// What a replica knows about itself. Guarded by a std mutex that is never held across an await.
pub(crate) struct State {
    /// Highest epoch seen (persisted).
    pub epoch: Epoch,
    /// Leader of `epoch`, when known.
    pub leader: Option<ReplicaId>,
    pub role: Role,
    /// Caught up after start.
    pub ready: bool,
    /// Epoch of the leader whose log ours copies (persisted).
    pub log_epoch: Epoch,
    /// Log length: entries `0..len` exist.
    pub len: u64,
    /// Entries `0..commit_len` are committed.
    pub commit_len: u64,
    /// Entries `0..synced_len` are known equal to this epoch's leader's.
    pub synced_len: u64,
    /// Set while this replica leads `epoch`; dropping it stops the leader's tasks.
    pub leading: Option<Leadership>,
}

impl State {
    pub fn summary(&self) -> LogSummary {
        LogSummary {
            log_epoch: self.log_epoch,
            len: self.len,
        }
    }

    /// Moves to a newer epoch led by `leader`: any leadership of ours ends, and nothing past our
    /// commit index is known to match the new leader yet.
    fn begin_epoch(&mut self, epoch: Epoch, leader: Option<ReplicaId>) {
        assert!(
            epoch > self.epoch,
            "epoch must grow: {} -> {epoch}",
            self.epoch
        );
        if self.leading.take().is_some() {
            info!("stepping down: epoch {epoch} supersedes {}", self.epoch);
        }
        self.epoch = epoch;
        self.leader = leader;
        self.synced_len = self.commit_len;
        if self.role != Role::Recovering {
            self.role = Role::Follower;
        }
    }
}

/// One order replica.
pub(crate) struct Replica {
    pub id: ReplicaId,
    pub config: ClusterConfig,
    pub log: OrderLog,
    state: Mutex<State>,
    /// Serializes writes to the log and their flushes (group-commit batches, appends, catch-up).
    pub write_lock: tokio::sync::Mutex<()>,
    /// At most one takeover at a time.
    pub takeover_lock: tokio::sync::Mutex<()>,
    /// The other replicas.
    pub peers: Vec<(ReplicaId, Peer)>,
    pub catalog: Peer,
    pub shutdown: Shutdown,
    /// Crash points armed by a test (`TOYSTORE_FAULT`); inert otherwise.
    pub faults: common::faults::Faults,
}

impl Replica {
    /// A replica over an opened log.
    pub fn new(
        config: ClusterConfig,
        id: ReplicaId,
        log: OrderLog,
        shutdown: Shutdown,
    ) -> Result<Replica> {
        let Position {
            epoch,
            log_epoch,
            len,
            commit_len,
        } = log.position()?;
        let http = Peer::http_client();
        let peers = config
            .replicas
            .iter()
            .filter(|r| r.id != id)
            .map(|r| (r.id, Peer::new(http.clone(), r.internal, &config.token)))
            .collect();
        let catalog = Peer::new(http, config.catalog.internal, &config.token);
        info!("replica {id} opened its log: {len} entries, commit {commit_len}, epoch {epoch}, log epoch {log_epoch}");
        Ok(Replica {
            id,
            state: Mutex::new(State {
                epoch,
                leader: None,
                role: Role::Recovering,
                ready: false,
                log_epoch,
                len,
                commit_len,
                synced_len: commit_len,
                leading: None,
            }),
            log,
            write_lock: tokio::sync::Mutex::new(()),
            takeover_lock: tokio::sync::Mutex::new(()),
            peers,
            catalog,
            config,
            shutdown,
            faults: common::faults::Faults::from_env(),
        })
    }

    pub fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .expect("a panic while holding the replica state is already fatal")
    }

    /// A local storage failure: stop serving rather than risk answering from a log that may differ
    /// from what is on disk. A restart recovers from the last flush.
    pub fn fail_stop(&self, what: &str, e: &Error) -> ! {
        error!(
            "replica {}: {what} failed: {e}; stopping so that nothing unflushed is served",
            self.id
        );
        std::process::exit(70);
    }

    /// `GET /internal/health`.
    pub fn health(&self) -> Health {
        let s = self.state();
        Health {
            id: self.id,
            epoch: s.epoch,
            role: s.role,
            leader: s.leader,
            last: last_of(s.len),
            commit: last_of(s.commit_len),
            ready: s.ready,
        }
    }

    /// Adopts `epoch` (led by `leader`) if it is newer, durably, so a crash cannot forget it and
    /// let an older leader back in. Takes the write lock: an append of an older epoch that is
    /// being written finishes first, so whoever fences us afterwards sees its entries.
    ///
    /// # Errors
    /// [`Error::StaleEpoch`] when `epoch` is older than ours; storage failures.
    pub async fn observe_epoch(&self, epoch: Epoch, leader: Option<ReplicaId>) -> Result<()> {
        let _writing = self.write_lock.lock().await;
        if self.enter_epoch(epoch, leader)? {
            self.log.flush().await?;
        }
        Ok(())
    }

    /// [`Self::observe_epoch`] for a caller that holds the write lock and flushes afterwards.
    /// Returns whether the epoch changed.
    fn enter_epoch(&self, epoch: Epoch, leader: Option<ReplicaId>) -> Result<bool> {
        let mut s = self.state();
        if epoch < s.epoch {
            return Err(Error::StaleEpoch {
                got: epoch,
                current: s.epoch,
            });
        }
        if epoch == s.epoch {
            if s.leader.is_none() {
                s.leader = leader;
            }
            return Ok(false);
        }
        info!(
            "replica {}: entering epoch {epoch} (leader {leader:?})",
            self.id
        );
        s.begin_epoch(epoch, leader);
        self.log.raise_meta(META_EPOCH, epoch)?;
        Ok(true)
    }

    /// `POST /internal/leader`: a follower records the new epoch; the named replica takes over
    /// (see `catchup::take_over`) and answers once it can serve.
    pub async fn on_leader_notice(self: &Arc<Self>, notice: LeaderNotice) -> Result<Health> {
        self.observe_epoch(notice.epoch, Some(notice.id)).await?;
        if notice.id == self.id {
            crate::catchup::take_over(self, notice.epoch).await?;
        }
        Ok(self.health())
    }

    /// `GET /internal/log`: a range scan, fencing the reader's epoch first when it gives one.
    pub async fn log_page(&self, query: LogQuery) -> Result<LogPage> {
        // Fencing and reading under the write lock: no write can slip between them.
        let _writing = match query.epoch {
            Some(epoch) => {
                let guard = self.write_lock.lock().await;
                if self.enter_epoch(epoch, query.leader)? {
                    self.log.flush().await?;
                }
                Some(guard)
            }
            None => None,
        };
        let (epoch, log_epoch, len, commit_len) = {
            let s = self.state();
            (s.epoch, s.log_epoch, s.len, s.commit_len)
        };
        let limit = query.limit.min(MAX_LOG_PAGE);
        let to = len.min(query.from.saturating_add(limit as u64));
        let entries = if query.from < to {
            self.log.slice(query.from, to)?
        } else {
            Vec::new()
        };
        Ok(LogPage {
            entries,
            epoch,
            log_epoch,
            last: last_of(len),
            commit: last_of(commit_len),
        })
    }

    /// `GET /internal/orders/{n}`: a committed order, from the leader only.
    pub fn order(&self, number: OrderNumber) -> Result<OrderEntry> {
        let commit_len = {
            let s = self.state();
            if s.leading.is_none() {
                return Err(Error::NotLeader { leader: s.leader });
            }
            s.commit_len
        };
        if number >= commit_len {
            return Err(Error::NotFound("order not found".into()));
        }
        self.log.get(number)?.ok_or_else(|| {
            Error::Internal(format!("committed order {number} is missing from the log"))
        })
    }

    /// `POST /internal/append`: take the leader's suffix if we hold everything before it.
    pub async fn append(&self, request: AppendRequest) -> Result<AppendReply> {
        let from = len_after(request.prev);
        let leader_len = len_after(request.last);
        if from + request.entries.len() as u64 != leader_len {
            return Err(Error::BadRequest(format!(
                "append must carry the leader's whole suffix: {} entries from {from} do not reach {leader_len}",
                request.entries.len()
            )));
        }
        if let Some(bad) = request
            .entries
            .iter()
            .enumerate()
            .find(|(i, e)| e.number != from + *i as u64 || e.epoch > request.epoch)
        {
            return Err(Error::BadRequest(format!(
                "append entry out of place: {:?}",
                bad.1
            )));
        }
        let _writing = self.write_lock.lock().await;
        if self.enter_epoch(request.epoch, Some(request.leader))? {
            self.log.flush().await?;
        }
        let commit_len = {
            let s = self.state();
            if s.leading.is_some() {
                return Err(Error::Internal(format!(
                    "replica {} leads epoch {} but got an append from {}",
                    self.id, s.epoch, request.leader
                )));
            }
            if !follower_accepts(from, s.synced_len) {
                warn!(
                    "replica {}: gap: append from {from} but synced only to {}; asking the leader to resend",
                    self.id, s.synced_len
                );
                return Ok(AppendReply {
                    ok: false,
                    synced: last_of(s.synced_len),
                });
            }
            s.commit_len
        };
        let epoch = request.epoch;
        let new_len = self
            .log
            .write(from, &request.entries, commit_len, |e| {
                drops_past_leader_end(epoch, leader_len, e.number, e.epoch)
            })
            .unwrap_or_else(|e| self.fail_stop("append write", &e));
        self.faults.hit("follower-mid-append");
        let new_commit = len_after(request.commit).min(leader_len).max(commit_len);
        let meta = self
            .log
            .raise_meta(META_LOG_EPOCH, epoch)
            .and_then(|()| self.log.raise_meta(META_COMMIT_LEN, new_commit));
        if let Err(e) = meta {
            self.fail_stop("append meta", &e);
        }
        if let Err(e) = self.log.flush().await {
            self.fail_stop("append flush", &e);
        }
        let mut s = self.state();
        s.len = new_len;
        s.log_epoch = s.log_epoch.max(epoch);
        s.synced_len = s.synced_len.max(leader_len);
        s.commit_len = s.commit_len.max(new_commit);
        Ok(AppendReply {
            ok: true,
            synced: last_of(s.synced_len),
        })
    }
}
