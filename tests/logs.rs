//! The services' log lines, read back from real processes: a UTC date to the millisecond, the
//! level and the service id on every line, no colour codes when standard error is a file, JSON
//! objects with `--log-format json`, and `RUST_LOG` directive lists that start the service and
//! filter by module.

mod cluster;

use cluster::{ClusterOptions, Service, TestCluster};
use std::process::Command;

/// Checks `line` reads `2026-12-02T05:17:37.123Z INFO  order-1 order::x: ...`.
fn assert_text_line(line: &str, service: &str) {
    let bytes = line.as_bytes();
    let digits = |range: std::ops::Range<usize>| {
        range
            .into_iter()
            .all(|i| bytes.get(i).is_some_and(u8::is_ascii_digit))
    };
    let stamp_ok = bytes.len() > 24
        && digits(0..4)
        && digits(5..7)
        && digits(8..10)
        && digits(11..13)
        && digits(14..16)
        && digits(17..19)
        && digits(20..23)
        && &line[4..5] == "-"
        && &line[10..11] == "T"
        && &line[19..20] == "."
        && &line[23..25] == "Z ";
    assert!(stamp_ok, "no UTC millisecond date: {line:?}");
    let level = &line[25..30];
    assert!(
        ["ERROR", "WARN ", "INFO ", "DEBUG", "TRACE"].contains(&level),
        "no level: {line:?}"
    );
    assert!(
        line[30..].starts_with(&format!(" {service} ")),
        "no service id: {line:?}"
    );
}

fn read(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[tokio::test]
async fn lines_carry_date_level_and_service_and_rust_log_lists_filter_by_module() {
    let mut cluster = TestCluster::new(ClusterOptions {
        replicas: 2,
        ..ClusterOptions::default()
    });
    let debug_order = [("RUST_LOG", "order=debug,info")];
    let quiet_catalog = [("RUST_LOG", "catalog=warn,info")];
    let json = [("TOYSTORE_LOG_FORMAT", "json")];
    cluster
        .local
        .spawn_with_env(Service::Replica(1), &debug_order)
        .unwrap();
    cluster
        .local
        .spawn_with_env(Service::Catalog, &quiet_catalog)
        .unwrap();
    cluster
        .local
        .spawn_with_env(Service::Replica(2), &json)
        .unwrap();
    cluster.wait_replica(1).await;
    cluster.wait_catalog().await;
    cluster.wait_replica(2).await;
    let config = &cluster.local.config;

    // Standard error is a file here: the same lines as the log file, and no colour.
    let stderr = read(&cluster.local.stderr_path(Service::Replica(1)));
    let file = read(&config.replica_dir(1).join("order-1.log"));
    assert!(!stderr.contains('\x1b'), "colour in a file: {stderr:?}");
    assert!(
        stderr.lines().any(|l| l.contains(" INFO  order-1 order")),
        "{stderr}"
    );
    for line in stderr.lines().chain(file.lines()) {
        assert_text_line(line, "order-1");
    }

    // catalog=warn silences the catalog's own info lines, not the service.
    let catalog = read(&config.catalog_dir().join("catalog.log"));
    assert!(!catalog.contains("catalog listening"), "{catalog}");
    assert!(cluster.local.is_ready(Service::Catalog).await);

    let json = read(&config.replica_dir(2).join("order-2.log"));
    assert!(json.lines().count() > 0);
    for line in json.lines() {
        let object: serde_json::Value = serde_json::from_str(line).expect("a JSON object a line");
        assert_eq!(object["service"], "order-2", "{line}");
        for key in ["level", "target", "message"] {
            assert!(object[key].is_string(), "no {key}: {line}");
        }
        let ts = object["ts"].as_str().expect("ts");
        assert!(
            ts.len() == 24 && ts.ends_with('Z') && &ts[19..20] == ".",
            "{ts}"
        );
    }
}

#[test]
fn a_bad_log_directive_is_refused_by_name() {
    let cluster = TestCluster::new(ClusterOptions::default());
    let out = Command::new(env!("CARGO_BIN_EXE_toystore"))
        .args(["order", "--id", "1", "--config"])
        .arg(&cluster.local.config_path)
        .env("RUST_LOG", "order=loud")
        .output()
        .expect("run toystore order");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: bad log directive \"order=loud\": expected LEVEL or TARGET=LEVEL, \
         comma-separated, with levels off, error, warn, info, debug, trace \
         (RUST_LOG=order=debug,info)\n"
    );
}

/// A routine order is not an INFO line anywhere: 60 more orders add no more info lines to the
/// catalog's, the replicas' or the frontend's log than the first few did.
#[tokio::test]
async fn routine_orders_add_no_info_lines() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let config = &cluster.local.config;
    let mut logs = vec![config.catalog_dir().join("catalog.log")];
    for id in cluster.replica_ids() {
        logs.push(config.replica_dir(id).join(format!("order-{id}.log")));
    }
    for id in cluster.frontend_ids() {
        logs.push(config.frontend_dir(id).join(format!("frontend-{id}.log")));
    }
    let info_lines = || -> usize {
        logs.iter()
            .map(|path| read(path).lines().filter(|l| l.contains(" INFO ")).count())
            .sum()
    };
    let toys = ["Tux", "Whale", "Elephant", "Dolphin", "Fox"];
    // The first orders settle the leader and the catalog's first buys; count from there.
    for toy in toys {
        cluster.buy(toy, 1).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let before = info_lines();
    for i in 0..60 {
        cluster.buy(toys[i % toys.len()], 1).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let added = info_lines() - before;
    assert!(
        added < 5,
        "60 orders added {added} info lines: a routine order logs at info"
    );
}
