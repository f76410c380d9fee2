//! A bench run from start to end: the cluster and the HTTP baseline, each preload level in turn,
//! the failover last, then every process stopped.

use crate::machine::{load_average, scratch_dir};
use std::time::Instant;
use supervisor::LocalCluster;

use super::baseline_disk::{self, BulkBaseline, DiskBaseline};
use super::baseline_http::BaselineHttp;
use super::options::{BenchOptions, Measure};
use super::orders::{self, OrderRun, OrderTarget};
use super::preload::{self, log_orders};
use super::report::{BenchReport, BenchSetup, Row};
use super::setup::{self, READY_TIMEOUT, STOP_GRACE};
use super::{catch_up, disk, failover, memory, mixed, reads, rows};
use crate::ToolError;

/// What a run gathers as it goes.
struct Bench<'a> {
    options: &'a BenchOptions,
    say: &'a dyn Fn(&str),
    cluster: LocalCluster,
    http: reqwest::Client,
    target: OrderTarget,
    /// The bare warp process, while the GET is to be measured.
    baseline_http: Option<BaselineHttp>,
    rows: Vec<Row>,
    order_runs: Vec<OrderRun>,
    disk_baselines: Vec<DiskBaseline>,
    /// The bulk-write baseline, with the level it was measured at.
    bulk: Option<(u64, BulkBaseline)>,
}

/// Runs the bench as `options` ask; `say` hears what it is doing (the per-run lines included).
///
/// # Errors
/// Options out of range, or a service or baseline that cannot start or answer; the message
/// carries the end of every service's log.
pub async fn run(options: &BenchOptions, say: &dyn Fn(&str)) -> Result<BenchReport, ToolError> {
    options.validate()?;
    let started = Instant::now();
    let load_before = load_average();
    let products_dir = scratch_dir("toystore-bench-", &std::env::temp_dir())?;
    let products = setup::write_products(products_dir.path())?;
    say("starting a cluster: catalog, 3 order replicas, a frontend");
    let cluster = setup::start_cluster(&options.exe, &products).await?;
    let http = setup::http_client()?;
    let target = OrderTarget::new(http.clone(), &cluster.frontend_url(), setup::order_toys());
    let mut bench = Bench {
        options,
        say,
        cluster,
        http,
        target,
        baseline_http: None,
        rows: Vec::new(),
        order_runs: Vec::new(),
        disk_baselines: Vec::new(),
        bulk: None,
    };
    let measured = bench.measure_all().await;
    // Killed by pid as it drops.
    bench.baseline_http = None;
    bench.cluster.terminate_all(STOP_GRACE);
    if let Err(e) = measured {
        return Err(setup::with_logs(&bench.cluster, e));
    }
    let measured = Measure::ALL
        .into_iter()
        .filter(|&m| options.measures(m))
        .map(|m| m.name().to_string())
        .collect();
    Ok(BenchReport {
        setup: BenchSetup {
            quick: options.quick,
            debug_build: cfg!(debug_assertions),
            cores: std::thread::available_parallelism().map_or(0, |n| n.get()),
            load_before,
            load_after: load_average(),
            clients: options.clients.clone(),
            seconds: options.seconds.as_secs_f64(),
            runs: options.runs,
            preload: options.preload.clone(),
            measured,
            replicas: bench.cluster.config.replicas.len(),
        },
        rows: bench.rows,
        order_runs: bench.order_runs,
        disk_baselines: bench.disk_baselines,
        total_seconds: started.elapsed().as_secs_f64(),
    })
}

