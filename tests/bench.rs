//! `toystore bench` end to end: a quick run with two preload levels prints the table and writes
//! every row with a positive value, the baselines' ratios, and the targets judged; the HTTP
//! baseline process is gone afterwards. No assertion on speed: the figures depend on the machine.

use serde_json::Value;
use std::collections::BTreeSet;
use std::process::Command;

fn toystore() -> Command {
    Command::new(env!("CARGO_BIN_EXE_toystore"))
}

/// Every row of the table, and the two baselines.
const ROWS: [&str; 14] = [
    "baseline_disk_flushes_per_s",
    "baseline_http_get_per_s",
    "durable_orders_per_s",
    "order_alone_p50_ms",
    "cached_get_per_s",
    "mixed_buy_p50_ms",
    "rss_replica_mb",
    "rss_catalog_mb",
    "rss_frontend_mb",
    "disk_bytes_per_order_replica",
    "disk_bytes_per_order_catalog",
    "catch_up_orders_per_s",
    "restart_to_ready_ms",
    "leader_kill_slowest_ms",
];

/// Rows measured at each preload level.
const PER_LEVEL: [&str; 8] = [
    "durable_orders_per_s",
    "order_alone_p50_ms",
    "rss_replica_mb",
    "rss_catalog_mb",
    "disk_bytes_per_order_replica",
    "disk_bytes_per_order_catalog",
    "catch_up_orders_per_s",
    "restart_to_ready_ms",
];

/// The second level: above what the first level's measurements leave in the log of a debug
/// build, so that the preload places orders (a preload row, checked like every other row).
const PRELOAD: u64 = 2000;

#[test]
fn a_quick_run_reports_every_row_with_its_baseline() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let json = dir.path().join("bench.json");
    let output = toystore()
        .args(["bench", "--quick", "--preload", &format!("0,{PRELOAD}")])
        .arg("--out")
        .arg(&json)
        .output()
        .expect("toystore runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("baseline") && stdout.contains("target"),
        "{stdout}"
    );

    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("the JSON file"))
            .expect("JSON");
    let rows = report["rows"].as_array().expect("rows");
    let keys: BTreeSet<&str> = rows.iter().filter_map(|r| r["key"].as_str()).collect();
    for key in ROWS {
        assert!(keys.contains(key), "no {key} row in {keys:?}");
    }
    for row in rows {
        let value = row["value"].as_f64().expect("a number");
        assert!(value > 0.0, "not positive: {row}");
        if !row["baseline"].is_null() {
            assert!(row["ratio"].as_f64().is_some_and(|r| r > 0.0), "{row}");
        }
        if !row["target"].is_null() {
            assert!(row["target_met"].is_boolean(), "{row}");
        }
    }
    for level in [0, PRELOAD] {
        for key in PER_LEVEL {
            let found = rows
                .iter()
                .find(|r| r["key"] == key && r["preload"] == level)
                .unwrap_or_else(|| panic!("no {key} row at preload {level}"));
            let log = found["log_orders"].as_u64().expect("log_orders");
            assert!(
                log >= level,
                "{key} at preload {level} measured on {log} orders"
            );
        }
    }
    let at = |clients: u64| {
        rows.iter()
            .any(|r| r["key"] == "durable_orders_per_s" && r["clients"] == clients)
    };
    assert!(at(1) && at(64), "--quick runs 1 and 64 connections");
    let setup = &report["setup"];
    assert_eq!(setup["quick"], true);
    assert_eq!(setup["preload"], serde_json::json!([0, PRELOAD]));
    assert!(report["order_runs"]
        .as_array()
        .is_some_and(|r| r.len() == 4));

    // The HTTP baseline was started by pid and is gone.
    let pid = stderr
        .lines()
        .find_map(|l| l.strip_prefix("HTTP baseline: pid "))
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the bench names the baseline's pid");
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "the HTTP baseline {pid} still runs"
    );
}

#[test]
fn flags_out_of_range_are_refused_before_anything_starts() {
    let cases: [(&[&str], &str); 3] = [
        (&["--only", "speed"], "--only takes"),
        (&["--preload", "100,10"], "ascending"),
        (&["--clients", "0"], "--clients"),
    ];
    for (args, needle) in cases {
        let output = toystore()
            .arg("bench")
            .args(args)
            .output()
            .expect("toystore runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?} was accepted");
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
}
