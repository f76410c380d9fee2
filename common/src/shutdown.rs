//! Shutdown plumbing: one signal that every task of a service can wait on.

use std::future::Future;
use tokio::sync::watch;

/// A cloneable handle that resolves once shutdown has begun. Tasks hold one and race their work
/// against [`Shutdown::wait`]; dropping the [`ShutdownTrigger`] also triggers it.
#[derive(Clone, Debug)]
pub struct Shutdown(watch::Receiver<bool>);

/// The sending side of [`Shutdown`].
#[derive(Debug)]
pub struct ShutdownTrigger(watch::Sender<bool>);

impl Shutdown {
    /// A new signal and its trigger.
    pub fn new() -> (ShutdownTrigger, Shutdown) {
        let (tx, rx) = watch::channel(false);
        (ShutdownTrigger(tx), Shutdown(rx))
    }

    /// A signal that fires when `future` completes (for example Ctrl-C).
    pub fn on(future: impl Future<Output = ()> + Send + 'static) -> Shutdown {
        let (trigger, shutdown) = Shutdown::new();
        tokio::spawn(async move {
            future.await;
            trigger.fire();
        });
        shutdown
    }

    /// Resolves once shutdown has begun.
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        // An error means the trigger is gone, which also means shut down.
        let _ = rx.wait_for(|down| *down).await;
    }

    /// Whether shutdown has begun.
    pub fn is_down(&self) -> bool {
        *self.0.borrow() || self.0.has_changed().is_err()
    }
}

impl ShutdownTrigger {
    /// Begins shutdown.
    pub fn fire(&self) {
        let _ = self.0.send(true);
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn terminate_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("installing a SIGTERM handler only fails outside a tokio runtime");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