impl Bench<'_> {
    async fn measure_all(&mut self) -> Result<(), ToolError> {
        let options = self.options;
        if options.measures(Measure::Get) {
            let stderr = self
                .cluster
                .config
                .data_root
                .join("bench-baseline-http.stderr");
            let baseline =
                BaselineHttp::start(&options.exe, &stderr, &self.http, READY_TIMEOUT).await?;
            (self.say)(&format!(
                "HTTP baseline: pid {} on {}",
                baseline.pid(),
                baseline.url()
            ));
            self.baseline_http = Some(baseline);
        }
        for (i, &level) in options.preload.iter().enumerate() {
            self.level(level, i == 0).await?;
        }
        if options.measures(Measure::Failover) {
            (self.say)("failover: the leader killed under load");
            let log = log_orders(&self.cluster).await?;
            let run = failover::run(&mut self.cluster, &self.target, options.seconds).await?;
            let level = *options.preload.last().expect("validated: a level at least");
            self.rows.push(rows::failover(level, log, &run));
        }
        Ok(())
    }

    /// The bulk-write baseline of this level, measured the first time a catch-up row needs it.
    async fn bulk_baseline(&mut self, level: u64) -> Result<BulkBaseline, ToolError> {
        if let Some((at, bulk)) = &self.bulk {
            if *at == level {
                return Ok(bulk.clone());
            }
        }
        (self.say)(&format!("preload {level}: bulk-write baseline"));
        let measured = baseline_disk::measure_bulk(&self.cluster.config.data_root).await?;
        let log = log_orders(&self.cluster).await?;
        self.rows.push(rows::bulk_baseline(level, log, &measured));
        self.bulk = Some((level, measured.clone()));
        Ok(measured)
    }

    /// One preload level; the `first` also measures what does not depend on the log (the GET
    /// and the mixed load).
    async fn level(&mut self, level: u64, first: bool) -> Result<(), ToolError> {
        let options = self.options;
        let say = self.say;
        // With a catch-up to measure, a follower misses the preload's orders.
        let behind = log_orders(&self.cluster).await? < level;
        let down = if behind && options.measures(Measure::CatchUp) {
            Some(catch_up::kill_follower(&mut self.cluster).await?)
        } else {
            None
        };
        let filled =
            preload::fill(&self.cluster, &self.target, level, options.progress, say).await?;
        if filled.placed > 0 {
            self.rows.push(rows::preload(level, &filled));
        }
        if let Some(down) = down {
            say(&format!(
                "preload {level}: catch-up of a follower that missed it"
            ));
            let caught = catch_up::restart_behind(&mut self.cluster, down, filled.errors).await?;
            let bulk = self.bulk_baseline(level).await?;
            self.rows
                .push(rows::catch_up_preload(level, &caught, &bulk));
        }
        let mut disk_baseline = None;
        if options.measures(Measure::Orders) || options.measures(Measure::Mixed) {
            say(&format!(
                "preload {level}: disk baseline, {:?}",
                options.seconds
            ));
            let root = &self.cluster.config.data_root;
            let measured = baseline_disk::measure(root, options.seconds).await?;
            let log = log_orders(&self.cluster).await?;
            self.rows.push(rows::disk_baseline(level, log, &measured));
            self.disk_baselines.push(measured.clone());
            disk_baseline = Some(measured);
        }
        if options.measures(Measure::Orders) {
            let log = log_orders(&self.cluster).await?;
            say(&orders::header());
            let mut runs = Vec::new();
            for &clients in &options.clients {
                for run in 1..=options.runs {
                    let measured =
                        orders::one_run(&self.target, level, clients, run, options.seconds).await?;
                    say(&orders::line(&measured));
                    runs.push(measured);
                }
            }
            self.rows
                .extend(rows::orders(level, log, &runs, disk_baseline.as_ref()));
            self.order_runs.extend(runs);
        }
        if let Some(baseline) = self.baseline_http.as_ref().filter(|_| first) {
            say("cached GET against the HTTP baseline");
            let frontend = self.cluster.frontend_url();
            let measured = reads::measure(
                &self.http,
                &frontend,
                baseline.url(),
                options.runs,
                options.seconds,
            )
            .await?;
            self.rows.extend(rows::reads(&measured));
        }
        if first && options.measures(Measure::Mixed) {
            say("mixed load: 5 sessions at p = 0.2, 0.4, 0.6, 0.8");
            let log = log_orders(&self.cluster).await?;
            let frontend = self.cluster.frontend_url();
            let runs = mixed::measure(&frontend, &setup::order_toys(), options.seconds).await?;
            self.rows
                .push(rows::mixed(level, log, &runs, disk_baseline.as_ref()));
        }
        if options.measures(Measure::Memory) {
            let log = log_orders(&self.cluster).await?;
            let sizes = memory::resident_sets(&self.cluster)?;
            self.rows.extend(rows::memory(level, log, &sizes));
        }
        if options.measures(Measure::Disk) {
            self.disk_rows(level).await?;
        }
        if options.measures(Measure::CatchUp) {
            say(&format!(
                "preload {level}: catch-up and restart of a follower"
            ));
            let caught =
                catch_up::catch_up(&mut self.cluster, &self.target, options.seconds).await?;
            let bulk = self.bulk_baseline(level).await?;
            self.rows.push(rows::catch_up(level, &caught, &bulk));
            let restart = catch_up::restart_up_to_date(&mut self.cluster).await?;
            self.rows.push(rows::restart(level, &restart));
        }
        Ok(())
    }

    /// Each replica's data directory over its own log, the catalog's over the committed log.
    async fn disk_rows(&mut self, level: u64) -> Result<(), ToolError> {
        let log = log_orders(&self.cluster).await?;
        if log == 0 {
            (self.say)("no order in the log yet: disk per order left out");
            return Ok(());
        }
        let config = &self.cluster.config;
        let mut replicas = Vec::new();
        for replica in &config.replicas {
            let health = self.cluster.replica_health(replica.id).await;
            let orders = health.map_or(log, |h| h.len);
            let size = disk::dir_size(&config.replica_dir(replica.id))?;
            replicas.push((replica.id, size, orders));
        }
        let catalog = disk::dir_size(&config.catalog_dir())?;
        self.rows.extend(rows::disk(level, log, &replicas, catalog));
        Ok(())
    }
}
