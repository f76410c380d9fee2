//! The partition: firewall rules inside one namespace that drop its traffic with one peer, made
//! with nftables or, where nft is missing, iptables.

use super::command::{must, run, runs};
use std::fs;

/// How the partition is made: nftables, or iptables where nft is missing.
#[derive(Clone, Copy, Debug)]
pub enum Firewall {
    Nft,
    Iptables,
}

impl Firewall {
    /// nft where it is installed, else iptables; `TOYSTORE_MULTIHOST_FIREWALL=iptables` (or
    /// `nft`) picks one.
    pub fn find() -> Option<Firewall> {
        match std::env::var("TOYSTORE_MULTIHOST_FIREWALL").as_deref() {
            Ok("iptables") => {
                return runs("iptables", &["--version"]).then_some(Firewall::Iptables)
            }
            Ok("nft") => return runs("nft", &["--version"]).then_some(Firewall::Nft),
            _ => {}
        }
        if runs("nft", &["--version"]) {
            Some(Firewall::Nft)
        } else if runs("iptables", &["--version"]) {
            Some(Firewall::Iptables)
        } else {
            None
        }
    }

    /// Drops everything between namespace `ns` and `peer`, both ways, inside `ns`.
    pub fn cut(self, ns: &str, peer: &str) {
        self.cut_all(ns, &[peer]);
    }

    /// Drops everything between namespace `ns` and each of `peers`, both ways, inside `ns`.
    pub fn cut_all(self, ns: &str, peers: &[&str]) {
        match self {
            Firewall::Nft => {
                let mut rules = String::from(
                    "add table inet partition\n\
                     add chain inet partition input { type filter hook input priority 0; }\n\
                     add chain inet partition output { type filter hook output priority 0; }\n",
                );
                for peer in peers {
                    rules.push_str(&format!(
                        "add rule inet partition input ip saddr {peer} drop\n\
                         add rule inet partition output ip daddr {peer} drop\n"
                    ));
                }
                let file = std::env::temp_dir().join(format!("{ns}-partition.nft"));
                fs::write(&file, rules).expect("write nft rules");
                must(
                    "ip",
                    &["netns", "exec", ns, "nft", "-f", file.to_str().unwrap()],
                );
                let _ = fs::remove_file(file);
            }
            Firewall::Iptables => {
                for peer in peers {
                    iptables(ns, "-A", peer);
                }
            }
        }
    }

    pub fn heal(self, ns: &str, peer: &str) {
        self.heal_all(ns, &[peer]);
    }

    /// Undoes [`Self::cut_all`].
    pub fn heal_all(self, ns: &str, peers: &[&str]) {
        match self {
            Firewall::Nft => {
                must(
                    "ip",
                    &[
                        "netns",
                        "exec",
                        ns,
                        "nft",
                        "delete",
                        "table",
                        "inet",
                        "partition",
                    ],
                );
            }
            Firewall::Iptables => {
                for peer in peers {
                    iptables(ns, "-D", peer);
                }
            }
        }
    }

    /// Whether the firewall works inside namespace `ns` (the kernel may lack it).
    pub fn works_in(self, ns: &str) -> bool {
        let ok = |args: &[&str]| run("ip", args).map(|o| o.status.success()).unwrap_or(false);
        match self {
            Firewall::Nft => {
                ok(&["netns", "exec", ns, "nft", "add", "table", "inet", "probe"])
                    && ok(&[
                        "netns", "exec", ns, "nft", "delete", "table", "inet", "probe",
                    ])
            }
            Firewall::Iptables => ok(&["netns", "exec", ns, "iptables", "-L", "INPUT", "-n"]),
        }
    }
}

/// Adds (`-A`) or deletes (`-D`) the two iptables rules that drop traffic to and from `peer`.
fn iptables(ns: &str, action: &str, peer: &str) {
    for (chain, side) in [("INPUT", "-s"), ("OUTPUT", "-d")] {
        must(
            "ip",
            &[
                "netns", "exec", ns, "iptables", action, chain, side, peer, "-j", "DROP",
            ],
        );
    }
}
