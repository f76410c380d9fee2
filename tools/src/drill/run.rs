//! Running a drill: start (or attach to) a cluster, run load while killing and restarting
//! services on the schedule, then restart everything, wait for the replicas to converge, verify
//! every acknowledged order, stop the cluster and check its data directories.

use crate::load::{run_load_spread, verify_across, LoadConfig, LoadProgress};
use client::StoreClient;
use common::Shutdown;
use indicatif::{ProgressBar, ProgressStyle};
use inspect::checks::{self, CheckResult};
use inspect::ReplicaSnapshot;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use supervisor::{ClusterOptions, LocalCluster, Service};

use super::checks::{
    acked_orders_read_back, classify_errors, client_visible, no_service_panicked, Outage,
};
use super::report::{DrillReport, EpochGrowth, KillEvent};
use super::schedule::{Schedule, Target};
use super::summary::FailureSummary;
use crate::ToolError;

/// How long a restarted service may take to be ready, and the replicas to converge.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long services get to stop cleanly at the end before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Everything a drill can be told.
#[derive(Clone, Debug)]
pub struct DrillOptions {
    pub duration: Duration,
    pub seed: u64,
    pub sessions: usize,
    pub p: f64,
    pub max_quantity: u32,
    pub kill_every: Duration,
    pub down_for: Duration,
    pub leader_bias: f64,
    pub targets: Vec<Target>,
    /// Frontends of the drill's own cluster (at least 1); the sessions are spread over them
    /// round-robin. In attach mode, every frontend of the cluster file is used instead.
    pub frontends: usize,
    /// Order replicas of the drill's own cluster: 3 or 5 (ignored in attach mode).
    pub replicas: usize,
    /// A running store's cluster file: load and checks only, no kills.
    pub attach: Option<PathBuf>,
    /// Where the drill's own cluster keeps its data (a temporary directory when `None`).
    pub data_root: Option<PathBuf>,
    pub products: PathBuf,
    /// The `toystore` binary that the drill's own cluster runs.
    pub exe: PathBuf,
    /// At most this many buys per second across the sessions (`None`: as fast as answers come).
    pub rate: Option<f64>,
    /// Draw a progress bar (off in tests and when output is not a terminal).
    pub progress: bool,
}

