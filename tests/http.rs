//! HTTP as clients and proxies expect it, on a real frontend: JSON bodies only (415), duplicate
//! keys refused, a body short of its length a 400, chunked bodies taken, 405 with `Allow`, `HEAD`
//! where `GET` is, an `Idempotency-Key` reused with another order a 422, credentials of bytes
//! no credential has a 401. Requests reqwest will not make go over raw TCP.

mod cluster;
mod raw_http;

use cluster::{ClusterOptions, TestCluster};
use common::wire::TOKEN_HEADER;
use raw_http::{exchange, Answer};
use serde_json::{json, Value};

fn error(code: u16, message: &str) -> Value {
    json!({"error": {"code": code, "message": message}})
}

/// `POST /orders` over raw TCP with `head_lines` (each without its CRLF) and `body` as sent.
async fn post_orders(cluster: &TestCluster, head_lines: &[&str], body: &[u8]) -> Answer {
    let mut request = b"POST /orders HTTP/1.1\r\nhost: store\r\nconnection: close\r\n".to_vec();
    for line in head_lines {
        request.extend_from_slice(line.as_bytes());
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"\r\n");
    request.extend_from_slice(body);
    exchange(cluster.local.config.frontends[0].public, &request).await
}

#[tokio::test]
async fn request_bodies_are_whole_json_objects_with_unique_keys() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let order = br#"{"name":"Tux","quantity":1}"#;
    let length = format!("content-length: {}", order.len());
    let json_type = "content-type: application/json";
    let not_json = error(
        415,
        "the request body must be sent as content-type: application/json",
    );

    // What a cross-site form or fetch can send without a preflight is refused.
    for content_type in [
        "content-type: text/plain",
        "content-type: application/x-www-form-urlencoded",
    ] {
        let answer = post_orders(&cluster, &[content_type, &length], order).await;
        assert_eq!(
            (answer.status, answer.json()),
            (415, not_json.clone()),
            "{content_type}"
        );
    }
    let answer = post_orders(&cluster, &[&length], order).await;
    assert_eq!(
        (answer.status, answer.json()),
        (415, not_json),
        "no content type"
    );

    let twice = br#"{"name":"Tux","quantity":1,"name":"Whale"}"#;
    let answer = post_orders(
        &cluster,
        &[json_type, &format!("content-length: {}", twice.len())],
        twice,
    )
    .await;
    assert_eq!(answer.status, 400);
    let message = answer.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        message.starts_with("malformed body: duplicate key `name`"),
        "{message}"
    );

    // Ten bytes of a declared forty, then the client stops writing.
    let answer = post_orders(
        &cluster,
        &[json_type, "content-length: 40"],
        br#"{"name":"T"#,
    )
    .await;
    assert_eq!(
        (answer.status, answer.json()),
        (
            400,
            error(
                400,
                "the request body is incomplete: it ended before its content-length, or its \
                 chunked encoding is malformed"
            )
        )
    );

    let chunked = b"8\r\n{\"name\":\r\n13\r\n\"Tux\",\"quantity\":1}\r\n0\r\n\r\n";
    let answer = post_orders(
        &cluster,
        &[json_type, "transfer-encoding: chunked"],
        chunked,
    )
    .await;
    assert_eq!(
        (answer.status, answer.json()),
        (200, json!({"data": {"order_number": 0}}))
    );

    let mut big = b"1001\r\n".to_vec();
    big.extend(std::iter::repeat_n(b' ', 0x1001));
    big.extend_from_slice(b"\r\n0\r\n\r\n");
    let answer = post_orders(&cluster, &[json_type, "transfer-encoding: chunked"], &big).await;
    assert_eq!(
        (answer.status, answer.json()),
        (413, error(413, "request body over 4096 bytes"))
    );
    assert_eq!(cluster.quantity("Tux").await, 99, "one order took stock");
}

