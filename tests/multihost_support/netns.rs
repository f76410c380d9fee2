//! Network namespaces from this process: running code inside one, and deleting those an earlier,
//! killed run of the drill left behind.

use super::command::run;
use super::PREFIX;
use std::fs;
use std::path::Path;

/// Deletes namespaces left by an earlier run of this test that was killed before its clean-up.
pub fn sweep_leftovers() {
    let Ok(out) = run("ip", &["netns", "list"]) else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let pid: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if !pid.is_empty() && !Path::new(&format!("/proc/{pid}")).exists() {
            eprintln!("deleting leftover namespace {name}");
            let _ = run("ip", &["netns", "delete", name]);
        }
    }
}

/// Runs `f` on a thread that has entered the network namespace `ns`: every socket it opens is
/// in that namespace. The rest of the process stays where it was.
pub fn in_netns<T: Send>(ns: &str, f: impl FnOnce() -> T + Send) -> T {
    let path = format!("/run/netns/{ns}");
    std::thread::scope(|scope| {
        let handle = scope.spawn(move || {
            let file = fs::File::open(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
            use std::os::fd::AsRawFd;
            // SAFETY: setns(2) with a valid descriptor of a network namespace; it changes only
            // this thread's namespace, and the descriptor stays open during the call.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            assert_eq!(
                rc,
                0,
                "setns into {path}: {}",
                std::io::Error::last_os_error()
            );
            f()
        });
        handle
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })
}
