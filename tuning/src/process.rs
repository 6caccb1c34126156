//! Start-up actions on the engine process itself: lock memory (`mlockall`), pre-fault stack and
//! heap, and take a `SCHED_FIFO` priority behind a real-time-throttling guard.
//!
//! Each function returns a value that says what happened (locked, not permitted with the errno,
//! refused and why) so the engine can print it; none panics and none retries. They act on the
//! calling process or thread only and never change host configuration. They are called once,
//! before the hot loop starts.

use std::fmt;
use std::path::Path;

use crate::host::HostFs;

/// Where the real-time throttling budget lives (Documentation/scheduler/sched-rt-group.rst).
pub const RT_RUNTIME_SYSCTL: &str = "/proc/sys/kernel/sched_rt_runtime_us";

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn errno_text(errno: i32) -> String {
    std::io::Error::from_raw_os_error(errno).to_string()
}

/// What [`lock_memory`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemLock {
    /// Current and future pages are locked (`MCL_CURRENT | MCL_FUTURE`).
    Locked,
    /// Only the current pages are locked: `RLIMIT_MEMLOCK` is finite and the process lacks
    /// `CAP_IPC_LOCK`, and `MCL_FUTURE` under a finite limit would make later allocations fail.
    LockedCurrentOnly {
        /// The soft `RLIMIT_MEMLOCK`, bytes.
        limit_bytes: u64,
    },
    /// Locking was refused (`EPERM`, or `ENOMEM`/`EAGAIN` for exceeding the limit).
    NotPermitted {
        /// The errno.
        errno: i32,
        /// The soft `RLIMIT_MEMLOCK` in bytes, `None` if unlimited.
        limit_bytes: Option<u64>,
    },
    /// `mlockall` failed otherwise.
    Failed {
        /// The errno.
        errno: i32,
    },
}

impl MemLock {
    /// Whether all current pages are locked.
    pub fn is_locked(&self) -> bool {
        matches!(self, MemLock::Locked | MemLock::LockedCurrentOnly { .. })
    }
}

impl fmt::Display for MemLock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MemLock::Locked => f.write_str("memory locked (current and future pages)"),
            MemLock::LockedCurrentOnly { limit_bytes } => write!(
                f,
                "current pages locked; future pages not locked because the memlock limit is {} KiB \
                 (set LimitMEMLOCK=infinity or grant CAP_IPC_LOCK)",
                limit_bytes / 1024
            ),
            MemLock::NotPermitted { errno, limit_bytes } => {
                let limit =
                    limit_bytes.map_or("unlimited".to_string(), |b| format!("{} KiB", b / 1024));
                write!(
                    f,
                    "memory not locked: {} (memlock limit {limit}; set LimitMEMLOCK=infinity or grant CAP_IPC_LOCK)",
                    errno_text(*errno)
                )
            }
            MemLock::Failed { errno } => {
                write!(
                    f,
                    "memory not locked: mlockall failed: {}",
                    errno_text(*errno)
                )
            }
        }
    }
}

/// Whether the process has `CAP_IPC_LOCK` in its effective set, from `/proc/self/status`.
fn has_cap_ipc_lock() -> bool {
    HostFs::new("/")
        .read("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << crate::check::CAP_IPC_LOCK_BIT) != 0)
}

/// The soft `RLIMIT_MEMLOCK` in bytes; `None` when unlimited or unreadable.
fn memlock_limit() -> Option<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one `rlimit` through a valid, exclusive pointer to a local.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_MEMLOCK, &mut limit) };
    if rc != 0 || limit.rlim_cur == libc::RLIM_INFINITY {
        None
    } else {
        Some(limit.rlim_cur)
    }
}

