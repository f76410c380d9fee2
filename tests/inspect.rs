//! `toystore inspect` on data directories written by real runs: every subcommand's output, a
//! divergence and a stock violation planted in copies, the running-service refusal, bad paths,
//! and that inspecting never changes a byte.

mod cluster;

use cluster::{ClusterOptions, Service, TestCluster};
use common::encoding::{decode, encode, u64_key, Digest};
use common::{OrderEntry, RequestId};
use order::stored::{decode_entry, encode_entry};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// What one `toystore inspect` run printed.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}):\n{}", self.stdout))
    }
}

fn inspect(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_toystore"))
        .arg("inspect")
        .args(args)
        .output()
        .expect("run toystore inspect");
    let run = Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    };
    assert!(
        !run.stderr.contains("panicked"),
        "inspect {args:?} panicked:\n{}",
        run.stderr
    );
    run
}

fn path(p: &Path) -> &str {
    p.to_str().expect("temporary paths are UTF-8")
}

/// Length and digest of every file under `dir`, by relative path: any change shows up.
fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, (u64, String)> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for entry in std::fs::read_dir(&current).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                pending.push(entry.path());
            } else {
                let bytes = std::fs::read(entry.path()).unwrap();
                let mut digest = Digest::default();
                digest.update(&bytes);
                let relative = entry.path().strip_prefix(dir).unwrap().to_path_buf();
                files.insert(relative, (bytes.len() as u64, digest.hex()));
            }
        }
    }
    files
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A cluster that took `orders` orders (Tux, Lego, Whale in turn, two units of Lego) and was
/// then stopped with SIGTERM. The data root stays until the cluster is dropped.
async fn stopped_cluster(orders: u64) -> TestCluster {
    let mut cluster = TestCluster::start(ClusterOptions::default()).await;
    for i in 0..orders {
        let (name, quantity) = [("Tux", 1), ("Lego", 2), ("Whale", 1)][i as usize % 3];
        assert_eq!(cluster.buy(name, quantity).await, i);
    }
    cluster.wait_converged(orders as usize).await;
    for (service, status) in cluster.local.terminate_all(Duration::from_secs(10)) {
        assert!(
            status.is_some_and(|s| s.success()),
            "{service} did not stop cleanly"
        );
    }
    cluster
}

