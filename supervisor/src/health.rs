//! Asking the services of a [`LocalCluster`] how they are: readiness, a replica's health and
//! log, the current leader and the highest epoch, and whether every frontend serves orders.

use common::http::Peer;
use common::wire::{Health, LogPage, Role, MAX_LOG_PAGE, TOKEN_HEADER};
use common::{Epoch, OrderEntry, ReplicaId};
use std::time::{Duration, Instant};

use crate::cluster::{LocalCluster, Service};
use crate::error::SupervisorError;

/// Time one page of a replica's log may take to read (10,000 entries in a debug build).
const LOG_PAGE_TIMEOUT: Duration = Duration::from_secs(10);

impl LocalCluster {
    /// Health of a replica through its internal API, `None` when it does not answer.
    pub async fn replica_health(&self, id: ReplicaId) -> Option<Health> {
        let addr = self.config.replica(id).ok()?.internal;
        self.internal_get_json(&format!("http://{addr}/internal/health"))
            .await
    }

    /// A replica's whole log, read page by page through its internal range scan, and the last
    /// (empty) page, which carries the replica's epoch, log epoch and commit index.
    ///
    /// # Errors
    /// The replica cannot be reached, or answers with an error.
    pub async fn replica_log(
        &self,
        id: ReplicaId,
    ) -> Result<(LogPage, Vec<OrderEntry>), SupervisorError> {
        let addr = self.config.replica(id)?.internal;
        let peer = Peer::new(self.http.clone(), addr, &self.config.token);
        let mut entries = Vec::new();
        loop {
            let path = format!("/internal/log?from={}&limit={MAX_LOG_PAGE}", entries.len());
            let page: LogPage = peer
                .get(&path, LOG_PAGE_TIMEOUT)
                .await
                .map_err(|source| SupervisorError::ReplicaLog { id, source })?;
            if page.entries.is_empty() {
                return Ok((page, entries));
            }
            entries.extend(page.entries);
        }
    }

    async fn internal_get_json<T: serde::de::DeserializeOwned>(&self, url: &str) -> Option<T> {
        let response = self
            .http
            .get(url)
            .header(TOKEN_HEADER, &self.config.token)
            .timeout(Duration::from_secs(1))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        response.json().await.ok()
    }

    /// Whether a service answers as ready right now.
    pub async fn is_ready(&self, service: Service) -> bool {
        match service {
            Service::Catalog => {
                let url = format!("http://{}/internal/health", self.config.catalog.internal);
                self.internal_get_json::<serde_json::Value>(&url)
                    .await
                    .is_some()
            }
            Service::Replica(id) => self.replica_health(id).await.is_some_and(|h| h.ready),
            Service::Frontend(id) => match self.config.frontend(id) {
                Ok(f) => {
                    let url = format!("http://{}/health", f.public);
                    let answer = self
                        .http
                        .get(url)
                        .timeout(Duration::from_secs(1))
                        .send()
                        .await;
                    matches!(answer, Ok(r) if r.status().is_success())
                }
                Err(_) => false,
            },
        }
    }

    /// Waits until `service` is ready.
    ///
    /// # Errors
    /// Not ready within `timeout`, or the process exited meanwhile.
    pub async fn wait_ready(
        &self,
        service: Service,
        timeout: Duration,
    ) -> Result<(), SupervisorError> {
        let deadline = Instant::now() + timeout;
        while !self.is_ready(service).await {
            if Instant::now() > deadline {
                return Err(SupervisorError::NotReady {
                    service,
                    timeout,
                    hint: self.log_hint(service),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(())
    }

    /// Waits until every frontend of the cluster file has an order leader: an unknown order
    /// answers 404 there, not 503.
    ///
    /// # Errors
    /// A frontend that does not within `timeout`.
    pub async fn wait_orders_served(&self, timeout: Duration) -> Result<(), SupervisorError> {
        let deadline = Instant::now() + timeout;
        for frontend in &self.config.frontends {
            let url = format!("http://{}/orders/{}", frontend.public, u64::MAX);
            loop {
                let answer = self.http.get(&url).timeout(timeout).send().await;
                if matches!(answer, Ok(r) if r.status().as_u16() == 404) {
                    break;
                }
                if Instant::now() > deadline {
                    let service = Service::Frontend(frontend.id);
                    return Err(SupervisorError::NoOrders {
                        service,
                        timeout,
                        hint: self.log_hint(service),
                    });
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }

    /// The replica leading the highest epoch, as the replicas that answer report it.
    pub async fn leader(&self) -> Option<ReplicaId> {
        let mut best: Option<(Epoch, ReplicaId)> = None;
        for replica in &self.config.replicas {
            if let Some(health) = self.replica_health(replica.id).await {
                if health.role == Role::Leader && best.is_none_or(|(epoch, _)| health.epoch > epoch)
                {
                    best = Some((health.epoch, health.id));
                }
            }
        }
        best.map(|(_, id)| id)
    }

    /// The highest epoch any replica that answers has seen, `None` when none answers. Each
    /// election takes at least one new epoch, so its growth over a run counts elections (and
    /// elections fighting each other).
    pub async fn max_epoch(&self) -> Option<Epoch> {
        let mut max = None;
        for replica in &self.config.replicas {
            if let Some(health) = self.replica_health(replica.id).await {
                max = max.max(Some(health.epoch));
            }
        }
        max
    }
}