/// Locks the process's memory so the engine never takes a major fault or is swapped out.
/// Locks current and future pages when the memlock limit is unlimited or the process has
/// `CAP_IPC_LOCK`; otherwise only current pages (see [`MemLock::LockedCurrentOnly`]).
pub fn lock_memory() -> MemLock {
    let limit = memlock_limit();
    let future = limit.is_none() || has_cap_ipc_lock();
    let flags = if future {
        libc::MCL_CURRENT | libc::MCL_FUTURE
    } else {
        libc::MCL_CURRENT
    };
    // SAFETY: mlockall takes only flags and touches no memory of ours.
    let rc = unsafe { libc::mlockall(flags) };
    if rc == 0 {
        return match (future, limit) {
            (false, Some(limit_bytes)) => MemLock::LockedCurrentOnly { limit_bytes },
            _ => MemLock::Locked,
        };
    }
    match errno() {
        e @ (libc::EPERM | libc::ENOMEM | libc::EAGAIN) => MemLock::NotPermitted {
            errno: e,
            limit_bytes: limit,
        },
        e => MemLock::Failed { errno: e },
    }
}

/// Undoes [`lock_memory`] (for tests and orderly shutdown). Returns the errno on failure.
pub fn unlock_memory() -> Result<(), i32> {
    // SAFETY: munlockall takes no arguments and touches no memory of ours.
    if unsafe { libc::munlockall() } == 0 {
        Ok(())
    } else {
        Err(errno())
    }
}

/// What [`prefault`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Prefault {
    /// Bytes of the calling thread's stack touched.
    pub stack_bytes: usize,
    /// Bytes of heap allocated, touched and freed (0 if the allocation was refused).
    pub heap_bytes: usize,
    /// Whether the allocator was told to keep freed heap mapped (glibc `mallopt`: no trimming,
    /// no `mmap` for large blocks), so the pre-faulted heap stays with the process. When false
    /// the heap pages may be returned to the kernel and fault again later.
    pub heap_retained: bool,
}

impl fmt::Display for Prefault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "pre-faulted {} KiB of stack and {} KiB of heap",
            self.stack_bytes / 1024,
            self.heap_bytes / 1024
        )?;
        if !self.heap_retained {
            f.write_str(
                " (allocator may return the heap to the kernel: not glibc, or mallopt refused)",
            )?;
        }
        Ok(())
    }
}

/// Stack touched per recursion step of [`touch_stack`].
const STACK_STEP: usize = 16 * 1024;

/// Touches `remaining` bytes of the calling thread's stack, one [`STACK_STEP`] frame per call.
#[inline(never)]
fn touch_stack(remaining: usize) {
    let mut frame = [0u8; STACK_STEP];
    std::hint::black_box(&mut frame);
    if remaining > STACK_STEP {
        touch_stack(remaining - STACK_STEP);
    }
    // Keeps the frame alive across the recursive call, so the call cannot reuse it.
    std::hint::black_box(&frame);
}