/// Runs a drill and returns its report (whose `passed` says whether every check held).
///
/// # Errors
/// The cluster cannot be made or started, a service does not come back, or the options are bad.
pub async fn run(options: &DrillOptions) -> Result<DrillReport, ToolError> {
    let bad = |message: String| Err(ToolError::Options(message));
    if options.targets.is_empty() {
        return bad("--targets needs at least one of replicas, frontend, catalog".into());
    }
    if options.down_for >= options.kill_every.mul_f64(0.5) {
        return bad(format!(
            "--down-for ({:?}) must be under half of --kill-every ({:?}), so one service is down at a time",
            options.down_for, options.kill_every
        ));
    }
    if options.attach.is_none() && ![3, 5].contains(&options.replicas) {
        return bad(format!(
            "--replicas must be 3 or 5, not {}",
            options.replicas
        ));
    }
    if options.frontends == 0 {
        return bad("--frontends must be at least 1".into());
    }
    let toys = crate::load::toy_names(&options.products)?;
    let mut cluster = match &options.attach {
        Some(path) => {
            let config = common::ClusterConfig::load(path)?;
            LocalCluster::from_config(&options.exe, path, config, supervisor::ChildOutput::Files)
        }
        None => {
            let cluster_options = ClusterOptions {
                frontends: options.frontends,
                replicas: options.replicas,
                restock_period_ms: 2_000,
                ..ClusterOptions::default()
            };
            let mut cluster = LocalCluster::create(
                &options.exe,
                options.data_root.as_deref(),
                &options.products,
                &cluster_options,
            )?;
            cluster.start_all(READY_TIMEOUT).await?;
            cluster
        }
    };
    let owned = options.attach.is_none();
    let config = LoadConfig {
        sessions: options.sessions,
        iterations: None,
        duration: Some(options.duration),
        p: options.p,
        max_quantity: options.max_quantity,
        seed: Some(options.seed),
        toys,
        rate: options.rate,
        keyless: false,
        buy_sold_out: false,
    };
    config.validate()?;
    let bar = progress_bar(options);
    // One client per frontend: sessions are spread over them, and each order is read back
    // through the next one, so every frontend is checked for read after acknowledge.
    let stores: Vec<StoreClient> = cluster
        .frontend_urls()
        .into_iter()
        .map(|url| StoreClient::with_timeout(url, Duration::from_secs(30)))
        .collect();
    let epoch_at_start = cluster.max_epoch().await;
    let (stop_load, stop) = Shutdown::new();
    let counters = Arc::new((AtomicUsize::new(0), AtomicUsize::new(0)));
    let load = {
        let (stores, counters, config) = (stores.clone(), counters.clone(), config.clone());
        tokio::spawn(async move {
            let progress = move |p: &LoadProgress| {
                counters.0.store(p.orders, Ordering::Relaxed);
                counters.1.store(p.errors, Ordering::Relaxed);
            };
            run_load_spread(&stores, &config, progress, stop).await
        })
    };
    let start = Instant::now();
    let mut kills = Vec::new();
    let mut outages = Vec::new();
    if owned {
        let mut schedule = Schedule::new(
            options.seed,
            options.kill_every,
            options.targets.clone(),
            cluster.config.replicas.iter().map(|r| r.id).collect(),
            cluster.config.frontends.iter().map(|f| f.id).collect(),
            options.leader_bias,
        );
        let end = start + options.duration;
        loop {
            let at = Instant::now() + schedule.next_gap();
            if at + options.down_for >= end {
                break;
            }
            tick_until(&bar, at, start, &counters, kills.len()).await;
            let leader = cluster.leader().await;
            let victim = schedule.next_victim(leader);
            let killed_at = start.elapsed();
            cluster.kill(victim)?;
            let was_leader = leader.is_some_and(|id| victim == Service::Replica(id));
            say(
                &bar,
                format!(
                    "{:>7.2}s kill -9 {victim}{}",
                    killed_at.as_secs_f64(),
                    if was_leader { " (leader)" } else { "" }
                ),
            );
            tick_until(
                &bar,
                Instant::now() + options.down_for,
                start,
                &counters,
                kills.len() + 1,
            )
            .await;
            cluster.spawn(victim)?;
            cluster.wait_ready(victim, READY_TIMEOUT).await?;
            let ready_at = start.elapsed();
            say(
                &bar,
                format!(
                    "{:>7.2}s {victim} restarted and ready",
                    ready_at.as_secs_f64()
                ),
            );
            if !matches!(victim, Service::Replica(_)) {
                outages.push(Outage {
                    service: victim.to_string(),
                    from: killed_at,
                    to: ready_at,
                });
            }
            kills.push(KillEvent {
                at: killed_at.as_secs_f64(),
                service: victim.to_string(),
                was_leader,
                ready_again_at: Some(ready_at.as_secs_f64()),
            });
        }
    }
    tick_until(
        &bar,
        start + options.duration,
        start,
        &counters,
        kills.len(),
    )
    .await;
    stop_load.fire();
    let report = load.await.map_err(|source| ToolError::Task {
        what: "the load task failed",
        source,
    })?;
    bar.finish_and_clear();
    eprintln!(
        "load done: {} orders acknowledged; converging and checking",
        report.orders.len()
    );
    finish(&mut cluster, owned).await?;
    let epochs = EpochGrowth::new(epoch_at_start, cluster.max_epoch().await);
    let verification = verify_across(&stores, &report.orders).await;
    let (errors, error_check) = classify_errors(&report.failures, &outages);
    let disk_checks = match owned {
        true => {
            cluster.terminate_all(STOP_GRACE);
            let stderr: Vec<_> = cluster
                .services()
                .into_iter()
                .map(|s| (s.to_string(), cluster.stderr_path(s)))
                .collect();
            let checked = inspect::check_data_root(&cluster.config.data_root, false)?;
            let mut checks = vec![no_service_panicked(&stderr)];
            checks.extend(checked.checks);
            checks
        }
        false => {
            let snapshots = live_snapshots(&cluster).await?;
            vec![
                checks::committed_entries_agree(&snapshots),
                checks::numbers_dense(&snapshots),
                checks::logs_identical(&snapshots),
            ]
        }
    };
    let digests: BTreeMap<String, String> = disk_checks
        .iter()
        .filter(|c| c.name == checks::LOGS_IDENTICAL)
        .flat_map(|c| c.figures.iter())
        .filter_map(|(k, v)| {
            k.strip_suffix(" digest")
                .map(|replica| (replica.to_string(), v.to_string()))
        })
        .collect();
    let mut all: Vec<CheckResult> = vec![
        acked_orders_read_back(&verification, stores.len()),
        error_check,
    ];
    all.extend(disk_checks);
    Ok(DrillReport {
        seed: options.seed,
        duration: options.duration.as_secs_f64(),
        frontends: cluster.config.frontends.len(),
        replicas: cluster.config.replicas.len(),
        epochs,
        kills,
        requests: report.timeline.len(),
        orders_acknowledged: report.orders.len(),
        errors,
        failures: FailureSummary::of(client_visible(&report.failures)),
        digests,
        passed: all.iter().all(|c| c.passed),
        checks: all,
    })
}