#[tokio::test]
async fn every_subcommand_reads_a_stopped_cluster_and_changes_nothing() {
    let cluster = stopped_cluster(7).await;
    let root = cluster.local.config.data_root.clone();
    let before = fingerprint(&root);
    // Replica 3 leads (highest id), so it knows every order committed; a follower learns the
    // last commit only with a later append.
    let replica = root.join("order-3");
    let catalog = root.join("catalog");

    let summary = inspect(&[path(&replica)]);
    assert_eq!(summary.code, 0, "{}", summary.stderr);
    for line in [
        "order replica 3 at",
        "commit index  6 (7 entries committed)",
        "entries       7",
    ] {
        assert!(
            summary.stdout.contains(line),
            "{line:?} in\n{}",
            summary.stdout
        );
    }
    assert!(
        summary.stdout.contains("first entry   #0: 1 Tux"),
        "{}",
        summary.stdout
    );
    let json = inspect(&["--json", path(&replica)]).json();
    assert_eq!(
        (json["id"].as_u64(), json["last"].as_u64()),
        (Some(3), Some(6))
    );
    let digest = json["digest"].as_str().unwrap().to_string();

    let catalog_summary = inspect(&[path(&catalog)]);
    assert!(
        catalog_summary.stdout.contains("journal of"),
        "{}",
        catalog_summary.stdout
    );
    let lego = catalog_summary
        .stdout
        .lines()
        .find(|l| l.contains("Lego"))
        .unwrap();
    assert_eq!(
        lego.split_whitespace().collect::<Vec<_>>(),
        ["Lego", "49.99", "96", "3"]
    );

    let orders = inspect(&["orders", path(&replica), "--from", "1", "--to", "2"]);
    let rows: Vec<&str> = orders.stdout.lines().collect();
    assert_eq!(rows.len(), 3, "header and two orders:\n{}", orders.stdout);
    assert!(
        rows[1].contains("Lego") && rows[2].contains("Whale"),
        "{}",
        orders.stdout
    );
    let listed = inspect(&["orders", "--json", path(&replica)]).json();
    let listed: Vec<OrderEntry> = serde_json::from_value(listed).unwrap();
    assert_eq!(
        listed.iter().map(|e| e.number).collect::<Vec<_>>(),
        (0..7).collect::<Vec<_>>()
    );

    let stock = inspect(&["stock", "--json", path(&catalog)]).json();
    let tux = stock
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "Tux")
        .unwrap();
    assert_eq!(
        (tux["quantity"].as_u64(), tux["sold"].as_u64()),
        (Some(97), Some(3))
    );
    let journal = inspect(&["journal", path(&catalog)]);
    assert_eq!(
        journal
            .stdout
            .lines()
            .filter(|l| l.contains(" buy "))
            .count(),
        7
    );
    let from = inspect(&["journal", "--json", "--from", "1000000", path(&catalog)]).json();
    assert_eq!(from, serde_json::json!([]));

    let diff = inspect(&["diff", path(&root.join("order-1")), path(&replica)]);
    assert!(
        diff.stdout
            .starts_with(&format!("identical: 7 entries, digest {digest}")),
        "{}",
        diff.stdout
    );

    let check = inspect(&["check", path(&root)]);
    assert_eq!(check.code, 0, "{}\n{}", check.stdout, check.stderr);
    assert!(
        check.stdout.contains("6 of 6 checks passed"),
        "{}",
        check.stdout
    );
    let report = inspect(&["check", "--json", path(&root)]).json();
    assert_eq!(report["passed"], true);
    assert_eq!(report["replicas"], serde_json::json!([1, 2, 3]));

    assert_eq!(fingerprint(&root), before, "inspect changed the data root");
}

/// Plants, in a copy of replica 3, a different order at committed number 2.
fn plant_divergence(replica: &Path) {
    let db = sled::open(replica).unwrap();
    let log = db.open_tree("log").unwrap();
    let was = decode_entry(2, &log.get(u64_key(2)).unwrap().unwrap()).unwrap();
    let planted = OrderEntry {
        request_id: RequestId("planted".into()),
        name: "Kite".into(),
        quantity: 9,
        ..was
    };
    log.insert(u64_key(2), encode_entry(&planted)).unwrap();
    db.flush().unwrap();
}

/// Adds 5 units of Tux in a copy of the catalog, with no journal movement to explain them.
fn plant_stock(catalog: &Path) {
    let db = sled::open(catalog).unwrap();
    let products = db.open_tree(catalog::PRODUCTS_TREE).unwrap();
    let mut tux: catalog::StockRecord = decode(&products.get("Tux").unwrap().unwrap()).unwrap();
    tux.quantity += 5;
    products.insert("Tux", encode(&tux)).unwrap();
    db.flush().unwrap();
}