/// Pre-faults `stack_bytes` of the calling thread's stack (rounded up to 16 KiB; keep it well
/// below the thread's stack size) and `heap_bytes` of heap, so the first hot-path touches of
/// those pages do not fault. On glibc it first stops the allocator from trimming or
/// `mmap`-ing, so the freed heap stays mapped for later allocations.
pub fn prefault(stack_bytes: usize, heap_bytes: usize) -> Prefault {
    let heap_retained = keep_heap_mapped();
    if stack_bytes > 0 {
        touch_stack(stack_bytes);
    }
    let mut heap_done = 0;
    if heap_bytes > 0 {
        // try_reserve: an oversized request is reported as 0 bytes pre-faulted, not an abort.
        let mut block: Vec<u8> = Vec::new();
        if block.try_reserve_exact(heap_bytes).is_ok() {
            // Writing every byte faults in every page.
            block.extend(std::iter::repeat_n(1u8, heap_bytes));
            std::hint::black_box(&mut block);
            heap_done = heap_bytes;
        }
    }
    Prefault {
        stack_bytes: stack_bytes.div_ceil(STACK_STEP) * STACK_STEP,
        heap_bytes: heap_done,
        heap_retained,
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_heap_mapped() -> bool {
    // SAFETY: mallopt only sets allocator tunables; both are documented glibc parameters.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, -1) == 1 && libc::mallopt(libc::M_MMAP_MAX, 0) == 1
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_heap_mapped() -> bool {
    false
}

/// What [`set_fifo_priority`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FifoPriority {
    /// The calling thread now runs `SCHED_FIFO` at `priority`.
    Set {
        /// The priority.
        priority: i32,
    },
    /// Refused: real-time throttling is on, and it would stop a busy-polling FIFO thread for
    /// the rest of every period.
    RefusedRtThrottling {
        /// The `kernel.sched_rt_runtime_us` found.
        runtime_us: i64,
    },
    /// Refused: `kernel.sched_rt_runtime_us` could not be read, so throttling cannot be ruled
    /// out.
    RefusedUnknownThrottling {
        /// Why it could not be read.
        detail: String,
    },
    /// The priority is outside the `SCHED_FIFO` range.
    InvalidPriority {
        /// Asked for.
        priority: i32,
        /// Lowest allowed.
        min: i32,
        /// Highest allowed.
        max: i32,
    },
    /// The kernel refused (`EPERM`: no `CAP_SYS_NICE` and no `RLIMIT_RTPRIO`).
    NotPermitted {
        /// The errno.
        errno: i32,
    },
    /// `sched_setscheduler` failed otherwise.
    Failed {
        /// The errno.
        errno: i32,
    },
}

impl fmt::Display for FifoPriority {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FifoPriority::Set { priority } => write!(f, "SCHED_FIFO priority {priority} set"),
            FifoPriority::RefusedRtThrottling { runtime_us } => write!(
                f,
                "SCHED_FIFO refused: kernel.sched_rt_runtime_us = {runtime_us} would throttle a \
                 busy-polling thread; set it to -1 (sysctl -w kernel.sched_rt_runtime_us=-1)"
            ),
            FifoPriority::RefusedUnknownThrottling { detail } => write!(
                f,
                "SCHED_FIFO refused: cannot confirm real-time throttling is off ({detail})"
            ),
            FifoPriority::InvalidPriority { priority, min, max } => {
                write!(f, "SCHED_FIFO priority {priority} is outside {min}..={max}")
            }
            FifoPriority::NotPermitted { errno } => write!(
                f,
                "SCHED_FIFO not permitted: {} (grant CAP_SYS_NICE or LimitRTPRIO)",
                errno_text(*errno)
            ),
            FifoPriority::Failed { errno } => {
                write!(f, "SCHED_FIFO failed: {}", errno_text(*errno))
            }
        }
    }
}

/// Puts the calling thread under `SCHED_FIFO` at `priority`, unless real-time throttling
/// (`kernel.sched_rt_runtime_us`, read below `root`) is anything but `-1`: a throttled FIFO
/// thread that never sleeps is stopped for the rest of each period, far worse than no priority.
/// Only call it on a thread pinned to an isolated core: a FIFO busy-poller starves every
/// normal-priority task (kworkers, ksoftirqd) that shares its CPU.
pub fn set_fifo_priority(root: &Path, priority: i32) -> FifoPriority {
    match HostFs::new(root).read_int(RT_RUNTIME_SYSCTL) {
        Ok(-1) => {}
        Ok(runtime_us) => return FifoPriority::RefusedRtThrottling { runtime_us },
        Err(e) => return FifoPriority::RefusedUnknownThrottling { detail: e.short() },
    }
    // SAFETY: both calls take a policy constant and read no memory of ours.
    let (min, max) = unsafe {
        (
            libc::sched_get_priority_min(libc::SCHED_FIFO),
            libc::sched_get_priority_max(libc::SCHED_FIFO),
        )
    };
    if priority < min || priority > max {
        return FifoPriority::InvalidPriority { priority, min, max };
    }
    let param = libc::sched_param {
        sched_priority: priority,
    };
    // SAFETY: pid 0 is the calling thread; `param` is a valid local read by the call.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_FIFO, &param) };
    if rc == 0 {
        return FifoPriority::Set { priority };
    }
    match errno() {
        libc::EPERM => FifoPriority::NotPermitted { errno: libc::EPERM },
        e => FifoPriority::Failed { errno: e },
    }
}
