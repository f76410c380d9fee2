//! Script tests over one node: a request in, the node's answer out, as toydb's Raft scripts do.
//! Each one pins a rule that a finding of the protocol review broke.

use common::wire::{AppendReply, AppendRequest, LeaderNotice, LogPage, Prepare};
use common::{Error, OrderEntry, RequestId, MAX_EPOCH};

use crate::io::{Call, Output, Reply, Request, Tag};
use crate::store::{LogStore, MemoryStore};
use crate::{Flaws, Node};

mod leader;

fn entry(number: u64, epoch: u64) -> OrderEntry {
    OrderEntry {
        number,
        epoch,
        request_id: RequestId(format!("r{number}")),
        name: "Tux".into(),
        quantity: 1,
    }
}

/// Replica 2 of {1, 2, 3}, caught up and ready.
fn replica_two() -> Node<MemoryStore> {
    let mut node = Node::new(2, vec![1, 3], MemoryStore::default()).unwrap();
    node.start();
    for _ in 0..crate::CATCH_UP_WAIT_TICKS {
        node.tick();
    }
    node.take_outputs();
    assert!(node.health().ready);
    node
}

/// Sends one request and returns the node's answer to it.
fn ask(node: &mut Node<MemoryStore>, request: Request) -> common::Result<Reply> {
    node.on_request(Tag(99), request);
    let outputs = node.take_outputs();
    outputs
        .into_iter()
        .find_map(|o| match o {
            Output::Reply {
                tag: Tag(99),
                reply,
            } => Some(reply),
            _ => None,
        })
        .expect("the node answers at once")
}

fn append(epoch: u64, leader: u32, from: u64, entries: Vec<OrderEntry>) -> Request {
    Request::Append(AppendRequest {
        epoch,
        leader,
        from,
        entries,
        commit_len: 0,
        round: 0,
    })
}

/// Finding 1: once a replica granted an epoch to one leader, a notice, a fencing read or an
/// append of another leader in that epoch is refused.
#[test]
fn an_epoch_is_granted_to_one_leader_only() {
    let mut node = replica_two();
    let prepare = |leader| {
        Request::Prepare(Prepare {
            epoch: 5,
            leader,
            from: 0,
        })
    };
    assert!(matches!(ask(&mut node, prepare(3)), Ok(Reply::Promise(_))));
    assert_eq!(
        ask(&mut node, prepare(1)),
        Err(Error::EpochTaken {
            epoch: 5,
            leader: 3
        })
    );
    let notice = Request::Leader(LeaderNotice { id: 1, epoch: 5 });
    assert_eq!(
        ask(&mut node, notice),
        Err(Error::EpochTaken {
            epoch: 5,
            leader: 3
        })
    );
    // The grant survives a crash: it was written before the answer left.
    let mut store = node.store().clone();
    store.flush();
    store.crash();
    let mut restarted = Node::new(2, vec![1, 3], store).unwrap();
    assert_eq!(
        ask(&mut restarted, prepare(1)),
        Err(Error::EpochTaken {
            epoch: 5,
            leader: 3
        })
    );
    assert!(matches!(
        ask(&mut restarted, prepare(3)),
        Ok(Reply::Promise(_))
    ));
}

/// The old rule, switched back on, lets the second leader in: the test above can fail.
#[test]
fn the_old_rule_let_a_second_leader_in() {
    let mut node = replica_two();
    node.flaws = Flaws {
        grant_any_leader_in_epoch: true,
        ..Flaws::default()
    };
    let prepare = |leader| {
        Request::Prepare(Prepare {
            epoch: 5,
            leader,
            from: 0,
        })
    };
    assert!(ask(&mut node, prepare(3)).is_ok());
    assert!(ask(&mut node, prepare(1)).is_ok());
}

/// Finding 5: epochs and positions out of range are a 400, never a wrap or a panic.
#[test]
fn out_of_range_values_are_bad_requests() {
    let mut node = replica_two();
    let huge = Request::Leader(LeaderNotice {
        id: 2,
        epoch: u64::MAX,
    });
    assert!(matches!(ask(&mut node, huge), Err(Error::BadRequest(_))));
    let prepare = Request::Prepare(Prepare {
        epoch: MAX_EPOCH + 1,
        leader: 1,
        from: 0,
    });
    assert!(matches!(ask(&mut node, prepare), Err(Error::BadRequest(_))));
    let far = append(1, 1, u64::MAX, vec![entry(u64::MAX, 1)]);
    assert!(matches!(ask(&mut node, far), Err(Error::BadRequest(_))));
    assert_eq!(node.epoch(), 0, "nothing was obeyed");
}

