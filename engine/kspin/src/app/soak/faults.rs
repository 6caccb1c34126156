//! The soak's fault classes: what each injects into the venue (or the strategy), what the
//! engine must show afterwards before it counts as recovered, and the seeded choice of the next
//! one within Kraken's reconnect limits.
//!
//! Owns the class list, their weights and stable names (the keys of `faults_injected`) and the
//! chooser's PRNG. Invariants: the first pass injects every class once (in a seeded order), so
//! even a short soak covers all of them; a class that makes the engine reconnect is chosen only
//! while the attempts of the last 10 minutes leave room under [`ATTEMPT_BUDGET`], so the soak
//! itself never pushes the engine against Kraken's limit (the engine's own backoff enforces it
//! too); the same seed gives the same sequence of classes and parameters.

use std::time::Duration;

use kspin_sim::rng::SimRng;
use kspin_sim::FaultKind;

/// Connection attempts per rolling 10 minutes beyond which Cloudflare bans the IP for 10
/// minutes: "approximately 150" (PROTOCOL.md §4).
pub const KRAKEN_ATTEMPTS_PER_10_MIN: usize = 150;
/// Attempts in the last 10 minutes above which the soak picks no reconnecting fault (room for a
/// reconnect's retries under the engine's own window of 140).
pub const ATTEMPT_BUDGET: usize = 100;
/// Kraken: "after maintenance ... no more quickly than once every five (5) seconds"
/// (PROTOCOL.md §4).
pub const AFTER_MAINTENANCE: Duration = Duration::from_secs(5);

/// One class of fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultClass {
    Drop,
    Stall,
    CorruptChecksum,
    MalformedFrame,
    OversizedFrame,
    DeepNesting,
    TruncatedTlsRecord,
    CloseWithoutCloseNotify,
    Maintenance,
    Burst,
    SlowStrategy,
}

impl FaultClass {
    pub const ALL: [FaultClass; 11] = [
        FaultClass::Drop,
        FaultClass::Stall,
        FaultClass::CorruptChecksum,
        FaultClass::MalformedFrame,
        FaultClass::OversizedFrame,
        FaultClass::DeepNesting,
        FaultClass::TruncatedTlsRecord,
        FaultClass::CloseWithoutCloseNotify,
        FaultClass::Maintenance,
        FaultClass::Burst,
        FaultClass::SlowStrategy,
    ];

    /// The stable name (a key of `faults_injected`).
    pub fn name(self) -> &'static str {
        match self {
            FaultClass::Drop => "drop",
            FaultClass::Stall => "stall",
            FaultClass::CorruptChecksum => "corrupt_checksum",
            FaultClass::MalformedFrame => "malformed_frame",
            FaultClass::OversizedFrame => "oversized_frame",
            FaultClass::DeepNesting => "deep_nesting",
            FaultClass::TruncatedTlsRecord => "truncated_tls_record",
            FaultClass::CloseWithoutCloseNotify => "close_without_close_notify",
            FaultClass::Maintenance => "maintenance",
            FaultClass::Burst => "burst",
            FaultClass::SlowStrategy => "slow_strategy",
        }
    }

    /// Relative frequency: the cheap ones (recovered in milliseconds) often, the ones that cost
    /// a reconnect less, maintenance (≥ 5 s each) rarely.
    fn weight(self) -> u64 {
        match self {
            FaultClass::CorruptChecksum => 20,
            FaultClass::MalformedFrame => 14,
            FaultClass::DeepNesting => 10,
            FaultClass::Burst => 8,
            FaultClass::SlowStrategy => 8,
            FaultClass::Stall
            | FaultClass::Drop
            | FaultClass::OversizedFrame
            | FaultClass::TruncatedTlsRecord
            | FaultClass::CloseWithoutCloseNotify => 4,
            FaultClass::Maintenance => 1,
        }
    }

    /// Whether it (may) end the connection, costing connection attempts.
    pub fn reconnects(self) -> bool {
        matches!(
            self,
            FaultClass::Drop
                | FaultClass::Stall
                | FaultClass::OversizedFrame
                | FaultClass::TruncatedTlsRecord
                | FaultClass::CloseWithoutCloseNotify
                | FaultClass::Maintenance
        )
    }
}

/// What the engine must show before the fault counts as recovered (then: every book live).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// The connection ended (and, to recover, opened again).
    Disconnect,
    /// A checksum mismatch (the book then resyncs).
    Mismatch,
    /// A frame refused as a decode error.
    DecodeError,
    /// The fault's window passed.
    Window(Duration),
    /// The probe slept for this long and handled events again.
    SlowStrategy(Duration),
}

/// One fault to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Injection {
    pub class: FaultClass,
    /// Venue faults to inject now.
    pub venue: Vec<FaultKind>,
    /// Maintenance: the connection is cut once the engine has seen the maintenance status.
    pub drop_in_maintenance: bool,
    pub expect: Expect,
}

