//! Tests of [`super::OrderLog`].

use super::*;

fn entry(number: u64, epoch: u64, request: &str) -> OrderEntry {
    OrderEntry {
        number,
        epoch,
        request_id: RequestId(request.into()),
        name: "Tux".into(),
        quantity: 1,
    }
}

#[test]
fn write_overwrites_drops_tail_and_keeps_index() {
    let dir = tempfile::tempdir().unwrap();
    let log = OrderLog::open(dir.path()).unwrap();
    let first = [entry(0, 1, "a"), entry(1, 1, "b"), entry(2, 1, "c")];
    assert_eq!(log.write(0, &first, 0, |_| false).unwrap(), 3);
    assert_eq!(log.lookup(&RequestId("c".into())).unwrap(), Some(2));
    // A new leader (epoch 2) rewrites 1 and drops the older-epoch tail past its end.
    let second = [entry(1, 2, "x")];
    assert_eq!(log.write(1, &second, 1, |e| e.epoch < 2).unwrap(), 2);
    assert_eq!(log.get(1).unwrap(), Some(entry(1, 2, "x")));
    assert_eq!(log.get(2).unwrap(), None);
    assert_eq!(log.lookup(&RequestId("b".into())).unwrap(), None);
    assert_eq!(log.lookup(&RequestId("c".into())).unwrap(), None);
    assert_eq!(log.lookup(&RequestId("x".into())).unwrap(), Some(1));
    log.raise_meta(META_COMMIT_LEN, 2).unwrap();
    log.raise_meta(META_COMMIT_LEN, 1).unwrap();
    let position = log.position().unwrap();
    assert_eq!((position.len, position.commit_len), (2, 2));
}

/// Regression (found by a drill): `write` took the log's length from its caller, whose copy
/// could lag the tree; it now reads the tree, so the tail past a rewrite is always seen.
#[test]
fn write_measures_the_log_itself() {
    let dir = tempfile::tempdir().unwrap();
    let log = OrderLog::open(dir.path()).unwrap();
    let four: Vec<_> = (0..4).map(|n| entry(n, 1, &format!("r{n}"))).collect();
    log.write(0, &four, 0, |_| false).unwrap();
    let rewritten = [entry(1, 2, "x")];
    assert_eq!(
        log.write(1, &rewritten, 1, |e| e.epoch < 2).unwrap(),
        2,
        "entries 2 and 3 dropped"
    );
    assert_eq!(log.length().unwrap(), 2);
}

#[test]
#[should_panic(expected = "committed entry 0 would change")]
fn committed_entries_never_change_order() {
    let dir = tempfile::tempdir().unwrap();
    let log = OrderLog::open(dir.path()).unwrap();
    log.write(0, &[entry(0, 1, "a")], 0, |_| false).unwrap();
    log.write(0, &[entry(0, 2, "other")], 1, |_| false).unwrap();
}

/// Regression (finding 2 of the protocol review): an id that moves to another number in one
/// rewrite stayed out of the index, so a retry with its key made a second order.
#[test]
fn a_request_that_moves_keeps_its_index_entry() {
    let dir = tempfile::tempdir().unwrap();
    let log = OrderLog::open(dir.path()).unwrap();
    let first: Vec<_> = (0..10).map(|n| entry(n, 1, &format!("r{n}"))).collect();
    log.write(0, &first, 0, |_| false).unwrap();
    log.write(10, &[entry(10, 1, "A"), entry(11, 1, "B")], 10, |_| false)
        .unwrap();
    log.write(10, &[entry(10, 2, "B"), entry(11, 2, "A")], 10, |_| false)
        .unwrap();
    assert_eq!(log.lookup(&RequestId("B".into())).unwrap(), Some(10));
    assert_eq!(log.lookup(&RequestId("A".into())).unwrap(), Some(11));
    log.write(10, &[entry(10, 3, "A")], 10, |_| true).unwrap();
    assert_eq!(log.lookup(&RequestId("A".into())).unwrap(), Some(10));
    assert_eq!(log.lookup(&RequestId("B".into())).unwrap(), None);
}

#[test]
fn a_vote_and_its_epoch_are_read_back_together() {
    use protocol::LogStore;
    let dir = tempfile::tempdir().unwrap();
    let mut log = OrderLog::open(dir.path()).unwrap();
    log.set_vote(7, Some(3)).unwrap();
    log.set_led_epoch(5).unwrap();
    let position = log.position().unwrap();
    assert_eq!(
        (position.epoch, position.granted, position.led_epoch),
        (7, Some(3), 5)
    );
    log.set_vote(8, None).unwrap();
    assert_eq!(log.position().unwrap().granted, None);
}

/// The flush-size histogram reads this count: a rewrite that keeps the length (a new leader's
/// entry replacing an old one) still wrote an entry, which the length alone cannot tell.
#[test]
fn written_entries_count_rewrites_that_keep_the_length() {
    use protocol::LogStore;
    let dir = tempfile::tempdir().unwrap();
    let mut log = OrderLog::open(dir.path()).unwrap();
    let first = [entry(0, 1, "a"), entry(1, 1, "b")];
    LogStore::write(&mut log, 0, &first, &|_| false).unwrap();
    assert_eq!(log.take_written_entries(), 2);
    assert_eq!(log.take_written_entries(), 0, "taking clears the count");
    LogStore::write(&mut log, 1, &[entry(1, 2, "x")], &|e| e.epoch < 2).unwrap();
    assert_eq!(log.length().unwrap(), 2);
    assert_eq!(log.take_written_entries(), 1);
}

/// The start-up check of density reads only the log's ends: a log whose first entry is missing
/// is refused by name, without walking the tree.
#[test]
fn a_log_missing_its_first_entry_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = OrderLog::open(dir.path()).unwrap();
    let entries = [entry(0, 1, "a"), entry(1, 1, "b"), entry(2, 1, "c")];
    assert_eq!(log.write(0, &entries, 0, |_| false).unwrap(), 3);
    assert_eq!(log.position().unwrap().len, 3);
    log.log.remove(u64_key(0)).unwrap();
    let refused = log.position().unwrap_err().to_string();
    assert!(
        refused.contains("last number is 2 but its first is Some(1), not 0: not dense"),
        "{refused}"
    );
}
