//! [`TimerTable`]: the eight timer slots behind [`crate::Context::set_timer`], kept by the
//! strategy host (on its thread under `kspin run`, on the test thread in the test harness, with
//! a scripted clock) so that timers fire alike in tests and in production.
//!
//! Owns the pending `(id, due)` pairs in a fixed array of [`MAX_TIMERS`] slots and the earliest
//! due tick. Invariants: at most one pending timer per id (setting it again moves it); due timers
//! come out in due order, ties by id; [`TimerTable::next_due`] is `u64::MAX` exactly when none is
//! pending, so a host checks one integer per loop. Ticks are whatever clock the host uses (raw
//! TSC on strategy threads, nanoseconds of a mocked clock in the test harness). Never allocates.

use crate::context::{TimerError, MAX_TIMERS};
use crate::event::TimerId;

/// See the module docs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerTable {
    slots: [Option<(TimerId, u64)>; MAX_TIMERS],
    next_due: u64,
}

impl Default for TimerTable {
    fn default() -> TimerTable {
        TimerTable::new()
    }
}

impl TimerTable {
    pub const fn new() -> TimerTable {
        TimerTable {
            slots: [None; MAX_TIMERS],
            next_due: u64::MAX,
        }
    }

    /// Sets timer `id` to fire at tick `due` (replacing its pending one, if any).
    pub fn set(&mut self, id: TimerId, due: u64) -> Result<(), TimerError> {
        let slot = self
            .slots
            .iter()
            .position(|t| matches!(t, Some((tid, _)) if *tid == id))
            .or_else(|| self.slots.iter().position(Option::is_none))
            .ok_or(TimerError::TooMany)?;
        self.slots[slot] = Some((id, due));
        self.recompute();
        Ok(())
    }

    /// Cancels timer `id` (nothing if it is not pending).
    pub fn cancel(&mut self, id: TimerId) {
        for t in &mut self.slots {
            if matches!(t, Some((tid, _)) if *tid == id) {
                *t = None;
            }
        }
        self.recompute();
    }

    /// The earliest due tick, `u64::MAX` when no timer is pending.
    #[inline]
    pub fn next_due(&self) -> u64 {
        self.next_due
    }

    /// Removes and returns the earliest timer due at or before `now` (ties by id).
    pub fn pop_due(&mut self, now: u64) -> Option<(TimerId, u64)> {
        if now < self.next_due {
            return None;
        }
        let (due, id, slot) = self
            .slots
            .iter()
            .enumerate()
            .filter_map(|(slot, t)| t.map(|(id, due)| (due, id, slot)))
            .filter(|&(due, _, _)| due <= now)
            .min()?;
        self.slots[slot] = None;
        self.recompute();
        Some((id, due))
    }

    fn recompute(&mut self) {
        self.next_due = self
            .slots
            .iter()
            .flatten()
            .map(|&(_, due)| due)
            .min()
            .unwrap_or(u64::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fires_in_due_order_ties_by_id_and_moves_a_reset_timer() {
        let mut t = TimerTable::new();
        assert_eq!(t.next_due(), u64::MAX);
        t.set(TimerId(3), 50).unwrap();
        t.set(TimerId(1), 50).unwrap();
        t.set(TimerId(2), 20).unwrap();
        t.set(TimerId(3), 10).unwrap(); // moved, not added
        assert_eq!(t.next_due(), 10);
        assert_eq!(t.pop_due(9), None);
        assert_eq!(t.pop_due(60), Some((TimerId(3), 10)));
        assert_eq!(t.pop_due(60), Some((TimerId(2), 20)));
        assert_eq!(t.pop_due(60), Some((TimerId(1), 50)));
        assert_eq!(t.pop_due(60), None);
        assert_eq!(t.next_due(), u64::MAX);
    }

    #[test]
    fn holds_max_timers_and_cancels() {
        let mut t = TimerTable::new();
        for i in 0..MAX_TIMERS as u16 {
            t.set(TimerId(i), 100 + u64::from(i)).unwrap();
        }
        assert_eq!(t.set(TimerId(99), 1), Err(TimerError::TooMany));
        t.cancel(TimerId(0));
        assert_eq!(t.next_due(), 101);
        t.set(TimerId(99), 1).unwrap();
        assert_eq!(t.next_due(), 1);
        t.cancel(TimerId(42)); // not pending: nothing
        assert_eq!(t.pop_due(u64::MAX), Some((TimerId(99), 1)));
    }
}
