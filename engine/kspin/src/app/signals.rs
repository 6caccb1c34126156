//! The process's one signal handler: SIGINT and SIGTERM set a flag that the commands' monitor
//! loops poll to stop cleanly (summary printed, threads joined, captures closed); SIGUSR1 throws
//! the kill switch of live trading (`kspin kill --pid PID` sends it).
//!
//! Owns [`install`], [`interrupted`], [`interrupt`], [`clear_interrupt`], [`kill_requested`] and
//! [`send_kill`]. Invariants: the handler only stores to an atomic, which is async-signal-safe;
//! installing it twice is harmless. It never runs on the engine core.

use std::sync::atomic::{AtomicBool, Ordering};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
static KILL: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(signal: libc::c_int) {
    if signal == libc::SIGUSR1 {
        KILL.store(true, Ordering::SeqCst);
    } else {
        INTERRUPTED.store(true, Ordering::SeqCst);
    }
}

/// Routes SIGINT and SIGTERM to [`interrupted`], SIGUSR1 to [`kill_requested`].
pub fn install() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGUSR1] {
        // SAFETY: `signal` is a valid signal number and `handler` an `extern "C"` function of the
        // expected type that only stores to an atomic (async-signal-safe).
        unsafe {
            libc::signal(signal, handler);
        }
    }
}

/// Asks the running command to stop as if SIGINT had arrived (the dashboard's `q`: the
/// terminal is in raw mode there, so Ctrl-C is a key, not a signal).
pub fn interrupt() {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Forgets an interrupt already handled, so that the next SIGINT or SIGTERM can end what comes
/// after the run (the metrics linger of `kspin run`).
pub fn clear_interrupt() {
    INTERRUPTED.store(false, Ordering::SeqCst);
}

/// Whether SIGINT or SIGTERM arrived since start-up (or since [`clear_interrupt`]).
pub fn interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Whether SIGUSR1 (the kill switch) arrived since start-up.
pub fn kill_requested() -> bool {
    KILL.load(Ordering::SeqCst)
}

/// Throws the kill switch of the `kspin run` with process id `pid` (SIGUSR1).
pub fn send_kill(pid: i32) -> std::io::Result<()> {
    if pid <= 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "a process id is positive",
        ));
    }
    // SAFETY: `kill` takes any pid and signal number; a wrong pid is an error return (ESRCH or
    // EPERM), never undefined behaviour.
    let rc = unsafe { libc::kill(pid, libc::SIGUSR1) };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}
