//! `toystore up`: the whole store as child processes of this one, stopped together.
//!
//! A service that exits before the store serves makes `up` stop the rest and fail with one line
//! naming it and its reason (its last line on standard error). Once the store serves, a service
//! that fails is started again with backoff (`--restart on-failure`, the default) or left down
//! (`--restart never`). Every child gets SIGTERM if `up` dies, even by SIGKILL.

use common::logging::LogFormat;
use common::ClusterConfig;
use common::FileError;
use std::path::Path;
use std::process::ExitStatus;
use std::time::{Duration, Instant};

use crate::error::CliError;
use supervisor::{ChildOutput, LocalCluster, RestartPolicy, Restarts, Service};

/// How long `up` waits for the store to serve before it reports what is missing.
const READY_WAIT: Duration = Duration::from_secs(30);
/// How long children get to stop after SIGTERM before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(10);
/// How long the other services get to stop when one could not start.
const START_FAILED_GRACE: Duration = Duration::from_secs(2);
/// How often `up` looks for children that exited.
const POLL: Duration = Duration::from_millis(100);

/// How `up` runs the store.
pub struct UpOptions {
    pub log_format: LogFormat,
    pub restart: RestartPolicy,
}

/// Starts every service of `config` (read from `config_path`) with its output on this terminal,
/// waits for Ctrl-C or SIGTERM, then stops them all.
///
/// # Errors
/// A service could not be started, or exited before the store served.
pub async fn run(
    config_path: &Path,
    config: ClusterConfig,
    options: UpOptions,
) -> Result<(), CliError> {
    let exe = std::env::current_exe().map_err(CliError::Exe)?;
    std::fs::create_dir_all(&config.data_root)
        .map_err(FileError::about("cannot create", &config.data_root))?;
    // Held until `up` returns, restart pauses included; `reset` refuses while it is.
    let _supervising = common::db_lock::supervise(&config.data_root).map_err(|e| {
        CliError::Failed(format!(
            "cannot supervise {}: {e}",
            config.data_root.display()
        ))
    })?;
    let mut cluster =
        LocalCluster::from_config(&exe, config_path, config.clone(), ChildOutput::Relay);
    cluster.set_die_with_parent(true);
    cluster.set_child_env("TOYSTORE_LOG_FORMAT", &options.log_format.to_string());
    let mut restarts = Restarts::default();
    for service in cluster.services() {
        let pid = cluster.spawn(service)?;
        restarts.started(service, Instant::now());
        println!("started {service} (pid {pid})");
    }
    print_addresses(&cluster);
    wait_served(&mut cluster).await?;
    println!(
        "data under {}; restart {}; Ctrl-C stops everything",
        config.data_root.display(),
        options.restart
    );
    supervise(&mut cluster, &mut restarts, options.restart).await;
    for (service, status) in cluster.terminate_all(STOP_GRACE) {
        match status {
            Some(status) => println!("stopped {service} ({status})"),
            None => println!("killed {service}: it did not stop within {STOP_GRACE:?}"),
        }
    }
    println!("toy store stopped ({} restarts)", restarts.total());
    Ok(())
}

fn print_addresses(cluster: &LocalCluster) {
    let config = &cluster.config;
    println!("catalog internal: http://{}", config.catalog.internal);
    for replica in &config.replicas {
        println!(
            "order replica {} internal: http://{}",
            replica.id, replica.internal
        );
    }
    for (frontend, url) in config.frontends.iter().zip(cluster.frontend_urls()) {
        println!(
            "frontend {} public: {url} (internal http://{})",
            frontend.id, frontend.internal
        );
    }
}

/// Waits until the catalog is ready and every frontend serves orders. A service that exits first
/// fails `up`: the others are stopped and the error names it and what it said.
///
/// The catalog is asked on its own because a frontend answers an order lookup without it: a
/// catalog that cannot bind would otherwise exit just after "toy store up".
async fn wait_served(cluster: &mut LocalCluster) -> Result<(), CliError> {
    let deadline = Instant::now() + READY_WAIT;
    loop {
        if let Some((service, status)) = cluster.reap_exited().into_iter().next() {
            let reason = exit_reason(cluster, service, status);
            cluster.stop_all_at_once(START_FAILED_GRACE);
            return Err(CliError::Failed(format!(
                "{service} could not start: {reason}"
            )));
        }
        let served = match cluster.wait_orders_served(POLL).await {
            Ok(()) if cluster.is_ready(Service::Catalog).await => Ok(()),
            Ok(()) => Err(format!("{} is not ready yet", Service::Catalog)),
            Err(e) => Err(e.to_string()),
        };
        match served {
            Ok(()) => {
                println!(
                    "toy store up: try  curl {}/products/Tux",
                    cluster.frontend_url()
                );
                return Ok(());
            }
            Err(e) if Instant::now() > deadline => {
                // Slow, not dead: keep it running, as a store that serves late is still useful.
                println!("{e}; see the logs above");
                return Ok(());
            }
            Err(_) => {}
        }
    }
}

/// Why a service exited: the `error: ...` line every failure ends with, when it wrote one, and
/// its status. A last line that is a log line is no reason, so then the status alone.
fn exit_reason(cluster: &mut LocalCluster, service: Service, status: ExitStatus) -> String {
    let last = cluster.last_stderr_line(service);
    match last.as_deref().and_then(|l| l.strip_prefix("error: ")) {
        Some(error) => format!("{error} ({status})"),
        None => status.to_string(),
    }
}

/// Until Ctrl-C or SIGTERM: reports services that exit and restarts the failed ones as `policy`
/// says.
async fn supervise(cluster: &mut LocalCluster, restarts: &mut Restarts, policy: RestartPolicy) {
    let stop = common::shutdown::terminate_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(POLL) => {}
        }
        let now = Instant::now();
        for (service, status) in cluster.reap_exited() {
            let reason = exit_reason(cluster, service, status);
            if status.success() || policy == RestartPolicy::Never {
                println!("{service} exited: {reason}; the rest keep running");
            } else {
                let delay = restarts.failed(service, now);
                println!("{service} exited: {reason}; restarting it in {delay:?}");
            }
        }
        for service in restarts.due(now) {
            match cluster.spawn(service) {
                Ok(pid) => {
                    restarts.started(service, Instant::now());
                    println!(
                        "restarted {service} (pid {pid}): restart {} of {service}, {} in all",
                        restarts.count(service),
                        restarts.total()
                    );
                }
                Err(e) => {
                    let delay = restarts.failed(service, Instant::now());
                    println!("cannot restart {service}: {e}; trying again in {delay:?}");
                }
            }
        }
    }
}
