//! What the evaluation reads from a running frontend besides the public API: counters of its
//! `/metrics` page and the keys of its cache (`GET /internal/cache`, cluster token required).

use common::frontend_api::FrontendClient;
use common::http::Peer;
use std::time::Duration;

use crate::ToolError;
use supervisor::LocalCluster;

/// Timeout of one probe request.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// The frontend counters the evaluation uses, read at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Counters {
    pub hits: u64,
    pub misses: u64,
    pub evictions: u64,
    pub leader_changes: u64,
    pub order_retries: u64,
    /// Orders the frontend refused out of stock from its cache, never sent to a leader.
    pub refused_from_cache: u64,
    pub leader_id: u64,
}

impl Counters {
    /// How much each counter grew since `earlier` (the leader is the current one).
    pub(crate) fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            hits: self.hits.saturating_sub(earlier.hits),
            misses: self.misses.saturating_sub(earlier.misses),
            evictions: self.evictions.saturating_sub(earlier.evictions),
            leader_changes: self.leader_changes.saturating_sub(earlier.leader_changes),
            order_retries: self.order_retries.saturating_sub(earlier.order_retries),
            refused_from_cache: self
                .refused_from_cache
                .saturating_sub(earlier.refused_from_cache),
            leader_id: self.leader_id,
        }
    }
}

/// Reads the frontend's instruments.
pub(crate) struct Probe {
    http: reqwest::Client,
    metrics_url: String,
    frontend: FrontendClient,
}

impl Probe {
    /// A probe of the first frontend of `cluster`.
    pub(crate) fn new(cluster: &LocalCluster) -> Probe {
        let frontend = &cluster.config.frontends[0];
        let http = reqwest::Client::new();
        Probe {
            metrics_url: format!("{}/metrics", cluster.frontend_url()),
            frontend: FrontendClient::new(Peer::new(
                http.clone(),
                frontend.internal,
                &cluster.config.token,
            )),
            http,
        }
    }

    /// The counters now.
    ///
    /// # Errors
    /// The frontend does not answer, or a counter is missing from its page.
    pub(crate) async fn counters(&self) -> Result<Counters, ToolError> {
        let text = self
            .http
            .get(&self.metrics_url)
            .timeout(PROBE_TIMEOUT)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| self.unreadable(&self.metrics_url, e))?
            .text()
            .await
            .map_err(|e| self.unreadable(&self.metrics_url, e))?;
        let get = |name: &str| {
            let full = format!("toystore_frontend_{name}");
            counter(&text, &full)
                .ok_or_else(|| ToolError::Service(format!("{} has no {full}", self.metrics_url)))
        };
        Ok(Counters {
            hits: get("cache_hits_total")?,
            misses: get("cache_misses_total")?,
            evictions: get("cache_evictions_total")?,
            leader_changes: get("leader_changes_total")?,
            order_retries: get("order_retries_total")?,
            refused_from_cache: get("orders_refused_from_cache_total")?,
            leader_id: get("leader_id")?,
        })
    }

    /// The keys in the frontend's cache now, sorted.
    ///
    /// # Errors
    /// The frontend's internal listener does not answer as documented.
    pub(crate) async fn cache_keys(&self) -> Result<Vec<String>, ToolError> {
        self.frontend.cache_keys().await.map_err(|e| {
            ToolError::Service(format!(
                "cannot read the cache keys of {}: {e}",
                self.frontend.base()
            ))
        })
    }

    fn unreadable(&self, url: &str, error: reqwest::Error) -> ToolError {
        ToolError::Service(format!("cannot read {url}: {error}"))
    }
}

/// The value of an unlabelled sample `name value` of a Prometheus text page.
fn counter(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (metric, value) = line.split_once(' ')?;
        (metric == name).then(|| value.trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_read_by_exact_name() {
        let page = "# HELP toystore_frontend_cache_hits_total Product queries answered.\n\
                    # TYPE toystore_frontend_cache_hits_total counter\n\
                    toystore_frontend_cache_hits_total 12\n\
                    toystore_frontend_cache_hits_total_other 99\n\
                    toystore_frontend_requests_total{route=\"/orders\",status=\"200\"} 3\n";
        assert_eq!(
            counter(page, "toystore_frontend_cache_hits_total"),
            Some(12)
        );
        assert_eq!(counter(page, "toystore_frontend_cache_misses_total"), None);
    }
}
