//! The cached `GET /products/Tux` against the HTTP baseline: the same loop (16 keep-alive
//! connections, one request at a time each, the same length) against the frontend and against
//! the bare warp process, alternated run by run so that both sides see the same machine.

use serde::Serialize;
use std::time::Duration;

use super::closed_loop::{self, Bound, Outcome};
use super::setup::READ_TOY;
use crate::ToolError;

/// Connections of the GET measurement (the table's "16 connections").
pub(crate) const GET_CONNECTIONS: usize = 16;

/// What the GET measurement found, medians over the runs.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Reads {
    pub frontend: Side,
    pub baseline: Side,
}

/// One side (the frontend or the baseline): the median of its runs.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Side {
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
    /// Requests per second of every run, in order.
    pub runs: Vec<f64>,
}

/// `GET {base}/products/Tux`'s body, to check that both sides answer the same bytes.
///
/// # Errors
/// No answer, or not a success.
pub(crate) async fn body(http: &reqwest::Client, base: &str) -> Result<String, ToolError> {
    let url = product_url(base);
    let failed = |e: String| ToolError::Service(format!("GET {url}: {e}"));
    let response = http
        .get(&url)
        .send()
        .await
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("answered {}", response.status())));
    }
    response.text().await.map_err(|e| failed(e.to_string()))
}

/// Loads `frontend` and `baseline` (base URLs) `runs` times each for `length`, alternately,
/// after one warm-up request each (which fills the frontend's cache).
///
/// # Errors
/// The two sides do not answer the same body, or a connection's task panicked.
pub(crate) async fn measure(
    http: &reqwest::Client,
    frontend: &str,
    baseline: &str,
    runs: usize,
    length: Duration,
) -> Result<Reads, ToolError> {
    let (ours, bare) = (body(http, frontend).await?, body(http, baseline).await?);
    if ours != bare {
        return Err(ToolError::Service(format!(
            "the frontend answers {ours} and the HTTP baseline {bare}: not the same JSON"
        )));
    }
    let (mut frontend_runs, mut baseline_runs) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        baseline_runs.push(one_run(http, baseline, length).await?);
        frontend_runs.push(one_run(http, frontend, length).await?);
    }
    Ok(Reads {
        frontend: side(frontend_runs),
        baseline: side(baseline_runs),
    })
}

fn product_url(base: &str) -> String {
    format!("{base}{}/{READ_TOY}", common::public_api::PRODUCTS)
}

async fn one_run(
    http: &reqwest::Client,
    base: &str,
    length: Duration,
) -> Result<Outcome, ToolError> {
    let (http, url) = (http.clone(), product_url(base));
    let bound = Bound::timed(GET_CONNECTIONS, length);
    closed_loop::run(&bound, None, move |_, _| {
        let sent = http.get(&url).send();
        async move {
            match sent.await {
                Ok(response) if response.status().is_success() => response.bytes().await.is_ok(),
                _ => false,
            }
        }
    })
    .await
}

/// The median run of one side, by requests per second.
fn side(mut runs: Vec<Outcome>) -> Side {
    let per_run: Vec<f64> = runs.iter().map(Outcome::per_second).collect();
    runs.sort_by(|a, b| a.per_second().total_cmp(&b.per_second()));
    let median = &runs[runs.len() / 2];
    Side {
        per_second: median.per_second(),
        p50_ms: median.ms_at(0.5),
        p99_ms: median.ms_at(0.99),
        errors: runs.iter().map(|r| r.errors).sum(),
        runs: per_run,
    }
}