#[tokio::test]
async fn wrong_methods_name_the_right_ones_and_head_answers_where_get_does() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let public = cluster.local.config.frontends[0].public;
    for (method, path, allow) in [
        ("DELETE", "/orders", "POST"),
        ("GET", "/orders", "POST"),
        ("PUT", "/products/Tux", "GET, HEAD"),
        ("POST", "/orders/0", "GET, HEAD"),
        ("OPTIONS", "/health", "GET, HEAD"),
        ("DELETE", "/openapi.json", "GET, HEAD"),
    ] {
        let request = format!("{method} {path} HTTP/1.1\r\nhost: s\r\nconnection: close\r\n\r\n");
        let answer = exchange(public, request.as_bytes()).await;
        assert_eq!(
            (answer.status, answer.header("allow"), answer.json()),
            (
                405,
                Some(allow.to_string()),
                error(405, "method not allowed")
            ),
            "{method} {path}"
        );
    }
    for path in [
        "/products/Tux",
        "/health",
        "/metrics",
        "/openapi.json",
        "/orders/7",
    ] {
        let get = exchange(
            public,
            format!("GET {path} HTTP/1.1\r\nhost: s\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await;
        let head = exchange(
            public,
            format!("HEAD {path} HTTP/1.1\r\nhost: s\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await;
        assert_eq!(head.status, get.status, "{path}");
        assert_eq!(
            head.header("content-type"),
            get.header("content-type"),
            "{path}"
        );
        assert!(head.body.is_empty(), "{path}: HEAD sent a body");
        assert!(!get.body.is_empty(), "{path}");
    }
}

#[tokio::test]
async fn an_idempotency_key_reused_for_another_order_is_a_422() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let place = |key: &'static str, body: Value| {
        let request = cluster
            .http
            .post(cluster.frontend_url("/orders"))
            .header("Idempotency-Key", key)
            .json(&body);
        async move {
            let response = request.send().await.expect("the frontend answers");
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.expect("a JSON body"))
        }
    };
    let reused = error(
        422,
        "this Idempotency-Key was already used for a different order",
    );
    let first = place("gift-1", json!({"name": "Tux", "quantity": 1})).await;
    assert_eq!(first, (200, json!({"data": {"order_number": 0}})));
    let other_quantity = place("gift-1", json!({"name": "Tux", "quantity": 2})).await;
    assert_eq!(other_quantity, (422, reused.clone()));
    let other_toy = place("gift-1", json!({"name": "Whale", "quantity": 1})).await;
    assert_eq!(other_toy, (422, reused.clone()));
    let same = place("gift-1", json!({"quantity": 1, "name": "Tux"})).await;
    assert_eq!(
        same, first,
        "the same order, keys in another order, is the same request"
    );

    // A key whose first order was refused keeps that order too: the catalog remembers the
    // refusal under the key, and must not answer it to a different order.
    let unknown = place("gift-2", json!({"name": "Unicorn", "quantity": 1})).await;
    assert_eq!(unknown, (404, error(404, "product not found")));
    let after_refusal = place("gift-2", json!({"name": "Tux", "quantity": 1})).await;
    assert_eq!(after_refusal, (422, reused));
    let refused_again = place("gift-2", json!({"name": "Unicorn", "quantity": 1})).await;
    assert_eq!(refused_again, unknown);
    assert_eq!(cluster.quantity("Tux").await, 99, "one order of one Tux");
}

#[tokio::test]
async fn credentials_of_bytes_that_are_not_visible_ascii_get_401() {
    let cluster = TestCluster::start(ClusterOptions::default()).await;
    let public = cluster.local.config.frontends[0].public;
    let token = cluster.local.config.token.clone();
    let get = |path: &str, header: &[u8]| {
        let mut request =
            format!("GET {path} HTTP/1.1\r\nhost: s\r\nconnection: close\r\n").into_bytes();
        request.extend_from_slice(header);
        request.extend_from_slice(b"\r\n\r\n");
        request
    };

    let fine = exchange(public, &get("/health", b"authorization: Bearer abc.def")).await;
    assert_eq!(fine.status, 200);
    for (header, name) in [
        (&b"authorization: Bearer caf\xc3\xa9"[..], "authorization"),
        (b"authorization: Bearer\tabc", "authorization"),
        (b"proxy-authorization: Basic \xff", "proxy-authorization"),
        (b"x-cluster-token: two words", TOKEN_HEADER),
    ] {
        let answer = exchange(public, &get("/products/Tux", header)).await;
        assert_eq!(
            (answer.status, answer.json()),
            (
                401,
                error(
                    401,
                    &format!("the {name} header must be visible ASCII characters only")
                )
            ),
            "{}",
            String::from_utf8_lossy(header)
        );
    }

    // A control byte never reaches the routes: the HTTP parser refuses the whole head.
    let control = exchange(public, &get("/health", b"authorization: Bearer \x7f")).await;
    assert_eq!(control.status, 400);

    // The internal listeners: the token itself, then the same token with a byte past ASCII.
    let catalog = cluster.local.config.catalog.internal;
    let path = common::catalog_api::HEALTH;
    let right = exchange(
        catalog,
        &get(path, format!("{TOKEN_HEADER}: {token}").as_bytes()),
    )
    .await;
    assert_eq!(right.status, 200);
    let mut bad = format!("{TOKEN_HEADER}: {token}").into_bytes();
    bad.push(0xe9);
    for header in [
        &bad[..],
        format!("{TOKEN_HEADER}: ").as_bytes(),
        b"x-other: 1",
    ] {
        let answer = exchange(catalog, &get(path, header)).await;
        assert_eq!(
            (answer.status, answer.json()),
            (401, json!("Unauthorized")),
            "{}",
            String::from_utf8_lossy(header)
        );
    }
}
