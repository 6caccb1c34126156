//! Start-up process actions: results are typed and say what happened; the FIFO guard refuses
//! under real-time throttling. Memory locking runs for real on the test process and is undone.

mod common;

use common::FakeHost;
use kspin_tuning::process::{
    lock_memory, prefault, set_fifo_priority, unlock_memory, FifoPriority, MemLock,
};

#[test]
fn fifo_refused_under_rt_throttling() {
    let host = FakeHost::laptop();
    let outcome = set_fifo_priority(&host.root, 10);
    assert_eq!(
        outcome,
        FifoPriority::RefusedRtThrottling { runtime_us: 950000 }
    );
    assert!(outcome.to_string().contains("sched_rt_runtime_us = 950000"));
}

#[test]
fn fifo_refused_when_throttling_unknown() {
    let host = FakeHost::sparse();
    assert_eq!(
        set_fifo_priority(&host.root, 10),
        FifoPriority::RefusedUnknownThrottling {
            detail: "/proc/sys/kernel/sched_rt_runtime_us missing".to_string()
        }
    );
}

#[test]
fn fifo_priority_range_is_checked_before_the_syscall() {
    let host = FakeHost::tuned(); // sched_rt_runtime_us = -1
    assert_eq!(
        set_fifo_priority(&host.root, 1000),
        FifoPriority::InvalidPriority {
            priority: 1000,
            min: 1,
            max: 99
        }
    );
}

#[test]
fn fifo_set_or_not_permitted_on_a_throwaway_thread() {
    let host = FakeHost::tuned();
    let root = host.root.clone();
    // A separate thread, so the test harness threads keep their policy; it exits at once.
    let outcome = std::thread::spawn(move || set_fifo_priority(&root, 1))
        .join()
        .unwrap();
    assert!(
        matches!(
            outcome,
            FifoPriority::Set { priority: 1 } | FifoPriority::NotPermitted { .. }
        ),
        "{outcome:?}"
    );
}

#[test]
fn lock_memory_reports_what_happened() {
    let outcome = lock_memory();
    match outcome {
        MemLock::Locked | MemLock::LockedCurrentOnly { .. } => {
            assert!(outcome.is_locked());
            assert_eq!(unlock_memory(), Ok(()));
        }
        MemLock::NotPermitted { .. } | MemLock::Failed { .. } => assert!(!outcome.is_locked()),
    }
    assert!(!outcome.to_string().is_empty());
}

#[test]
fn prefault_touches_what_it_says() {
    let done = prefault(100 * 1024, 1 << 20);
    assert_eq!(done.stack_bytes, 112 * 1024); // rounded up to 16 KiB steps
    assert_eq!(done.heap_bytes, 1 << 20);
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    assert!(done.heap_retained);
    assert!(done
        .to_string()
        .starts_with("pre-faulted 112 KiB of stack and 1024 KiB of heap"));
    assert_eq!(prefault(0, 0).stack_bytes, 0);
}
