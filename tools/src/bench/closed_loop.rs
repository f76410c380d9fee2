//! The load loop every HTTP measurement of the bench shares: `connections` tasks, each sending
//! one request at a time (closed loop, no think time) and timing it, until a deadline or a
//! number of requests is reached, whichever comes first.

use hdrhistogram::Histogram;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::load::new_histogram;
use crate::ToolError;

/// How much load: concurrent connections, and when to stop.
#[derive(Clone, Debug)]
pub(crate) struct Bound {
    /// Concurrent requests, one per task (and so one keep-alive connection each).
    pub connections: usize,
    /// No request is sent after this long; the ones under way are waited for.
    pub length: Duration,
    /// No more than this many requests are sent, when given.
    pub max_requests: Option<u64>,
}

impl Bound {
    /// `connections` for `length`, with no bound on the count.
    pub(crate) fn timed(connections: usize, length: Duration) -> Bound {
        Bound {
            connections,
            length,
            max_requests: None,
        }
    }
}

/// What one loop measured.
#[derive(Clone, Debug)]
pub(crate) struct Outcome {
    /// Requests answered with success.
    pub ok: u64,
    /// Requests that failed: no answer, or an answer that is not a success.
    pub errors: u64,
    /// Wall-clock time from the first request sent to the last answer.
    pub seconds: f64,
    /// Latency of every request, failed ones included, in microseconds.
    pub latency: Histogram<u64>,
}

impl Outcome {
    /// Successful requests per second.
    pub(crate) fn per_second(&self) -> f64 {
        if self.seconds > 0.0 {
            self.ok as f64 / self.seconds
        } else {
            0.0
        }
    }

    /// The latency at `quantile` (0.5 for the median), in milliseconds.
    pub(crate) fn ms_at(&self, quantile: f64) -> f64 {
        self.latency.value_at_quantile(quantile) as f64 / 1000.0
    }

    /// The slowest request, in milliseconds.
    pub(crate) fn max_ms(&self) -> f64 {
        self.latency.max() as f64 / 1000.0
    }
}

/// Runs `request(connection, sequence)` in `bound.connections` tasks until `bound` is reached;
/// `request` answers whether the request succeeded. `finished`, when given, counts successful
/// requests as they complete (for a progress bar).
///
/// # Errors
/// A task panicked.
pub(crate) async fn run<F, Fut>(
    bound: &Bound,
    finished: Option<Arc<AtomicU64>>,
    request: F,
) -> Result<Outcome, ToolError>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = bool> + Send,
{
    let started = Instant::now();
    let deadline = started + bound.length;
    let sent = Arc::new(AtomicU64::new(0));
    let finished = finished.unwrap_or_default();
    let request = Arc::new(request);
    let mut tasks = Vec::with_capacity(bound.connections);
    for connection in 0..bound.connections {
        let (sent, finished, request) = (sent.clone(), finished.clone(), request.clone());
        let max = bound.max_requests;
        tasks.push(tokio::spawn(async move {
            let mut latency = new_histogram();
            let (mut ok, mut errors) = (0u64, 0u64);
            while Instant::now() < deadline {
                let sequence = sent.fetch_add(1, Ordering::Relaxed);
                if max.is_some_and(|max| sequence >= max) {
                    break;
                }
                let start = Instant::now();
                let success = request(connection, sequence).await;
                record(&mut latency, start.elapsed());
                if success {
                    ok += 1;
                    finished.fetch_add(1, Ordering::Relaxed);
                } else {
                    errors += 1;
                }
            }
            (latency, ok, errors)
        }));
    }
    let mut outcome = Outcome {
        ok: 0,
        errors: 0,
        seconds: 0.0,
        latency: new_histogram(),
    };
    for task in tasks {
        let (latency, ok, errors) = task.await.map_err(|source| ToolError::Task {
            what: "a bench connection",
            source,
        })?;
        outcome
            .latency
            .add(&latency)
            .expect("histograms of the same bounds add");
        outcome.ok += ok;
        outcome.errors += errors;
    }
    outcome.seconds = started.elapsed().as_secs_f64();
    Ok(outcome)
}

/// Records one latency, clamped into the histogram's range.
fn record(histogram: &mut Histogram<u64>, latency: Duration) {
    let micros = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
    histogram.saturating_record(micros.max(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_count_bound_stops_at_the_count_and_failures_are_counted_apart() {
        let bound = Bound {
            connections: 4,
            length: Duration::from_secs(10),
            max_requests: Some(100),
        };
        let finished = Arc::new(AtomicU64::new(0));
        let outcome = run(&bound, Some(finished.clone()), |_, sequence| async move {
            sequence % 10 != 0
        })
        .await
        .expect("no task panics");
        assert_eq!((outcome.ok, outcome.errors), (90, 10));
        assert_eq!(finished.load(Ordering::Relaxed), 90);
        assert_eq!(outcome.latency.len(), 100);
    }
}
