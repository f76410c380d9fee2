//! Shared code of the multi-host drill (`tests/multihost.rs`): the hosts and addresses of the
//! test network, the bounds on every wait, and one module per concept. `command` runs `ip`, `nft`
//! and the like with a time limit; `netns` enters a namespace and sweeps up leftovers of killed
//! runs; `lab` builds the namespaces and runs the store's services in them through a
//! `supervisor::LocalCluster`; `firewall` cuts and heals a partition; `poll` waits within a
//! limit; `drill` is the drill's script and its checks, with `tools::load` as the clients.

pub mod command;
pub mod drill;
pub mod firewall;
pub mod lab;
pub mod netns;
pub mod poll;

use std::time::Duration;

pub const TOKEN: &str = "multihost-test-token";
/// The hosts of the spread layout and the client, with their test addresses.
pub const WEB: (&str, &str) = ("web", "10.77.0.10");
pub const ORDERS: [(&str, &str); 3] = [
    ("order-1", "10.77.0.11"),
    ("order-2", "10.77.0.12"),
    ("order-3", "10.77.0.13"),
];
pub const CLIENT: (&str, &str) = ("client", "10.77.0.100");
/// Prefix of every namespace this test makes (then the test's pid), to find leftovers.
pub const PREFIX: &str = "tsmh";

/// Bounds on every wait, so that a broken store fails the test instead of hanging it.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(30);
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
pub const PHASE_TIMEOUT: Duration = Duration::from_secs(60);
pub const CONVERGE_TIMEOUT: Duration = Duration::from_secs(60);
/// Orders the clients must get acknowledged after each event to show that orders go on.
pub const ORDERS_PER_PHASE: usize = 25;
/// Concurrent load sessions, all through the one frontend.
pub const CLIENTS: usize = 2;
/// How long one request of a session may take; an election answers well within it.
pub const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);
/// Bound of the load run, well past what the script can take before one of its waits fails.
pub const LOAD_LIMIT: Duration = Duration::from_secs(900);

/// Why the test cannot run here. Under CI that is a failure, except for not being root.
pub fn unavailable(reason: &str, ci_must_fix: bool) {
    assert!(
        !(ci_must_fix && std::env::var_os("CI").is_some()),
        "multi-host drill cannot run, and CI is set: {reason}"
    );
    eprintln!("skipping the multi-host drill: {reason}");
}
