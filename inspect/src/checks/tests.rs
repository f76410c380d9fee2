use super::*;
use catalog::{Movement, StockRecord};

fn entry(number: u64, epoch: u64, request: &str, name: &str, quantity: u32) -> OrderEntry {
    OrderEntry {
        number,
        epoch,
        request_id: RequestId(request.into()),
        name: name.into(),
        quantity,
    }
}

/// Three orders: 1 Tux, 2 Lego, 1 Tux.
fn log() -> Vec<OrderEntry> {
    vec![
        entry(0, 1, "a", "Tux", 1),
        entry(1, 1, "b", "Lego", 2),
        entry(2, 2, "c", "Tux", 1),
    ]
}

fn replica(id: u32, commit_len: u64, entries: Vec<OrderEntry>) -> ReplicaSnapshot {
    ReplicaSnapshot {
        id,
        epoch: 2,
        log_epoch: 2,
        commit_len,
        entries,
    }
}

fn movement(name: &str, kind: MovementKind, delta: i64, after: u32) -> Movement {
    Movement {
        name: name.into(),
        kind,
        delta,
        quantity_after: after,
        version: 1,
    }
}

fn buy(request: &str) -> MovementKind {
    MovementKind::Buy {
        request_id: RequestId(request.into()),
    }
}

/// The catalog that matches [`log`]: Tux 10 → 9 → 8, Lego 5 → 3.
fn catalog() -> CatalogSnapshot {
    let record = |quantity, initial| StockRecord {
        price_cents: 100,
        quantity,
        initial_quantity: initial,
        version: 1,
    };
    CatalogSnapshot {
        products: [("Lego".into(), record(3, 5)), ("Tux".into(), record(8, 10))].into(),
        journal: vec![
            (0, movement("Tux", MovementKind::Initial, 10, 10)),
            (1, movement("Lego", MovementKind::Initial, 5, 5)),
            (2, movement("Tux", buy("a"), -1, 9)),
            (3, movement("Lego", buy("b"), -2, 3)),
            (5, movement("Tux", buy("c"), -1, 8)),
        ],
    }
}

fn healthy() -> Vec<ReplicaSnapshot> {
    vec![
        replica(1, 3, log()),
        replica(2, 3, log()),
        replica(3, 2, log()),
    ]
}

#[test]
fn a_healthy_store_passes_every_check() {
    let results = all(&catalog(), &healthy());
    assert_eq!(results.len(), 6);
    for result in &results {
        assert!(result.passed, "{result:?}");
    }
    assert_eq!(results[0].figures["committed"], Figure::Count(3));
    assert_eq!(
        results[3].figures["order log of"],
        Figure::Text("replica 1".into())
    );
    let json = serde_json::to_value(&results[3]).expect("a check is plain data");
    assert_eq!(json["figures"]["order_log_of"], "replica 1");
    assert!(json["figures"]["sold_in_the_order_log"].is_i64(), "{json}");
}

#[test]
fn disagreement_on_a_committed_number_names_both_entries() {
    let mut replicas = healthy();
    replicas[2].entries[1] = entry(1, 1, "x", "Lego", 2);
    let result = committed_entries_agree(&replicas);
    assert!(!result.passed);
    assert_eq!(result.violations.len(), 1, "{result:?}");
    let evidence = &result.violations[0];
    assert!(evidence.contains("committed number 1"), "{evidence}");
    assert!(evidence.contains("request b") && evidence.contains("request x"));
    // A differing stamp (same order, newer epoch, as data from builds that restamped adopted
    // entries may hold) is agreement, not a violation.
    let mut replicas = healthy();
    replicas[1].entries[0].epoch = 7;
    assert!(committed_entries_agree(&replicas).passed);
}

#[test]
fn a_committed_number_nobody_holds_is_a_loss() {
    let replicas = vec![replica(1, 4, log()), replica(2, 3, log())];
    let result = committed_entries_agree(&replicas);
    assert!(!result.passed);
    assert!(result.violations[0].contains("numbers 3..4 are committed"));
    let mut hole = log();
    hole.remove(1);
    let result = committed_entries_agree(&[replica(1, 3, hole), replica(2, u64::MAX, vec![])]);
    assert_eq!(result.violations.len(), 2, "{result:?}");
    assert!(result.violations[1].contains("number 1 is committed"));
}

#[test]
fn holes_and_overcounted_commits_break_density() {
    let mut gap = log();
    gap.remove(1);
    let result = numbers_dense(&[replica(1, 1, gap), replica(2, 9, log())]);
    assert_eq!(result.violations.len(), 2, "{result:?}");
    assert!(result.violations[0].contains("numbers 1..2 are missing"));
    assert!(result.violations[1].contains("counts 9 entries committed but holds 3"));
}

