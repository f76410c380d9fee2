//! `--json` and `--out` mean the same in every reporting command: `--json` prints the JSON
//! report on stdout instead of the text, `--out FILE` writes it to FILE beside the text. Checked
//! on real runs of `client` against a cluster and of `inspect` on a stopped cluster's data, with
//! the keys the reports promise (snake_case, numbers as numbers).

mod cluster;

use cluster::{ClusterOptions, TestCluster};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

fn toystore(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_toystore"))
        .args(args)
        .output()
        .expect("the toystore binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn succeeded(out: &Output) -> String {
    let text = stdout(out);
    assert!(
        out.status.success(),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("the --out file was written");
    serde_json::from_str(&text).expect("the --out file is JSON")
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

/// Every key of `value`, at any depth, is snake_case.
fn assert_snake_keys(value: &Value) {
    match value {
        Value::Object(map) => {
            for (key, inner) in map {
                assert!(
                    key.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                    "key {key:?} is not snake_case"
                );
                assert_snake_keys(inner);
            }
        }
        Value::Array(items) => items.iter().for_each(assert_snake_keys),
        _ => {}
    }
}

#[test]
fn every_reporting_command_documents_json_out_and_examples() {
    for command in ["client", "drill", "bench", "inspect"] {
        let help = succeeded(&toystore(&[command, "--help"]));
        for needle in ["--json", "--out <FILE>", "Examples:\n  toystore "] {
            assert!(help.contains(needle), "{command} --help lacks {needle:?}");
        }
    }
}

#[tokio::test]
async fn client_json_goes_to_stdout_and_out_to_a_file() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let url = cluster.frontend_url("");
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("client.json");
    let file = file.to_str().expect("UTF-8 path");
    let client = |extra: &[&str]| {
        let mut args = vec![
            "client",
            "--url",
            &url,
            "--toy",
            "Tux",
            "--toy",
            "Lego",
            "--sessions",
            "2",
            "--iterations",
            "5",
            "--p",
            "1",
            "--seed",
            "3",
        ];
        args.extend_from_slice(extra);
        toystore(&args)
    };

    // --json and --out together: the same document on stdout and in the file, nothing else.
    let both = succeeded(&client(&["--json", "--out", file]));
    let printed: Value = serde_json::from_str(&both).expect("stdout is only JSON");
    assert_eq!(printed, read_json(Path::new(file)));
    assert_eq!(
        keys(&printed),
        [
            "config",
            "elapsed_s",
            "failures",
            "iterations",
            "orders",
            "sold_out",
            "summaries",
            "url",
            "verification"
        ]
    );
    assert_eq!(
        keys(&printed["config"]),
        [
            "buy_sold_out",
            "duration_s",
            "iterations",
            "keyless",
            "max_quantity",
            "p",
            "rate",
            "seed",
            "sessions",
            "toys"
        ]
    );
    assert_eq!(printed["iterations"], 10);
    assert!(printed["elapsed_s"].is_f64() && printed["orders"].is_u64());
    assert_eq!(printed["verification"]["ok"], true);
    let kinds: Vec<&Value> = printed["summaries"]
        .as_array()
        .expect("summaries")
        .iter()
        .map(|s| &s["kind"])
        .collect();
    assert_eq!(kinds, ["query", "buy", "lookup"]);
    assert_snake_keys(&printed);

    // --out alone: the text on stdout, the JSON in the file.
    std::fs::remove_file(file).expect("remove the first report");
    let text = succeeded(&client(&["--out", file]));
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].starts_with("2 sessions, 10 steps in ") && lines[0].ends_with(&url),
        "{text}"
    );
    assert_eq!(lines[1], "");
    assert_eq!(
        lines[2],
        "request     count  errors  no stock    p50 ms    p90 ms    p99 ms    max ms      req/s"
    );
    assert!(lines[3].starts_with("query          10       0 "), "{text}");
    assert!(lines[4].starts_with("buy "), "{text}");
    assert!(lines[5].starts_with("lookup "), "{text}");
    let last = lines.last().expect("a last line");
    assert!(
        last.starts_with("verification: all ")
            && last.ends_with(" acknowledged orders read back as acknowledged"),
        "{text}"
    );
    assert!(serde_json::from_str::<Value>(&text).is_err());
    let written = read_json(Path::new(file));
    assert_eq!(keys(&written), keys(&printed));
}

#[tokio::test]
async fn inspect_json_goes_to_stdout_and_out_to_a_file() {
    let mut cluster = TestCluster::start(ClusterOptions::default()).await;
    for name in ["Tux", "Lego", "Tux"] {
        cluster.buy(name, 1).await;
    }
    cluster.wait_converged(3).await;
    cluster.local.terminate_all(Duration::from_secs(10));
    let root = cluster.local.config.data_root.clone();
    let root_arg = root.to_str().expect("UTF-8 path");
    let replica = root.join("order-3");
    let replica = replica.to_str().expect("UTF-8 path");
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = dir.path().join("inspect.json");
    let file = file.to_str().expect("UTF-8 path");

    // `check --out`: the text verdicts on stdout, the JSON with snake_case figures in the file.
    let text = succeeded(&toystore(&["inspect", "check", root_arg, "--out", file]));
    let last = text.lines().last().expect("a last line");
    assert_eq!(last, "6 of 6 checks passed", "{text}");
    assert!(
        text.lines()
            .any(|l| l.starts_with("PASS  one order per request")),
        "{text}"
    );
    let report = read_json(Path::new(file));
    assert_eq!(
        keys(&report),
        ["checks", "data_root", "held", "passed", "replicas"]
    );
    let stock = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["name"] == "stock conserved")
        .expect("the stock check");
    assert_eq!(stock["figures"]["sold_in_the_order_log"], 3, "{stock:#}");
    assert_eq!(stock["figures"]["order_log_of"], "replica 1", "{stock:#}");
    assert_snake_keys(&report);

    // `--json` prints the same document the file gets.
    let printed = succeeded(&toystore(&["inspect", "check", "--json", root_arg]));
    assert_eq!(
        serde_json::from_str::<Value>(&printed).expect("JSON"),
        report
    );

    // A streamed listing: text rows on stdout, the JSON array in the file.
    let text = succeeded(&toystore(&["inspect", "orders", replica, "--out", file]));
    assert_eq!(text.lines().count(), 4, "a header and three rows:\n{text}");
    let listed = read_json(Path::new(file));
    let names: Vec<&Value> = listed
        .as_array()
        .expect("an array")
        .iter()
        .map(|e| &e["name"])
        .collect();
    assert_eq!(names, ["Tux", "Lego", "Tux"]);

    // The summary of a replica directory.
    let summary: Value =
        serde_json::from_str(&succeeded(&toystore(&["inspect", "--json", replica]))).expect("JSON");
    assert_eq!(summary["id"], 3);
    assert_eq!(summary["last"], 2);
    assert_snake_keys(&summary);
}
