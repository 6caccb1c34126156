//! What a busy-polling thread does when a poll finds no work: [`IdlePolicy`] is the configured
//! choice, [`Idler`] the per-thread state that carries it out. The engine core and every strategy
//! thread use the same type so one config value means the same thing everywhere.
//!
//! Invariants: `Idler::idle` never sleeps for a fixed time and never allocates; with
//! [`IdlePolicy::Spin`] it never enters the kernel. It never decides *whether* there is work:
//! the caller polls and reports the outcome (`idle` when nothing was found, `reset` when
//! something was).

/// How a polling thread waits when it finds nothing to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdlePolicy {
    /// Spin forever with a CPU relax hint (`pause` on x86_64). Lowest wake-up latency; needs a
    /// core of its own, since it never gives the CPU away.
    #[default]
    Spin,
    /// Spin for `spins` consecutive empty polls, then call `sched_yield` on every further empty
    /// poll until work arrives. For machines without a spare core per polling thread: a thread
    /// sharing a core with its peer lets the peer run instead of burning its time slice.
    SpinThenYield {
        /// Consecutive empty polls spent spinning before the first yield.
        spins: u32,
    },
}

impl IdlePolicy {
    /// A [`IdlePolicy::SpinThenYield`] suitable when polling threads share cores: about a
    /// thousand `pause`s (on the order of microseconds to tens of microseconds, depending on the
    /// CPU's `pause` latency) before yielding.
    pub const SHARED_CORE: IdlePolicy = IdlePolicy::SpinThenYield { spins: 1_000 };
}

/// Per-thread idle state for one [`IdlePolicy`], in the manner of a backoff helper: call
/// [`idle`](Self::idle) after each empty poll and [`reset`](Self::reset) after each poll that
/// found work.
#[derive(Debug, Clone)]
pub struct Idler {
    policy: IdlePolicy,
    /// Consecutive empty polls since the last `reset`, saturating.
    empty_polls: u32,
}

impl Idler {
    /// A fresh idler for `policy`.
    pub const fn new(policy: IdlePolicy) -> Self {
        Self {
            policy,
            empty_polls: 0,
        }
    }

    /// The policy this idler carries out.
    pub fn policy(&self) -> IdlePolicy {
        self.policy
    }

    /// Waits a little after an empty poll: a spin hint, or (past the spin budget of
    /// [`IdlePolicy::SpinThenYield`]) a yield of the rest of the time slice.
    #[inline]
    pub fn idle(&mut self) {
        match self.policy {
            IdlePolicy::Spin => core::hint::spin_loop(),
            IdlePolicy::SpinThenYield { spins } => {
                if self.empty_polls < spins {
                    self.empty_polls += 1;
                    core::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
            }
        }
    }

    /// Forgets past empty polls; call after a poll that found work.
    #[inline]
    pub fn reset(&mut self) {
        self.empty_polls = 0;
    }

    /// True when the next [`idle`](Self::idle) will yield rather than spin.
    pub fn is_yielding(&self) -> bool {
        match self.policy {
            IdlePolicy::Spin => false,
            IdlePolicy::SpinThenYield { spins } => self.empty_polls >= spins,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spin_never_yields() {
        let mut idler = Idler::new(IdlePolicy::Spin);
        for _ in 0..10_000 {
            idler.idle();
            assert!(!idler.is_yielding());
        }
        assert_eq!(IdlePolicy::default(), IdlePolicy::Spin);
    }

    #[test]
    fn spin_then_yield_switches_after_the_budget_and_reset_restarts_it() {
        let mut idler = Idler::new(IdlePolicy::SpinThenYield { spins: 3 });
        assert_eq!(idler.policy(), IdlePolicy::SpinThenYield { spins: 3 });
        for _ in 0..3 {
            assert!(!idler.is_yielding());
            idler.idle();
        }
        assert!(idler.is_yielding());
        idler.idle();
        assert!(idler.is_yielding());
        idler.reset();
        assert!(!idler.is_yielding());
    }

    #[test]
    fn zero_spins_yields_at_once() {
        let mut idler = Idler::new(IdlePolicy::SpinThenYield { spins: 0 });
        assert!(idler.is_yielding());
        idler.idle();
        assert!(idler.is_yielding());
    }
}
