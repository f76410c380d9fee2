//! Asking the services of a [`LocalCluster`] how they are: readiness, a replica's health and
//! log, the current leader and the highest epoch, and whether every frontend serves orders.

use common::catalog_api::CatalogClient;
use common::http::Peer;
use common::replica_api::ReplicaClient;
use common::wire::{Health, LogPage, LogQuery, Role, MAX_LOG_PAGE};
use common::{Epoch, OrderEntry, ReplicaId};
use std::time::{Duration, Instant};

use crate::cluster::LocalCluster;
use crate::error::SupervisorError;
use crate::service::Service;

impl LocalCluster {
    /// The typed client of replica `id`'s internal API.
    ///
    /// # Errors
    /// No such replica in the cluster file.
    pub fn replica_client(&self, id: ReplicaId) -> Result<ReplicaClient, SupervisorError> {
        let addr = self.config.replica(id)?.internal;
        Ok(ReplicaClient::new(Peer::new(
            self.http.clone(),
            addr,
            &self.config.token,
        )))
    }

    /// The typed client of the catalog's internal API.
    pub fn catalog_client(&self) -> CatalogClient {
        CatalogClient::new(Peer::new(
            self.http.clone(),
            self.config.catalog.internal,
            &self.config.token,
        ))
    }

    /// Health of a replica through its internal API, `None` when it does not answer.
    pub async fn replica_health(&self, id: ReplicaId) -> Option<Health> {
        self.replica_client(id).ok()?.health().await.ok()
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
        let replica = self.replica_client(id)?;
        let mut entries = Vec::new();
        loop {
            let query = LogQuery {
                from: entries.len() as u64,
                limit: MAX_LOG_PAGE,
            };
            let page = replica
                .log(&query)
                .await
                .map_err(|source| SupervisorError::ReplicaLog { id, source })?;
            if page.entries.is_empty() {
                return Ok((page, entries));
            }
            entries.extend(page.entries);
        }
    }

    /// Whether a service answers as ready right now.
    pub async fn is_ready(&self, service: Service) -> bool {
        match service {
            Service::Catalog => self.catalog_client().health().await.is_ok_and(|h| h.ready),
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
