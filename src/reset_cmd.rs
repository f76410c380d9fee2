//! `toystore reset`: wipes the store's state under the data root the cluster file names, so the
//! next `up` starts from the products file again.
//!
//! Only what the services write there is removed (`catalog`, `order-N`, `frontend-N` and their
//! `.stderr` files), so a data root pointed at a directory holding anything else loses nothing
//! else. It refuses while `toystore up` supervises the data root (even between two restarts of a
//! service), while any service runs: a held sled database names its service and pid
//! ([`common::db_lock`]), and any process with a file open under the data root (a frontend's
//! log) is named by pid. It asks before removing anything unless `--yes`.

use clap::Args;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

use crate::error::CliError;
use crate::ClusterArgs;

/// Arguments of `toystore reset`.
#[derive(Args)]
pub struct ResetArgs {
    #[command(flatten)]
    cluster: ClusterArgs,
    /// Remove without asking.
    #[arg(long)]
    yes: bool,
}

pub fn run(args: ResetArgs) -> Result<(), CliError> {
    let config = args.cluster.load()?;
    let root = &config.data_root;
    let entries = service_entries(root)?;
    if entries.is_empty() {
        println!("nothing to reset under {}", root.display());
        return Ok(());
    }
    if let Some(user) = running_service(root, &entries)? {
        return Err(CliError::Failed(format!(
            "the store is running: {user}; stop it first (Ctrl-C for `toystore up`), nothing \
             was removed"
        )));
    }
    let names: Vec<String> = entries
        .iter()
        .filter_map(|p| Some(p.file_name()?.to_string_lossy().into_owned()))
        .collect();
    let what = format!(
        "{} entries under {} ({})",
        entries.len(),
        root.display(),
        names.join(", ")
    );
    if !args.yes && !confirmed(&what)? {
        return Err(CliError::Failed(format!(
            "reset removes {what}; pass --yes to confirm (nothing was removed)"
        )));
    }
    for path in &entries {
        let removed = if path.is_dir() {
            std::fs::remove_dir_all(path)
        } else {
            std::fs::remove_file(path)
        };
        removed.map_err(common::FileError::about("cannot remove", path))?;
        println!("removed {}", path.display());
    }
    println!(
        "reset {}: {} entries removed",
        root.display(),
        entries.len()
    );
    Ok(())
}

/// What the services write under `root`, sorted; nothing when `root` does not exist.
fn service_entries(root: &Path) -> Result<Vec<PathBuf>, CliError> {
    let listing = match std::fs::read_dir(root) {
        Ok(listing) => listing,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(common::FileError::about("cannot read", root)(e).into()),
    };
    let mut entries: Vec<PathBuf> = listing
        .flatten()
        .filter(|e| e.file_name().to_str().is_some_and(is_service_entry))
        .map(|e| e.path())
        .collect();
    entries.sort();
    Ok(entries)
}

/// `catalog`, `order-N`, `frontend-N`, each also with `.stderr` (a drill's captured output).
fn is_service_entry(name: &str) -> bool {
    let service = name.strip_suffix(".stderr").unwrap_or(name);
    let numbered = |prefix: &str| {
        service
            .strip_prefix(prefix)
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
    };
    service == "catalog" || numbered("order-") || numbered("frontend-")
}

/// A service still using the state: `up` supervising `root`, a held database, or else any
/// process with a file open under `root`.
fn running_service(root: &Path, entries: &[PathBuf]) -> Result<Option<String>, CliError> {
    // First: between two restarts of a crashed service, `up` holds the root and no service does.
    let supervisor = common::db_lock::supervisor(root).map_err(common::FileError::about(
        "cannot probe the supervision lock of",
        root,
    ))?;
    if let Some(up) = supervisor {
        return Ok(Some(format!("{} is supervised by {up}", root.display())));
    }
    for dir in entries.iter().filter(|p| p.is_dir()) {
        let held = common::db_lock::holder(dir)
            .map_err(common::FileError::about("cannot probe the lock of", dir))?;
        if let Some(holder) = held {
            return Ok(Some(format!("{} is in use by {holder}", dir.display())));
        }
    }
    Ok(open_file_under(root).map(|(pid, path)| {
        format!(
            "{} is open in pid {pid} ({})",
            path.display(),
            command_line(pid)
        )
    }))
}

/// Some process (of those whose descriptors this user may read) with a file open under `root`,
/// from `/proc/<pid>/fd` (Linux). Best effort: a process it may not read goes unseen.
fn open_file_under(root: &Path) -> Option<(u32, PathBuf)> {
    let root = root.canonicalize().ok()?;
    let own = std::process::id();
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: u32 = entry.file_name().to_str()?.parse().ok()?;
            if pid == own {
                return None;
            }
            let fds = std::fs::read_dir(entry.path().join("fd")).ok()?;
            fds.flatten().find_map(|fd| {
                let target = std::fs::read_link(fd.path()).ok()?;
                target.starts_with(&root).then_some((pid, target))
            })
        })
}

fn command_line(pid: u32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|raw| {
            let words: Vec<String> = raw
                .split(|&b| b == 0)
                .filter(|w| !w.is_empty())
                .map(|w| String::from_utf8_lossy(w).into_owned())
                .collect();
            words.join(" ")
        })
        .unwrap_or_else(|_| "gone since".into())
}

/// Asks on the terminal; off a terminal there is nobody to ask, which is a no.
fn confirmed(what: &str) -> Result<bool, CliError> {
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    print!("remove {what}? [y/N] ");
    std::io::stdout().flush().map_err(CliError::Output)?;
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(CliError::Output)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

#[cfg(test)]
mod tests {
    use super::is_service_entry;

    #[test]
    fn only_what_services_write_is_a_service_entry() {
        for name in [
            "catalog",
            "order-1",
            "order-12",
            "frontend-2",
            "order-3.stderr",
        ] {
            assert!(is_service_entry(name), "{name}");
        }
        for name in [
            "cluster.toml",
            "products.json",
            "order-",
            "order-x",
            "catalogue",
            "notes",
        ] {
            assert!(!is_service_entry(name), "{name}");
        }
    }
}
