//! `toystore up`: the whole store as child processes of this one, stopped together.

use common::ClusterConfig;
use std::path::Path;
use std::time::Duration;
use tokio::process::{Child, Command};

/// How long `up` waits for the frontend to answer before it says the store is up anyway.
const READY_WAIT: Duration = Duration::from_secs(30);
/// How long children get to stop after SIGTERM before they are killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

struct Service {
    name: String,
    child: Child,
}

/// Starts every service of `config` (read from `config_path`), waits for Ctrl-C or SIGTERM,
/// then stops them all.
pub async fn run(config_path: &Path, config: ClusterConfig) -> Result<(), String> {
    let exe =
        std::env::current_exe().map_err(|e| format!("cannot find the toystore binary: {e}"))?;
    std::fs::create_dir_all(&config.data_root)
        .map_err(|e| format!("cannot create {}: {e}", config.data_root.display()))?;
    let mut plan: Vec<(String, Vec<String>)> = vec![("catalog".into(), vec!["catalog".into()])];
    for replica in &config.replicas {
        plan.push((
            format!("order-{}", replica.id),
            vec!["order".into(), "--id".into(), replica.id.to_string()],
        ));
    }
    for frontend in &config.frontends {
        plan.push((
            format!("frontend-{}", frontend.id),
            vec!["frontend".into(), "--id".into(), frontend.id.to_string()],
        ));
    }
    let mut services = Vec::new();
    for (name, args) in plan {
        let spawned = Command::new(&exe)
            .args(&args)
            .arg("--config")
            .arg(config_path)
            .arg("--token")
            .arg(&config.token)
            .arg("--data-root")
            .arg(&config.data_root)
            .kill_on_drop(true)
            .spawn();
        match spawned {
            Ok(child) => {
                println!("started {name} (pid {})", child.id().unwrap_or(0));
                services.push(Service { name, child });
            }
            Err(e) => {
                stop_all(&mut services).await;
                return Err(format!("cannot start {name}: {e}"));
            }
        }
    }
    let front = &config.frontends[0];
    println!("catalog internal: http://{}", config.catalog.internal);
    for replica in &config.replicas {
        println!(
            "order replica {} internal: http://{}",
            replica.id, replica.internal
        );
    }
    if wait_ready(&format!("http://{}/health", front.public)).await {
        println!(
            "toy store up: try  curl http://{}/products/Tux",
            front.public
        );
    } else {
        println!("the frontend did not answer within {READY_WAIT:?}; see the logs above");
    }
    println!(
        "data under {}; Ctrl-C stops everything",
        config.data_root.display()
    );
    supervise(&mut services).await;
    stop_all(&mut services).await;
    println!("toy store stopped");
    Ok(())
}

async fn wait_ready(url: &str) -> bool {
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + READY_WAIT;
    while tokio::time::Instant::now() < deadline {
        if let Ok(response) = http.get(url).timeout(Duration::from_secs(1)).send().await {
            if response.status().is_success() {
                return true;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

/// Waits for the stop signal, reporting children that exit on their own meanwhile.
async fn supervise(services: &mut [Service]) {
    let stop = common::shutdown::terminate_signal();
    tokio::pin!(stop);
    let mut reported = vec![false; services.len()];
    loop {
        tokio::select! {
            _ = &mut stop => return,
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                for (service, reported) in services.iter_mut().zip(reported.iter_mut()) {
                    if let (false, Ok(Some(status))) = (*reported, service.child.try_wait()) {
                        println!("{} exited ({status}); the rest keep running", service.name);
                        *reported = true;
                    }
                }
            }
        }
    }
}

/// SIGTERM to every child we started (by its pid), then SIGKILL to any still running after the
/// grace period.
async fn stop_all(services: &mut [Service]) {
    for service in services.iter() {
        if let Some(pid) = service.child.id() {
            // SAFETY: kill(2) with a pid we spawned and have not yet reaped; no memory is shared.
            unsafe {
                libc::kill(pid as libc::pid_t, libc::SIGTERM);
            }
        }
    }
    for service in services.iter_mut() {
        match tokio::time::timeout(STOP_GRACE, service.child.wait()).await {
            Ok(_) => println!("stopped {}", service.name),
            Err(_) => {
                let _ = service.child.kill().await;
                println!(
                    "killed {} (did not stop within {STOP_GRACE:?})",
                    service.name
                );
            }
        }
    }
}
