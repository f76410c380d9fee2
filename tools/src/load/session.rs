//! The sessions of a load run: each queries a random toy and, when it is in stock, buys some with
//! probability p, recording every acknowledged order, every failure and every latency.

use common::{OrderNumber, Shutdown};
use futures_util::future::join_all;
use hdrhistogram::Histogram;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::config::{LoadConfig, RequestKind};
use super::pacing::{Backoff, RateCap};
use super::stats::{new_histogram, record as record_latency, LoadReport, Sample};
use client::ClientError;
use client::StoreClient;

/// Attempts of one buy (with one idempotency key) before the session gives up on it, when the
/// store is unreachable or says it is unavailable.
pub const BUY_ATTEMPTS: u32 = 3;
/// Pause before a buy is sent again.
pub const BUY_RETRY_PAUSE: Duration = Duration::from_millis(200);

/// An order the store acknowledged, as the session asked for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AckedOrder {
    /// The number the store gave.
    pub number: OrderNumber,
    /// The toy asked for.
    pub name: String,
    /// The quantity asked for.
    pub quantity: u32,
    /// The idempotency key the buy was sent with; a keyless buy's name for it, never sent, which
    /// still tells buys apart.
    pub key: String,
    /// Which frontend acknowledged it: its index in the clients given to [`run_load_spread`]
    /// (always 0 for [`run_load`]), so verification can read it back through another one.
    #[serde(default)]
    pub frontend: usize,
    /// When the acknowledgement arrived, since the start of the run (seconds in JSON).
    #[serde(with = "super::stats::seconds")]
    pub acked_at: Duration,
}

/// A request that failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RequestFailure {
    /// What it was.
    pub kind: RequestKind,
    /// Why it failed.
    pub error: ClientError,
    /// When the failure arrived, since the start of the run (seconds in JSON).
    #[serde(with = "super::stats::seconds")]
    pub at: Duration,
}

/// Where a run stands; handed to the progress callback after every step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadProgress {
    /// Steps done by all sessions together.
    pub iterations: usize,
    /// Steps planned, when the run is bounded by steps.
    pub planned: Option<usize>,
    /// Time since the start.
    pub elapsed: Duration,
    /// The run's time bound, if any.
    pub duration: Option<Duration>,
    /// Orders acknowledged so far.
    pub orders: usize,
    /// Failed requests so far, out-of-stock refusals excluded.
    pub errors: usize,
}

/// What the sessions share while they run. The mutex is never held across an await.
struct Run<'a, P> {
    /// One client per frontend; session `i` talks to `clients[i % len]`.
    clients: &'a [StoreClient],
    config: &'a LoadConfig,
    progress: P,
    stop: Shutdown,
    start: Instant,
    /// Unique per run, so two runs on one store never share an idempotency key.
    run_id: String,
    iterations: AtomicUsize,
    sold_out: AtomicUsize,
    errors: AtomicUsize,
    /// `config.rate` as slots every buy waits for.
    rate_cap: Option<RateCap>,
    record: Mutex<Record>,
}

#[derive(Default)]
struct Record {
    orders: Vec<AckedOrder>,
    failures: Vec<RequestFailure>,
    latency: BTreeMap<RequestKind, Histogram<u64>>,
    refusals: Option<Histogram<u64>>,
    timeline: Vec<Sample>,
}

/// Runs `config.sessions` concurrent sessions against `client` until each has done
/// `config.iterations` steps, `config.duration` has passed, or `stop` fires (a step under way is
/// finished first, so no buy is abandoned mid-flight). Calls `progress` after every step.
///
/// Each buy carries an idempotency key unique to the run, session and step, and is sent up to
/// [`BUY_ATTEMPTS`] times while the store is unreachable or unavailable: a retry can never order
/// twice. Every attempt counts in the latency histograms and every failed one is recorded.
///
/// # Panics
/// If `config` does not pass [`LoadConfig::validate`] (a caller's bug: check it first).
///
/// ```no_run
/// # async fn example() {
/// use tools::load::{run_load, verify, LoadConfig};
/// let store = client::StoreClient::new("http://127.0.0.1:8080");
/// let config = LoadConfig::new(vec!["Tux".into(), "Lego".into()]);
/// let (_trigger, stop) = common::Shutdown::new();
/// let report = run_load(&store, &config, |_| {}, stop).await;
/// let verification = verify(&store, &report.orders).await;
/// assert!(verification.is_ok());
/// # }
/// ```
pub async fn run_load(
    client: &StoreClient,
    config: &LoadConfig,
    progress: impl Fn(&LoadProgress) + Send + Sync,
    stop: Shutdown,
) -> LoadReport {
    run_load_spread(std::slice::from_ref(client), config, progress, stop).await
}

