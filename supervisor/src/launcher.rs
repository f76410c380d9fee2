//! What a service's command line starts with: the `toystore` binary itself, or a wrapper that
//! execs it somewhere else (another network namespace, for the multi-host drill).

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::cluster::LocalCluster;
use crate::service::Service;

type Prefix = Box<dyn Fn(Service) -> Vec<OsString> + Send + Sync>;

/// The wrapper of a [`LocalCluster`]'s services, none by default.
#[derive(Default)]
pub(crate) struct Launcher(Option<Prefix>);

impl Launcher {
    /// The command that starts `service` from `exe`, before its own arguments.
    pub(crate) fn command(&self, exe: &Path, service: Service) -> Command {
        let prefix = self.0.as_ref().map(|prefix| prefix(service));
        match prefix.as_deref() {
            Some([program, args @ ..]) => {
                let mut command = Command::new(program);
                command.args(args).arg(exe);
                command
            }
            _ => Command::new(exe),
        }
    }
}

impl LocalCluster {
    /// Starts every service from now on under a wrapper: `prefix(service)` is the program and
    /// arguments put before the `toystore` binary and its own arguments, for example
    /// `ip netns exec <namespace>`; an empty prefix runs the binary itself.
    ///
    /// The wrapper must exec the binary in its own process (as `ip netns exec`, `env` or `nice`
    /// do), not run it as a child: this cluster signals and reaps the pid it spawned, and that
    /// must be the service's, or a kill would leave the service running.
    pub fn set_launcher(
        &mut self,
        prefix: impl Fn(Service) -> Vec<OsString> + Send + Sync + 'static,
    ) {
        self.launcher = Launcher(Some(Box::new(prefix)));
    }
}

/// Makes the child get SIGTERM when the thread that starts it dies, so that no service outlives
/// a supervisor that was killed (SIGKILL gives it no chance to stop them). Linux sends the
/// signal when the forking *thread* exits: spawn from a thread that lives as long as the cluster.
pub(crate) fn die_with_parent(command: &mut Command) {
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: runs between fork and exec, and calls only async-signal-safe functions (prctl,
    // getppid) and builds an error without allocating.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // A parent that died before prctl sends nothing: its child must not start at all.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

impl LocalCluster {
    /// Every service started from now on gets SIGTERM when this process dies, however it dies
    /// (`toystore up`). Spawn only from a thread that lives as long as the cluster (see
    /// [`die_with_parent`]).
    pub fn set_die_with_parent(&mut self, on: bool) {
        self.die_with_parent = on;
    }

    /// Sets `key=value` in the environment of every service started from now on (for example
    /// `TOYSTORE_LOG_FORMAT`).
    pub fn set_child_env(&mut self, key: &str, value: &str) {
        self.child_env.retain(|(k, _)| k != key);
        self.child_env.push((key.to_string(), value.to_string()));
    }
}
