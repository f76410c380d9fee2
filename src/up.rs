//! `toystore up`: the whole store as child processes of this one, stopped together.

use common::ClusterConfig;
use common::FileError;
use std::path::Path;
use std::time::Duration;

use crate::error::CliError;
use supervisor::{ChildOutput, LocalCluster};

/// How long `up` waits for the store to serve before it reports what is missing.
const READY_WAIT: Duration = Duration::from_secs(30);
/// How long children get to stop after SIGTERM before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Starts every service of `config` (read from `config_path`) with its output on this terminal,
/// waits for Ctrl-C or SIGTERM, then stops them all.
pub async fn run(config_path: &Path, config: ClusterConfig) -> Result<(), CliError> {
    let exe = std::env::current_exe().map_err(CliError::Exe)?;
    std::fs::create_dir_all(&config.data_root)
        .map_err(FileError::about("cannot create", &config.data_root))?;
    let mut cluster =
        LocalCluster::from_config(&exe, config_path, config.clone(), ChildOutput::Inherit);
    for service in cluster.services() {
        let pid = cluster.spawn(service)?;
        println!("started {service} (pid {pid})");
    }
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
    match cluster.wait_orders_served(READY_WAIT).await {
        Ok(()) => println!(
            "toy store up: try  curl {}/products/Tux",
            cluster.frontend_url()
        ),
        Err(e) => println!("{e}; see the logs above"),
    }
    println!(
        "data under {}; Ctrl-C stops everything",
        config.data_root.display()
    );
    let stop = common::shutdown::terminate_signal();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                for (service, status) in cluster.reap_exited() {
                    println!("{service} exited ({status}); the rest keep running");
                }
            }
        }
    }
    for (service, status) in cluster.terminate_all(STOP_GRACE) {
        match status {
            Some(status) => println!("stopped {service} ({status})"),
            None => println!("killed {service}: it did not stop within {STOP_GRACE:?}"),
        }
    }
    println!("toy store stopped");
    Ok(())
}