/// Found while writing the node: an append that a newer one overtook must not drop the
/// leader's own adopted entries (stamped with older epochs) past its end.
#[test]
fn an_overtaken_append_keeps_the_leaders_adopted_entries() {
    let mut node = replica_two();
    let adopted: Vec<OrderEntry> = (0..5).map(|n| entry(n, 1)).collect();
    let newer = ask(&mut node, append(2, 1, 0, adopted.clone()));
    assert!(matches!(
        newer,
        Ok(Reply::Appended(AppendReply {
            ok: true,
            synced_len: 5,
            ..
        }))
    ));
    let older = ask(&mut node, append(2, 1, 0, adopted[..3].to_vec()));
    assert!(matches!(
        older,
        Ok(Reply::Appended(AppendReply { ok: true, .. }))
    ));
    assert_eq!(node.len(), 5, "entries 3 and 4 are the leader's too");
    assert_eq!(node.store().get(4).unwrap(), Some(entry(4, 1)));
}

/// A candidate that lost its epoch follows the winner's appends (its vote counted only in its
/// own takeover); a replica that follows a leader of an epoch refuses a rival of it.
#[test]
fn a_loser_follows_the_winner_and_a_leader_refuses_a_rival() {
    let mut node = replica_two();
    node.on_request(Tag(1), Request::Leader(LeaderNotice { id: 2, epoch: 4 }));
    node.take_outputs();
    assert_eq!(node.health().role, common::wire::Role::Candidate);
    let won = ask(&mut node, append(4, 3, 0, vec![entry(0, 4)]));
    assert!(
        matches!(won, Ok(Reply::Appended(AppendReply { ok: true, .. }))),
        "{won:?}"
    );
    assert_eq!(node.health().leader, Some(3));
    let rival = ask(&mut node, append(4, 1, 0, vec![entry(0, 4)]));
    assert_eq!(
        rival,
        Err(Error::EpochTaken {
            epoch: 4,
            leader: 3
        })
    );
    assert_eq!(node.health().leader, Some(3));
}

/// Replica 2 of {1, 2, 3} restarted over `held` (labelled `log_epoch`, `commit_len` committed),
/// reading pages of two entries; peer 3 answered that it has nothing past the commit index.
fn restarted_over(held: &[OrderEntry], log_epoch: u64, commit_len: u64) -> Node<MemoryStore> {
    let mut store = MemoryStore::default();
    store.write(0, held, &|_| false).unwrap();
    store.set_vote(log_epoch, None).unwrap();
    store.set_log_epoch(log_epoch).unwrap();
    store.set_commit_len(commit_len).unwrap();
    store.flush();
    let mut node = Node::new(2, vec![1, 3], store).unwrap();
    node.page_limit = 2;
    node.start();
    node.take_outputs();
    let nothing = page(log_epoch, commit_len, commit_len, vec![]);
    node.on_answer(3, Call::Log { from: commit_len }, Ok(Reply::Page(nothing)));
    node
}

fn page(log_epoch: u64, len: u64, commit_len: u64, entries: Vec<OrderEntry>) -> LogPage {
    LogPage {
        entries,
        epoch: log_epoch,
        log_epoch,
        len,
        commit_len,
    }
}

/// The pages peer 1 was asked for, in order.
fn asked_of_peer_one(node: &mut Node<MemoryStore>) -> Vec<u64> {
    node.take_outputs()
        .into_iter()
        .filter_map(|o| match o {
            Output::Send {
                to: 1,
                call: Call::Log { from },
                ..
            } => Some(from),
            _ => None,
        })
        .collect()
}

/// Peer 1's log: entries 0..10, the first six of epoch 1 (as replica 2 holds them), the rest of
/// epoch 2; 0..8 committed.
fn peer_one_entries(from: u64, to: u64) -> Vec<OrderEntry> {
    (from..to)
        .map(|n| entry(n, if n < 6 { 1 } else { 2 }))
        .collect()
}

