//! Reconnect timing that respects Kraken's rules (PROTOCOL.md §4, from the "Spot WS intro" page):
//! "attempt reconnection instantly up to a handful of times if the websocket is dropped
//! randomly"; "after maintenance or extended downtime: attempt to reconnect no more quickly than
//! once every five (5) seconds"; Cloudflare bans an IP for 10 minutes beyond "approximately 150
//! attempts per rolling 10 minutes".
//!
//! Owns the attempt history (a fixed ring of timestamps, allocated once), the failure streak and
//! a small PRNG for jitter. Pure: it is given the time and answers with a delay; it never sleeps,
//! never reads a clock and never allocates after construction.

use std::time::Duration;

/// The rolling window of Kraken's connection rate limit (PROTOCOL.md §4).
pub const RATE_WINDOW: Duration = Duration::from_secs(600);

/// Why the previous connection ended (or never started).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisconnectCause {
    /// Dropped, reset, EOF, stalled, protocol or TLS error: a "random" drop.
    Dropped,
    /// Refused or timed out while connecting.
    ConnectFailed,
    /// The exchange announced maintenance (status `maintenance`) or the drop followed it.
    Maintenance,
    /// The server's certificate was refused: never an instant retry (a man-in-the-middle does
    /// not go away by asking again); the exponential delays from the first one.
    CertificateRejected,
}

/// Backoff parameters (from `[backoff]` in `kspin.toml`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffPolicy {
    pub instant_retries: u32,
    pub initial: Duration,
    pub max: Duration,
    pub after_maintenance: Duration,
    /// Fraction of each delay randomised, 0.0–1.0 (a ratio, not a price).
    pub jitter: f64,
    pub max_attempts_per_window: u32,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            instant_retries: 3,
            initial: Duration::from_millis(250),
            max: Duration::from_secs(30),
            after_maintenance: Duration::from_secs(5),
            jitter: 0.2,
            max_attempts_per_window: 100,
        }
    }
}

/// The reconnect scheduler; see the module docs.
#[derive(Debug, Clone)]
pub struct Backoff {
    policy: BackoffPolicy,
    /// Times (since an arbitrary origin) of the most recent attempts, oldest at `head`.
    attempts: Box<[Duration]>,
    head: usize,
    len: usize,
    streak: u32,
    rng: u64,
}

impl Backoff {
    pub fn new(policy: BackoffPolicy, seed: u64) -> Backoff {
        let cap = policy.max_attempts_per_window.max(1) as usize;
        Backoff {
            policy,
            attempts: vec![Duration::ZERO; cap].into_boxed_slice(),
            head: 0,
            len: 0,
            streak: 0,
            rng: seed | 1,
        }
    }

    /// How long to wait, from `now`, before the next connection attempt after `cause`.
    pub fn next_delay(&mut self, now: Duration, cause: DisconnectCause) -> Duration {
        let base = match cause {
            DisconnectCause::Maintenance => self.policy.after_maintenance,
            DisconnectCause::Dropped
            | DisconnectCause::ConnectFailed
            | DisconnectCause::CertificateRejected => {
                let rejected = cause == DisconnectCause::CertificateRejected;
                if !rejected && self.streak < self.policy.instant_retries {
                    Duration::ZERO
                } else {
                    // A rejected certificate starts the doubling at once.
                    let exp = if rejected {
                        self.streak
                    } else {
                        self.streak - self.policy.instant_retries
                    }
                    .min(20);
                    self.policy
                        .initial
                        .saturating_mul(1u32 << exp)
                        .min(self.policy.max)
                }
            }
        };
        self.streak = self.streak.saturating_add(1);
        let mut delay = self.jittered(base);
        if cause == DisconnectCause::Maintenance {
            // Jitter only ever lengthens the post-maintenance wait: never below 5 s.
            delay = delay.max(self.policy.after_maintenance);
        }
        // The rolling window: the attempt must not be the (N+1)-th within 10 minutes.
        if self.len == self.attempts.len() {
            let oldest = self.attempts[self.head];
            let allowed_at = oldest + RATE_WINDOW;
            if now + delay < allowed_at {
                delay = allowed_at - now;
            }
        }
        delay
    }