/// The seeded sequence of faults; see the module docs.
pub struct Chooser {
    rng: SimRng,
    first_pass: Vec<FaultClass>,
    /// The engine's stall timeout: a stall this long or longer ends the connection.
    stall_timeout: Duration,
}

impl Chooser {
    pub fn new(seed: u64, stall_timeout: Duration) -> Chooser {
        let mut rng = SimRng::derived(seed, 0x736f_616b);
        let mut first_pass = FaultClass::ALL.to_vec();
        rng.shuffle(&mut first_pass);
        first_pass.reverse();
        Chooser {
            rng,
            first_pass,
            stall_timeout,
        }
    }

    /// The next fault; reconnecting classes only when `reconnect_room`.
    pub fn next(&mut self, reconnect_room: bool) -> Injection {
        let class = match self.first_pass.last() {
            Some(&c) if reconnect_room || !c.reconnects() => {
                self.first_pass.pop();
                c
            }
            _ => self.weighted(reconnect_room),
        };
        self.injection(class)
    }

    fn weighted(&mut self, reconnect_room: bool) -> FaultClass {
        let allowed = |c: &&FaultClass| reconnect_room || !c.reconnects();
        let total: u64 = FaultClass::ALL
            .iter()
            .filter(allowed)
            .map(|c| c.weight())
            .sum();
        let mut pick = self.rng.below(total.max(1));
        for c in FaultClass::ALL.iter().filter(allowed) {
            if pick < c.weight() {
                return *c;
            }
            pick -= c.weight();
        }
        FaultClass::CorruptChecksum
    }

    fn ms(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.rng.range(lo, hi))
    }

    fn injection(&mut self, class: FaultClass) -> Injection {
        let mut venue = Vec::new();
        let mut drop_in_maintenance = false;
        let expect = match class {
            FaultClass::Drop => {
                venue.push(FaultKind::Drop);
                Expect::Disconnect
            }
            FaultClass::Stall => {
                // Half shorter than the stall timeout (the engine rides it out), half longer
                // (the engine gives up on the connection; the venue accepts none meanwhile).
                let timeout = u64::try_from(self.stall_timeout.as_millis()).unwrap_or(1_500);
                if self.rng.chance(50) {
                    let d = self.ms(timeout / 5, timeout * 2 / 3);
                    venue.push(FaultKind::Stall(d));
                    Expect::Window(d)
                } else {
                    let d = self.ms(timeout + timeout / 3, timeout * 2);
                    venue.push(FaultKind::Stall(d));
                    Expect::Disconnect
                }
            }
            FaultClass::CorruptChecksum => {
                venue.push(FaultKind::Corrupt(None));
                Expect::Mismatch
            }
            FaultClass::MalformedFrame => {
                venue.push(FaultKind::Malformed);
                Expect::DecodeError
            }
            FaultClass::OversizedFrame => {
                venue.push(FaultKind::Oversized(kspin_sim::fault::DEFAULT_OVERSIZED));
                Expect::Disconnect
            }
            FaultClass::DeepNesting => {
                let levels = self
                    .rng
                    .range(1_000, kspin_sim::fault::DEFAULT_DEEP as u64 + 1);
                venue.push(FaultKind::Deep(levels as usize));
                Expect::DecodeError
            }
            FaultClass::TruncatedTlsRecord => {
                venue.push(FaultKind::Truncate);
                Expect::Disconnect
            }
            FaultClass::CloseWithoutCloseNotify => {
                venue.push(FaultKind::TlsNoCloseNotify);
                Expect::Disconnect
            }
            FaultClass::Maintenance => {
                let d = self.ms(500, 1_500);
                venue.push(FaultKind::Maintenance(d));
                drop_in_maintenance = true;
                Expect::Disconnect
            }
            FaultClass::Burst => {
                let d = self.ms(100, 400);
                venue.push(FaultKind::Burst {
                    factor: kspin_sim::fault::DEFAULT_BURST_FACTOR,
                    duration: d,
                });
                Expect::Window(d)
            }
            FaultClass::SlowStrategy => Expect::SlowStrategy(self.ms(20, 300)),
        };
        Injection {
            class,
            venue,
            drop_in_maintenance,
            expect,
        }
    }

    /// A pause of streaming between two faults (so that faults land at random points).
    pub fn gap(&mut self) -> Duration {
        self.ms(5, 30)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_pass_covers_every_class_and_respects_the_budget() {
        let mut c = Chooser::new(7, Duration::from_millis(1_500));
        let mut seen: Vec<FaultClass> = (0..11).map(|_| c.next(true).class).collect();
        seen.sort_by_key(|c| c.name());
        let mut all = FaultClass::ALL.to_vec();
        all.sort_by_key(|c| c.name());
        assert_eq!(seen, all);
        for _ in 0..500 {
            assert!(!c.next(false).class.reconnects());
        }
        let mut again = Chooser::new(7, Duration::from_millis(1_500));
        let mut c = Chooser::new(7, Duration::from_millis(1_500));
        for _ in 0..100 {
            assert_eq!(c.next(true), again.next(true), "same seed, same faults");
        }
    }
}
