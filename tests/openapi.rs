//! The OpenAPI document (docs/openapi.json) is the public API's contract: it lists exactly the
//! routes and methods of `common::public_api::ROUTES`, the frontend serves it at
//! `GET /openapi.json` and answers every route it lists, and schemathesis, run against a real
//! store with it, finds every answer documented and no 5xx. Schemathesis (PyPI, pinned in
//! .ci/run) must be installed: without it this test fails rather than skips.

mod cluster;

use cluster::{ClusterOptions, TestCluster};
use common::public_api::ROUTES;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

/// How long the whole schemathesis run may take before it is killed and the test fails.
const SCHEMATHESIS_TIMEOUT: Duration = Duration::from_secs(150);
/// Test cases per operation and phase: enough to reach every status, small enough for CI.
const MAX_EXAMPLES: &str = "25";

fn document_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/openapi.json")
}

fn document() -> Value {
    let text = std::fs::read_to_string(document_path()).expect("docs/openapi.json is readable");
    serde_json::from_str(&text).expect("docs/openapi.json is JSON")
}

/// A path of the route `template` with its parameters filled in.
fn concrete(template: &str) -> String {
    template.replace("{name}", "Tux").replace("{number}", "0")
}

#[tokio::test]
async fn the_document_lists_the_routes_the_frontend_serves() {
    let document = document();
    assert_eq!(document["openapi"], "3.1.0");
    let documented: BTreeMap<String, Vec<String>> = document["paths"]
        .as_object()
        .expect("paths")
        .iter()
        .map(|(path, item)| {
            let methods = item
                .as_object()
                .expect("a path item")
                .keys()
                .filter(|key| *key != "parameters")
                .map(|method| method.to_ascii_uppercase())
                .collect();
            (path.clone(), methods)
        })
        .collect();
    // HEAD is answered wherever GET is, and said once in the document's description.
    let served: BTreeMap<String, Vec<String>> = ROUTES
        .iter()
        .map(|(path, methods)| {
            let methods = methods
                .iter()
                .filter(|m| **m != "HEAD")
                .map(|m| m.to_string())
                .collect();
            (path.to_string(), methods)
        })
        .collect();
    assert_eq!(
        documented, served,
        "docs/openapi.json and public_api::ROUTES differ"
    );

    let cluster = TestCluster::start(ClusterOptions::default()).await;
    cluster.buy("Tux", 1).await;
    let (status, served_document) = cluster.public("GET", "/openapi.json", None).await;
    assert_eq!((status, served_document), (200, document));
    for (template, methods) in ROUTES {
        let path = concrete(template);
        for method in methods.iter().filter(|m| ["GET", "POST"].contains(m)) {
            let body = (*method == "POST").then_some(r#"{"name":"Tux","quantity":1}"#);
            let (status, answer) = cluster.public(method, &path, body).await;
            assert_eq!(status, 200, "{method} {path}: {answer}");
        }
        let response = cluster
            .http
            .delete(cluster.frontend_url(&path))
            .send()
            .await
            .expect("an answer");
        assert_eq!(response.status(), 405, "DELETE {path}");
        assert_eq!(
            response.headers()["allow"],
            methods.join(", "),
            "DELETE {path}"
        );
    }
}

#[tokio::test]
async fn schemathesis_finds_every_answer_documented() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    // An order to read, so `GET /orders/{number}` answers 200 as well as 404.
    cluster.buy("Tux", 1).await;
    let scratch = tempfile::tempdir().expect("a scratch directory for schemathesis' files");
    let base = cluster.frontend_url("");
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");
    let mut command = tokio::process::Command::new("schemathesis");
    let config = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis.toml");
    command
        .arg("--config-file")
        .arg(config)
        .arg("run")
        .arg(document_path())
        .args(["--url", &base])
        .args(["--checks", "all"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", "20261202"])
        .args(["--workers", "1"])
        .args(["--request-timeout", "10"])
        .args(["--phases", "examples,coverage,fuzzing"])
        .current_dir(scratch.path())
        .env("NO_COLOR", "1")
        .kill_on_drop(true);
    let child = command.output();
    let output = tokio::time::timeout(SCHEMATHESIS_TIMEOUT, child)
        .await
        .unwrap_or_else(|_| panic!("schemathesis ran past {SCHEMATHESIS_TIMEOUT:?}"))
        .unwrap_or_else(|e| {
            panic!("cannot run schemathesis ({e}): install it with the pip line of .ci/run")
        });
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "schemathesis found problems ({}):\n{report}\n{}",
        output.status,
        cluster.stderr_tail()
    );
    assert!(report.contains("passed"), "{report}");
}