/// A line of the schedule, above the progress bar (or plainly when there is no bar).
fn say(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        eprintln!("{line}");
    } else {
        bar.println(line);
    }
}

fn progress_bar(options: &DrillOptions) -> ProgressBar {
    if !options.progress {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(options.duration.as_secs().max(1));
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len}s {msg}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar
}

/// Sleeps until `until`, updating the bar with the load's figures.
async fn tick_until(
    bar: &ProgressBar,
    until: Instant,
    start: Instant,
    counters: &(AtomicUsize, AtomicUsize),
    kills: usize,
) {
    loop {
        bar.set_position(start.elapsed().as_secs());
        bar.set_message(format!(
            "orders {} errors {} kills {kills}",
            counters.0.load(Ordering::Relaxed),
            counters.1.load(Ordering::Relaxed)
        ));
        let now = Instant::now();
        if now >= until {
            return;
        }
        tokio::time::sleep((until - now).min(Duration::from_millis(250))).await;
    }
}

/// Restarts whatever is down, then waits until every replica reports the same last number, all
/// of it committed.
async fn finish(cluster: &mut LocalCluster, owned: bool) -> Result<(), ToolError> {
    if owned {
        for service in cluster.services() {
            if !cluster.is_running(service) {
                cluster.spawn(service)?;
            }
        }
        cluster.start_all(READY_TIMEOUT).await?;
    }
    let deadline = Instant::now() + READY_TIMEOUT;
    loop {
        let mut positions = BTreeMap::new();
        let mut agreed = true;
        let mut first = None;
        for replica in &cluster.config.replicas {
            match cluster.replica_health(replica.id).await {
                Some(h) => {
                    agreed &=
                        h.ready && h.commit_len == h.len && *first.get_or_insert(h.len) == h.len;
                    positions.insert(
                        format!("order-{}", h.id),
                        format!("len {}, commit_len {}", h.len, h.commit_len),
                    );
                }
                None => agreed = false,
            }
        }
        if agreed {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(ToolError::NotConverged(format!(
                "replicas did not converge within {READY_TIMEOUT:?}: {positions:?}"
            )));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Each replica's whole log through its internal range scan (attach mode has no disk to read).
async fn live_snapshots(cluster: &LocalCluster) -> Result<Vec<ReplicaSnapshot>, ToolError> {
    let mut snapshots = Vec::new();
    for replica in &cluster.config.replicas {
        let (page, entries) = cluster.replica_log(replica.id).await?;
        snapshots.push(ReplicaSnapshot {
            id: replica.id,
            epoch: page.epoch,
            log_epoch: page.log_epoch,
            commit_len: page.commit_len,
            entries,
        });
    }
    Ok(snapshots)
}