    /// Records that an attempt is being made at `now`.
    pub fn record_attempt(&mut self, now: Duration) {
        let cap = self.attempts.len();
        if self.len == cap {
            self.attempts[self.head] = now;
            self.head = (self.head + 1) % cap;
        } else {
            self.attempts[(self.head + self.len) % cap] = now;
            self.len += 1;
        }
    }

    /// The connection is healthy again (subscribed and streaming): the next drop starts with
    /// instant retries.
    pub fn reset_streak(&mut self) {
        self.streak = 0;
    }

    /// Attempts within the window ending at `now`.
    pub fn attempts_in_window(&self, now: Duration) -> usize {
        let cap = self.attempts.len();
        (0..self.len)
            .filter(|i| now.saturating_sub(self.attempts[(self.head + i) % cap]) < RATE_WINDOW)
            .count()
    }

    fn jittered(&mut self, base: Duration) -> Duration {
        if base.is_zero() || self.policy.jitter <= 0.0 {
            return base;
        }
        // xorshift64*: a few instructions, deterministic for a seed.
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let unit = (r >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        let factor = 1.0 + self.policy.jitter * (2.0 * unit - 1.0);
        base.mul_f64(factor.max(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_jitter() -> BackoffPolicy {
        BackoffPolicy {
            jitter: 0.0,
            ..BackoffPolicy::default()
        }
    }

    #[test]
    fn a_few_instant_retries_then_exponential_capped() {
        let mut b = Backoff::new(no_jitter(), 1);
        let t = Duration::ZERO;
        let delays: Vec<u128> = (0..12)
            .map(|_| b.next_delay(t, DisconnectCause::Dropped).as_millis())
            .collect();
        assert_eq!(
            delays,
            vec![0, 0, 0, 250, 500, 1000, 2000, 4000, 8000, 16000, 30000, 30000]
        );
        b.reset_streak();
        assert_eq!(b.next_delay(t, DisconnectCause::Dropped), Duration::ZERO);
    }

    #[test]
    fn a_rejected_certificate_is_never_retried_at_once() {
        let mut b = Backoff::new(no_jitter(), 1);
        let t = Duration::ZERO;
        let delays: Vec<u128> = (0..6)
            .map(|_| {
                b.next_delay(t, DisconnectCause::CertificateRejected)
                    .as_millis()
            })
            .collect();
        assert_eq!(delays, vec![250, 500, 1000, 2000, 4000, 8000]);
    }

    #[test]
    fn maintenance_waits_at_least_five_seconds_even_with_jitter() {
        let mut b = Backoff::new(
            BackoffPolicy {
                jitter: 1.0,
                ..BackoffPolicy::default()
            },
            99,
        );
        for _ in 0..1000 {
            assert!(
                b.next_delay(Duration::ZERO, DisconnectCause::Maintenance)
                    >= Duration::from_secs(5)
            );
        }
    }

    #[test]
    fn never_more_than_the_window_allows() {
        let policy = BackoffPolicy {
            max_attempts_per_window: 150,
            ..no_jitter()
        };
        let mut b = Backoff::new(policy, 3);
        let mut now = Duration::ZERO;
        let mut attempts = Vec::new();
        for _ in 0..400 {
            let d = b.next_delay(now, DisconnectCause::Dropped);
            now += d;
            b.record_attempt(now);
            attempts.push(now);
            b.reset_streak(); // worst case: every connection "succeeds" then drops at once
        }
        // In every rolling 10-minute window there are at most 150 attempts.
        for (i, &t) in attempts.iter().enumerate() {
            let in_window = attempts[i..]
                .iter()
                .take_while(|&&u| u < t + RATE_WINDOW)
                .count();
            assert!(
                in_window <= 150,
                "{in_window} attempts in the window starting at {t:?}"
            );
        }
        // 400 attempts land as 150 at 0 s, 150 at 600 s and 100 at 1200 s.
        assert_eq!(b.attempts_in_window(now), 100);
        assert_eq!(now, Duration::from_secs(1200));
    }

    #[test]
    fn jitter_stays_within_its_fraction() {
        let mut b = Backoff::new(
            BackoffPolicy {
                instant_retries: 0,
                jitter: 0.2,
                ..BackoffPolicy::default()
            },
            5,
        );
        let d = b.next_delay(Duration::ZERO, DisconnectCause::Dropped);
        assert!(
            d >= Duration::from_millis(200) && d <= Duration::from_millis(300),
            "{d:?}"
        );
    }
}