/// A catch-up writes each page's committed entries as the page comes, asks for two pages at
/// once, takes a page that came early once the one before it comes, keeps its own tail while it
/// agrees, and adopts the uncommitted rest at the end; its progress (fetched, remaining) is
/// reported as it goes.
#[test]
fn a_catch_up_writes_committed_pages_as_they_come() {
    let mut node = restarted_over(&peer_one_entries(0, 6), 1, 2);
    let progress = |node: &Node<MemoryStore>| {
        let remaining = node.catching_up().map(|c| c.remaining);
        (node.caught_up_entries(), remaining)
    };
    assert_eq!(progress(&node), (0, Some(0)), "no peer's log chosen yet");
    let first = page(2, 10, 8, peer_one_entries(2, 4));
    node.on_answer(1, Call::Log { from: 2 }, Ok(Reply::Page(first)));
    assert_eq!(asked_of_peer_one(&mut node), vec![4, 6]);
    assert_eq!(progress(&node), (2, Some(6)));
    assert_eq!(
        node.commit_len(),
        4,
        "the first page's entries are committed"
    );
    assert_eq!(node.len(), 6, "its own tail agrees so far, and stays");
    assert_eq!(
        node.log_epoch(),
        1,
        "the label changes only with the whole log"
    );

    let early = page(2, 10, 8, peer_one_entries(6, 8));
    node.on_answer(1, Call::Log { from: 6 }, Ok(Reply::Page(early)));
    assert_eq!(
        node.commit_len(),
        4,
        "a page is taken only after the one before it"
    );
    let second = page(2, 10, 8, peer_one_entries(4, 6));
    node.on_answer(1, Call::Log { from: 4 }, Ok(Reply::Page(second)));
    assert_eq!((node.len(), node.commit_len()), (8, 8));
    assert_eq!(asked_of_peer_one(&mut node), vec![8]);
    assert!(!node.health().ready);
    assert_eq!(
        progress(&node),
        (6, Some(2)),
        "the early page counts once taken"
    );

    let last = page(2, 10, 8, peer_one_entries(8, 10));
    node.on_answer(1, Call::Log { from: 8 }, Ok(Reply::Page(last)));
    assert!(node.health().ready);
    assert_eq!(progress(&node), (8, None), "caught up");
    assert_eq!((node.len(), node.commit_len()), (10, 8));
    assert_eq!(node.log_epoch(), 2);
    let held: Vec<OrderEntry> = node.store().entries().cloned().collect();
    assert_eq!(held, peer_one_entries(0, 10));
}

/// A log that differs from a committed page drops its tail past the page: an entry that differs
/// from a committed one was never committed, nor is anything after it.
#[test]
fn a_catch_up_drops_a_tail_that_differs_from_committed_entries() {
    let mut lost: Vec<OrderEntry> = peer_one_entries(0, 6);
    for e in &mut lost[3..] {
        e.request_id = RequestId(format!("lost{}", e.number));
    }
    let mut node = restarted_over(&lost, 1, 2);
    let first = page(2, 10, 8, peer_one_entries(2, 4));
    node.on_answer(1, Call::Log { from: 2 }, Ok(Reply::Page(first)));
    assert_eq!((node.len(), node.commit_len()), (4, 4));
    assert_eq!(node.store().get(3).unwrap(), Some(entry(3, 1)));
}

/// A page still out is asked for again after `PULL_RESEND_TICKS`, then after twice as long: a
/// slow page is not slowed down further by copies of its own read.
#[test]
fn a_fetch_backs_off_its_resends() {
    let mut node = restarted_over(&peer_one_entries(0, 2), 1, 2);
    let first = page(2, 10, 8, peer_one_entries(2, 4));
    node.on_answer(1, Call::Log { from: 2 }, Ok(Reply::Page(first)));
    assert_eq!(asked_of_peer_one(&mut node), vec![4, 6]);
    let mut resent_at = Vec::new();
    for tick in 1..=3 * crate::PULL_RESEND_TICKS {
        node.tick();
        if !asked_of_peer_one(&mut node).is_empty() {
            resent_at.push(tick);
        }
    }
    let wait = crate::PULL_RESEND_TICKS;
    assert_eq!(resent_at, vec![wait, 3 * wait]);
}

/// A replica catching up takes no entries from a leader (its pages bring them a page at a time,
/// where the leader would send the whole gap in one append) and says so, so that the leader sends
/// it heartbeats only; once ready, it takes them.
#[test]
fn a_replica_catching_up_refuses_appends_and_says_why() {
    let mut node = restarted_over(&peer_one_entries(0, 2), 1, 2);
    let entries = peer_one_entries(2, 4);
    let refused = ask(&mut node, append(2, 1, 2, entries.clone()));
    assert!(
        matches!(
            refused,
            Ok(Reply::Appended(AppendReply {
                ok: false,
                recovering: true,
                synced_len: 2,
                ..
            }))
        ),
        "{refused:?}"
    );
    assert_eq!(node.len(), 2);
    let nothing_newer = page(1, 2, 2, vec![]);
    node.on_answer(1, Call::Log { from: 2 }, Ok(Reply::Page(nothing_newer)));
    assert!(node.health().ready);
    let taken = ask(&mut node, append(2, 1, 2, entries));
    assert!(
        matches!(
            taken,
            Ok(Reply::Appended(AppendReply {
                ok: true,
                recovering: false,
                ..
            }))
        ),
        "{taken:?}"
    );
    assert_eq!(node.len(), 4);
}