#[tokio::test]
async fn diff_and_check_find_what_was_planted_in_copies() {
    let cluster = stopped_cluster(4).await;
    let root = cluster.local.config.data_root.clone();
    let copies = tempfile::tempdir().unwrap();

    let diverged = copies.path().join("diverged");
    copy_tree(&root, &diverged);
    plant_divergence(&diverged.join("order-3"));
    let diff = inspect(&[
        "diff",
        path(&root.join("order-3")),
        path(&diverged.join("order-3")),
    ]);
    assert_eq!(diff.code, 0, "{}", diff.stderr);
    assert!(
        diff.stdout
            .starts_with("the logs differ first at number 2\n"),
        "{}",
        diff.stdout
    );
    assert!(
        diff.stdout.contains("B holds #2: 9 Kite (epoch "),
        "{}",
        diff.stdout
    );
    assert!(diff.stdout.contains("request planted)"), "{}", diff.stdout);
    let json = inspect(&[
        "diff",
        "--json",
        path(&root.join("order-1")),
        path(&diverged.join("order-3")),
    ])
    .json();
    assert_eq!(
        (
            json["identical"].as_bool(),
            json["first_difference"].as_u64()
        ),
        (Some(false), Some(2))
    );
    let check = inspect(&["check", path(&diverged)]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    // The catalog is compared with replica 1's log (the first of equals), which is intact.
    for failed in ["committed entries agree", "logs identical"] {
        assert!(
            check.stdout.contains(&format!("FAIL  {failed}")),
            "{failed}:\n{}",
            check.stdout
        );
    }
    assert!(
        check.stderr.contains("error: 2 of 6 checks failed"),
        "{}",
        check.stderr
    );
    assert!(
        check
            .stdout
            .contains("committed number 2: replica 1 holds #2: 1 Whale"),
        "{}",
        check.stdout
    );

    let short = copies.path().join("short");
    copy_tree(&root, &short);
    plant_stock(&short.join("catalog"));
    let check = inspect(&["check", path(&short)]);
    assert_eq!(check.code, 1, "{}", check.stdout);
    assert!(
        check.stdout.contains("FAIL  stock conserved"),
        "{}",
        check.stdout
    );
    let evidence =
        "Tux: initial 100 + restocked 0 (0 restocks) - sold 2 (order log) = 98, but the \
                    catalog holds 103 (its journal records 2 sold)";
    assert!(check.stdout.contains(evidence), "{}", check.stdout);
    assert!(
        check.stderr.contains("error: 1 of 6 checks failed"),
        "{}",
        check.stderr
    );
    let report = inspect(&["check", "--json", path(&short)]).json();
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["name"], "stock conserved");
}

#[tokio::test]
async fn a_running_service_is_named_and_only_copied_with_force() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    cluster.buy("Tux", 1).await;
    let root = cluster.local.config.data_root.clone();
    let replica = root.join("order-2");
    let refused = inspect(&[path(&replica)]);
    assert_eq!(refused.code, 1);
    assert!(refused.stdout.is_empty(), "{}", refused.stdout);
    for part in [
        "is in use by a running service: order replica 2",
        "pass --force",
    ] {
        assert!(
            refused.stderr.contains(part),
            "{part:?} in {}",
            refused.stderr
        );
    }
    let catalog = inspect(&["stock", path(&root.join("catalog"))]);
    assert!(
        catalog
            .stderr
            .contains("in use by a running service: the catalog"),
        "{}",
        catalog.stderr
    );
    let check = inspect(&["check", path(&root)]);
    assert!(
        check.code != 0 && check.stderr.contains("in use by a running service"),
        "{}",
        check.stderr
    );

    let forced = inspect(&["--force", path(&replica)]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert!(forced.stderr.contains("warning:") && forced.stderr.contains("order replica 2"));
    assert!(
        forced.stdout.contains("entries       1"),
        "{}",
        forced.stdout
    );
    assert!(
        cluster.local.is_running(Service::Replica(2)),
        "inspect disturbed the replica"
    );
    assert_eq!(
        cluster.buy("Lego", 1).await,
        1,
        "the store still takes orders"
    );
}

#[test]
fn what_is_not_a_data_directory_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, "hello").unwrap();
    let before = fingerprint(dir.path());
    for (target, why) in [
        (dir.path().to_path_buf(), "holds no sled database"),
        (file.clone(), "is a file, not a directory"),
        (dir.path().join("missing"), "there is no such directory"),
    ] {
        let run = inspect(&[path(&target)]);
        assert_eq!(run.code, 1, "{}", run.stdout);
        let expected = format!(
            "error: {} is not a toystore data directory: ",
            target.display()
        );
        assert!(
            run.stderr.starts_with(&expected) && run.stderr.contains(why),
            "{}",
            run.stderr
        );
    }
    let check = inspect(&["check", path(dir.path())]);
    assert!(
        check.stderr.contains("it has no catalog/ directory"),
        "{}",
        check.stderr
    );
    assert_eq!(fingerprint(dir.path()), before);
}
