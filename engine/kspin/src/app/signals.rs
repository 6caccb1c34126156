//! The process's one signal handler: SIGINT and SIGTERM set a flag that the commands' monitor
//! loops poll to stop cleanly (summary printed, threads joined, captures closed).
//!
//! Owns [`install`] and [`interrupted`]. Invariants: the handler only stores to an atomic, which
//! is async-signal-safe; installing it twice is harmless. It never runs on the engine core.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_signal: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Routes SIGINT and SIGTERM to [`interrupted`].
pub fn install() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for signal in [libc::SIGINT, libc::SIGTERM] {
        // SAFETY: `signal` is a valid signal number and `handler` an `extern "C"` function of the
        // expected type that only stores to an atomic (async-signal-safe).
        unsafe {
            libc::signal(signal, handler);
        }
    }
}

/// Whether SIGINT or SIGTERM arrived since start-up.
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}
