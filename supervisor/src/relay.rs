//! [`ChildOutput::Relay`](crate::ChildOutput::Relay): a child's standard error copied line by
//! line to ours, its last line kept, so that `toystore up` can say in one line why a service
//! stopped (its `error: ...`), which a shared terminal alone would not let it read.

use std::io::{BufRead, BufReader, Write};
use std::process::ChildStderr;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::cluster::LocalCluster;
use crate::service::Service;

/// The thread copying one child's standard error.
pub(crate) struct Relay {
    last: Arc<Mutex<Option<String>>>,
    thread: JoinHandle<()>,
}

impl Relay {
    pub(crate) fn start(stderr: ChildStderr) -> Relay {
        let last = Arc::new(Mutex::new(None));
        let kept = Arc::clone(&last);
        let thread = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                // Our own standard error gone is no reason to block the child on a full pipe:
                // keep reading, drop the copy.
                let _ = writeln!(std::io::stderr().lock(), "{line}");
                if !line.trim().is_empty() {
                    *common::sync::lock(&kept) = Some(line);
                }
            }
        });
        Relay { last, thread }
    }

    /// The last non-empty line, once the child closed its end (it exited).
    fn finish(self) -> Option<String> {
        let _ = self.thread.join();
        common::sync::lock(&self.last).take()
    }
}

impl LocalCluster {
    /// The last line a service that exited wrote to its standard error, with
    /// [`ChildOutput::Relay`](crate::ChildOutput::Relay); `None` with other outputs, or if it
    /// wrote nothing. Call only once the service was reaped ([`Self::reap_exited`]): it waits
    /// for the child's end of the pipe to close.
    pub fn last_stderr_line(&mut self, service: Service) -> Option<String> {
        self.relays.remove(&service)?.finish()
    }
}