/// [`run_load`] over several frontends, one client each: session `i` sends every request of
/// its own to `clients[i % clients.len()]`, so the sessions are spread round-robin and each
/// frontend places orders. Every [`AckedOrder`] names the frontend that acknowledged it.
///
/// # Panics
/// If `clients` is empty or `config` does not pass [`LoadConfig::validate`] (a caller's bug).
pub async fn run_load_spread(
    clients: &[StoreClient],
    config: &LoadConfig,
    progress: impl Fn(&LoadProgress) + Send + Sync,
    stop: Shutdown,
) -> LoadReport {
    if let Err(e) = config.validate() {
        panic!("run_load with an invalid config: {e}");
    }
    assert!(!clients.is_empty(), "run_load_spread needs a client");
    let run = Run {
        clients,
        config,
        progress,
        stop,
        start: Instant::now(),
        run_id: format!("{:016x}", rand::random::<u64>()),
        iterations: AtomicUsize::new(0),
        sold_out: AtomicUsize::new(0),
        errors: AtomicUsize::new(0),
        rate_cap: config.rate.map(RateCap::new),
        record: Mutex::new(Record::default()),
    };
    join_all((0..config.sessions).map(|i| session(&run, i))).await;
    let elapsed = run.start.elapsed();
    let record = run
        .record
        .into_inner()
        .expect("no session panics while it holds the record lock");
    LoadReport {
        elapsed,
        iterations: run.iterations.into_inner(),
        sold_out: run.sold_out.into_inner(),
        orders: record.orders,
        failures: record.failures,
        latency: record.latency,
        refusals: record.refusals.unwrap_or_else(new_histogram),
        timeline: record.timeline,
    }
}

async fn session<P: Fn(&LoadProgress)>(run: &Run<'_, P>, index: usize) {
    let config = run.config;
    let mut rng = match config.seed {
        Some(seed) => StdRng::seed_from_u64(seed.wrapping_add(index as u64)),
        None => StdRng::from_entropy(),
    };
    let frontend = index % run.clients.len();
    let client = &run.clients[frontend];
    let mut backoff = Backoff::default();
    let mut step = 0;
    while !run.done(step) {
        let toy = &config.toys[rng.gen_range(0..config.toys.len())];
        let mut reached = true;
        match run.timed(RequestKind::Query, client.product(toy)).await {
            Ok(product) => {
                let in_stock = product.quantity > 0;
                if !in_stock {
                    run.sold_out.fetch_add(1, Ordering::Relaxed);
                }
                if (in_stock || config.buy_sold_out) && rng.gen_bool(config.p) {
                    let quantity = rng.gen_range(1..=config.max_quantity);
                    let key = format!("load-{}-s{index}-i{step}", run.run_id);
                    reached = run.buy(frontend, toy, quantity, key).await;
                }
            }
            Err(e) => reached = !matches!(e, ClientError::Transport(_)),
        }
        if reached {
            backoff.answered();
        } else {
            tokio::time::sleep(backoff.failed()).await;
        }
        step += 1;
        run.step_done();
    }
}

impl<P: Fn(&LoadProgress)> Run<'_, P> {
    /// Whether a session that has done `steps` steps should stop.
    fn done(&self, steps: usize) -> bool {
        self.stop.is_down()
            || self.config.iterations.is_some_and(|n| steps >= n)
            || self
                .config
                .duration
                .is_some_and(|d| self.start.elapsed() >= d)
    }

    /// One buy through `clients[frontend]`, retried with the same key while the store is
    /// unreachable (a keyless buy is sent once); false when its last attempt got no answer at
    /// all (a connection error).
    async fn buy(&self, frontend: usize, name: &str, quantity: u32, key: String) -> bool {
        let client = &self.clients[frontend];
        let attempts = if self.config.keyless { 1 } else { BUY_ATTEMPTS };
        for attempt in 1..=attempts {
            if let Some(cap) = &self.rate_cap {
                tokio::time::sleep_until(cap.reserve(Instant::now()).into()).await;
            }
            let answer = async {
                if self.config.keyless {
                    client.buy(name, quantity).await
                } else {
                    client.buy_with_key(name, quantity, &key).await
                }
            };
            match self.timed(RequestKind::Buy, answer).await {
                Ok(number) => {
                    let order = AckedOrder {
                        number,
                        name: name.to_string(),
                        quantity,
                        key,
                        frontend,
                        acked_at: self.start.elapsed(),
                    };
                    self.lock().orders.push(order);
                    return true;
                }
                Err(e) if e.is_retryable() && attempt < attempts => {
                    tokio::time::sleep(BUY_RETRY_PAUSE).await;
                }
                Err(e) => return !matches!(e, ClientError::Transport(_)),
            }
        }
        true
    }

    /// Sends one request, recording its latency, its sample and its failure if it fails.
    async fn timed<T>(
        &self,
        kind: RequestKind,
        request: impl Future<Output = Result<T, ClientError>>,
    ) -> Result<T, ClientError> {
        let sent = Instant::now();
        let at = sent - self.start;
        let answer = request.await;
        let latency = sent.elapsed();
        let mut record = self.lock();
        record_latency(
            record.latency.entry(kind).or_insert_with(new_histogram),
            latency,
        );
        let ok = !matches!(&answer, Err(e) if *e != ClientError::OutOfStock);
        if matches!(&answer, Err(ClientError::OutOfStock)) {
            let refusals = record.refusals.get_or_insert_with(new_histogram);
            record_latency(refusals, latency);
        }
        record.timeline.push(Sample {
            at,
            kind,
            latency,
            ok,
        });
        if let Err(error) = &answer {
            if !ok {
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
            record.failures.push(RequestFailure {
                kind,
                error: error.clone(),
                at: self.start.elapsed(),
            });
        }
        answer
    }

    fn step_done(&self) {
        let iterations = self.iterations.fetch_add(1, Ordering::Relaxed) + 1;
        let orders = self.lock().orders.len();
        (self.progress)(&LoadProgress {
            iterations,
            planned: self.config.planned_iterations(),
            elapsed: self.start.elapsed(),
            duration: self.config.duration,
            orders,
            errors: self.errors.load(Ordering::Relaxed),
        });
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Record> {
        common::sync::lock(&self.record)
    }
}
