//! Memory: the resident set (VmRSS in `/proc/<pid>/status`) of each replica, the catalog and
//! the frontend, read by the pid the cluster started them under.

use common::FileError;
use std::path::Path;
use supervisor::{LocalCluster, Service};

use crate::ToolError;

/// The resident set of each running service of `cluster`, in bytes, catalog first.
///
/// # Errors
/// A status file that cannot be read or has no VmRSS line (not Linux).
pub(crate) fn resident_sets(cluster: &LocalCluster) -> Result<Vec<(Service, u64)>, ToolError> {
    let mut sizes = Vec::new();
    for service in cluster.services() {
        if let Some(pid) = cluster.pid(service) {
            sizes.push((service, resident_set(pid)?));
        }
    }
    Ok(sizes)
}

/// VmRSS of process `pid`, in bytes.
///
/// # Errors
/// `/proc/<pid>/status` cannot be read or has no VmRSS line.
pub(crate) fn resident_set(pid: u32) -> Result<u64, ToolError> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path)
        .map_err(FileError::about("cannot read", Path::new(&path)))?;
    vm_rss(&text).ok_or_else(|| ToolError::Service(format!("{path} has no VmRSS line")))
}

/// The `VmRSS:   1234 kB` line of a status file, in bytes.
fn vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line.split_whitespace().skip(1);
    let kib: u64 = words.next()?.parse().ok()?;
    (words.next()? == "kB").then_some(kib * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vm_rss_is_read_in_bytes() {
        let status = "Name:\ttoystore\nVmPeak:\t  99 kB\nVmRSS:\t   12345 kB\nThreads:\t4\n";
        assert_eq!(vm_rss(status), Some(12345 * 1024));
        assert_eq!(vm_rss("Name:\tx\n"), None);
    }

    #[test]
    fn this_process_has_a_resident_set() {
        let bytes = resident_set(std::process::id()).expect("Linux /proc");
        assert!(bytes > 1024 * 1024, "{bytes}");
    }
}
