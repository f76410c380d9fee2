//! The one policy for panics and poisoned locks.
//!
//! A service that panics has hit a bug: its state may be half updated, so it must stop rather
//! than limp on (a replica answering from a state a panic left behind could diverge from its
//! peers). [`abort_on_panic`] makes every panic, in any thread or task, end the process after the
//! panic is printed; a supervisor restarts it from what is on disk. Because a panic aborts, no
//! service ever sees a poisoned lock; elsewhere (tests, tools, the simulator, which unwind),
//! [`lock`] treats a poisoned lock as the bug it is and panics too, instead of reading the state
//! the first panic left.

use std::sync::{Mutex, MutexGuard};

/// Locks `mutex`; panics if a thread panicked while holding it.
pub fn lock<T: ?Sized>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .expect("a thread panicked holding this lock; what it guards cannot be trusted")
}

/// Makes any panic of this process print its message and location as usual, log it, and then
/// abort the process (exit by SIGABRT), whatever thread or task it happened in. Call it once, at
/// the start of a service.
pub fn abort_on_panic(service: &str) {
    let service = service.to_string();
    let print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        print(info);
        log::error!("{service} panicked, aborting: {info}");
        std::process::abort();
    }));
}