#[test]
fn a_request_twice_in_a_log_or_the_journal_is_caught() {
    let mut twice = log();
    twice[2].request_id = RequestId("a".into());
    let mut catalog = catalog();
    catalog.journal.push((9, movement("Tux", buy("a"), -1, 7)));
    let result = one_order_per_request(&catalog, &[replica(1, 3, twice)]);
    assert_eq!(result.violations.len(), 2, "{result:?}");
    assert!(result.violations[0].contains("request a has orders 0 and 2"));
    assert!(result.violations[1].contains("took stock twice, journal 2 and 9"));
}

#[test]
fn stock_that_does_not_add_up_is_shown_with_its_terms() {
    let mut catalog = catalog();
    catalog.products.get_mut("Tux").unwrap().quantity = 9;
    let result = stock_conserved(&catalog, &log());
    assert!(!result.passed);
    let evidence = result.violations.join("\n");
    assert!(
        evidence.contains("Tux: initial 10 + restocked 0 (0 restocks) - sold 2 (order log) = 8"),
        "{evidence}"
    );
    assert!(evidence.contains("the catalog holds 9 (its journal records 2 sold)"));
    assert!(evidence.contains("the journal's last movement leaves 8"));
}

#[test]
fn restocks_count_and_unknown_toys_are_violations() {
    let mut catalog = catalog();
    catalog.journal.push((6, movement("Lego", buy("d"), -3, 0)));
    catalog
        .journal
        .push((7, movement("Lego", MovementKind::Restock, 5, 5)));
    catalog.products.get_mut("Lego").unwrap().quantity = 5;
    let mut orders = log();
    orders.push(entry(3, 2, "d", "Lego", 3));
    assert!(stock_conserved(&catalog, &orders).passed);
    orders.push(entry(4, 2, "e", "Unicorn", 1));
    let result = stock_conserved(&catalog, &orders);
    assert!(result.violations[0].contains("Unicorn"), "{result:?}");
}

#[test]
fn buys_and_orders_must_pair_up() {
    let mut orders = log();
    orders[1].quantity = 3; // the buy took 2
    orders.remove(2); // request c bought but has no order
    orders.push(entry(2, 2, "z", "Tux", 1)); // an order without a buy
    let result = buys_match_orders(&catalog(), &orders);
    let evidence = result.violations.join("\n");
    assert_eq!(result.violations.len(), 3, "{evidence}");
    assert!(evidence.contains("#1: 3 Lego") && evidence.contains("took 2 Lego"));
    assert!(evidence.contains("#2: 1 Tux (epoch 2, request z) has no buy"));
    assert!(evidence.contains("for request c (journal 5), but no order"));
}

#[test]
fn differing_logs_name_the_first_difference() {
    let mut replicas = healthy();
    replicas[0].entries.pop();
    let result = logs_identical(&replicas);
    assert_eq!(
        result.violations.len(),
        1,
        "only the laggard is named: {result:?}"
    );
    let evidence = &result.violations[0];
    assert!(evidence.starts_with("replica 1 (2 entries"), "{evidence}");
    assert!(
        evidence.contains("differs from replica 2 (3 entries"),
        "{evidence}"
    );
    assert!(evidence.contains("first at number 2: replica 1 holds nothing, replica 2 holds #2"));
    assert_eq!(first_difference(&log(), &log()), None);
    let mut restamped = log();
    restamped[0].epoch = 5;
    assert_eq!(
        first_difference(&log(), &restamped),
        Some(0),
        "epochs count"
    );
}

#[test]
fn the_reference_log_is_the_one_a_leader_would_adopt() {
    let mut replicas = healthy();
    replicas[0].log_epoch = 1;
    replicas[2].entries.push(entry(3, 2, "d", "Tux", 1));
    assert_eq!(reference_log(&replicas).map(|r| r.id), Some(3));
    assert!(reference_log(&[]).is_none());
}

#[test]
fn evidence_is_capped_but_counted() {
    let many: Vec<OrderEntry> = (0..200)
        .map(|n| entry(n, 1, &format!("r{n}"), "Tux", 1))
        .collect();
    let result = buys_match_orders(&CatalogSnapshot::default(), &many);
    assert_eq!(result.violations.len(), MAX_LISTED_VIOLATIONS + 1);
    assert!(result.violations.last().unwrap().contains("and 150 more"));
}

#[test]
fn empty_inputs_pass_without_panicking() {
    for result in all(&CatalogSnapshot::default(), &[]) {
        assert!(result.passed, "{result:?}");
    }
}
