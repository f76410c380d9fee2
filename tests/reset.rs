//! `toystore reset` on real services: refused while any service of the store runs (naming it and
//! its pid), refused without `--yes` off a terminal, and then it removes exactly the services'
//! state and says so.

mod cluster;

use cluster::{ClusterOptions, Service, TestCluster};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn reset(cluster: &TestCluster, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_toystore"))
        .arg("reset")
        .arg("--config")
        .arg(&cluster.local.config_path)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run toystore reset")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test]
async fn reset_refuses_a_running_store_and_wipes_a_stopped_one() {
    let mut cluster = TestCluster::new(ClusterOptions {
        replicas: 1,
        ..ClusterOptions::default()
    });
    let root = cluster.local.config.data_root.clone();
    let catalog = cluster
        .local
        .spawn(Service::Catalog)
        .expect("spawn catalog");
    cluster.spawn(Service::Replica(1));
    cluster.wait_catalog().await;
    cluster.wait_replica(1).await;

    let refused = reset(&cluster, &["--yes"]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        text(&refused.stderr),
        format!(
            "error: the store is running: {}/catalog is in use by the catalog (pid {catalog}); \
             stop it first (Ctrl-C for `toystore up`), nothing was removed\n",
            root.display()
        )
    );

    // A frontend holds no database; its open files (its log, its stderr) give it away.
    cluster.kill(Service::Catalog);
    cluster.kill(Service::Replica(1));
    let frontend = cluster.local.spawn(Service::Frontend(1)).expect("spawn");
    let log = cluster.local.config.frontend_dir(1).join("frontend-1.log");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !log.exists() {
        assert!(Instant::now() < deadline, "no {}", log.display());
        std::thread::sleep(Duration::from_millis(20));
    }
    let refused = text(&reset(&cluster, &["--yes"]).stderr);
    assert!(
        refused.contains(&format!("{}/frontend-1", root.display()))
            && refused.contains(&format!(" is open in pid {frontend} (")),
        "{refused}"
    );
    cluster.kill(Service::Frontend(1));

    let names = [
        "catalog",
        "catalog.stderr",
        "frontend-1",
        "frontend-1.stderr",
        "order-1",
        "order-1.stderr",
    ];
    let unasked = reset(&cluster, &[]);
    assert_eq!(unasked.status.code(), Some(1));
    assert_eq!(
        text(&unasked.stderr),
        format!(
            "error: reset removes 6 entries under {} ({}); pass --yes to confirm (nothing was \
             removed)\n",
            root.display(),
            names.join(", ")
        )
    );
    assert!(names.iter().all(|n| root.join(n).exists()));

    let done = reset(&cluster, &["--yes"]);
    assert!(done.status.success(), "{}", text(&done.stderr));
    let mut expected: String = names
        .iter()
        .map(|n| format!("removed {}/{n}\n", root.display()))
        .collect();
    expected.push_str(&format!("reset {}: 6 entries removed\n", root.display()));
    assert_eq!(text(&done.stdout), expected);
    assert!(names.iter().all(|n| !root.join(n).exists()));
    assert!(cluster.local.config_path.exists(), "the cluster file stays");

    let again = reset(&cluster, &["--yes"]);
    assert_eq!(
        text(&again.stdout),
        format!("nothing to reset under {}\n", root.display())
    );
}
