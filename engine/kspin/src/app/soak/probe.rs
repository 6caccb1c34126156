//! The soak's strategy: a probe that can be made slow on demand, so that its ring overflows,
//! the engine marks its lane lagging, conflates its deltas and hands it fresh snapshots (the
//! "slow strategy" fault); its host checks its book replicas against the engine's books all
//! along and counts any divergence.
//!
//! Owns two shared counters: how long to sleep at the next event (set by the soak thread, taken
//! by the strategy) and how many events it has handled. Unlike a real strategy it blocks in
//! `on_event` — that is the fault it plays. It never allocates.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use kspin_api::{Context, Event, Strategy, StrategySummary};

/// The soak thread's handle on the probe.
#[derive(Debug, Clone, Default)]
pub struct ProbeControl {
    /// Microseconds to sleep at the next event (0: none).
    sleep_us: Arc<AtomicU64>,
    /// Events handled.
    handled: Arc<AtomicU64>,
}

impl ProbeControl {
    /// The next event the probe handles blocks it for `d`.
    pub fn stall_next_event(&self, d: Duration) {
        let us = u64::try_from(d.as_micros()).unwrap_or(u64::MAX);
        self.sleep_us.store(us, Ordering::SeqCst);
    }

    /// Whether the stall asked for has been taken (the probe is past its sleep or in it).
    pub fn stall_taken(&self) -> bool {
        self.sleep_us.load(Ordering::SeqCst) == 0
    }

    pub fn handled(&self) -> u64 {
        self.handled.load(Ordering::SeqCst)
    }

    pub fn strategy(&self) -> SlowProbe {
        SlowProbe {
            control: self.clone(),
        }
    }
}

/// See the module docs.
pub struct SlowProbe {
    control: ProbeControl,
}

impl Strategy for SlowProbe {
    fn on_event(&mut self, _event: &Event, _ctx: &mut dyn Context) {
        let us = self.control.sleep_us.swap(0, Ordering::SeqCst);
        if us > 0 {
            std::thread::sleep(Duration::from_micros(us));
        }
        self.control.handled.fetch_add(1, Ordering::SeqCst);
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
    }
}
