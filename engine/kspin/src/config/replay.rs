//! `[replay]`: how `kspin replay CAPTURE --strategies CONFIG` models the venue when it answers
//! the strategies' orders — order latency (fixed, plus a seeded uniform jitter), the queue
//! position of resting orders, and fees. The command line's `--latency-us`,
//! `--latency-jitter-us`, `--seed` and `--queue` override the file.
//!
//! Owns [`ReplayConfig`] and its checks. Invariants: every value is checked at start-up and a bad
//! one names its key; the defaults are the README's (1 ms latency, no jitter, seed 1, `back`,
//! Kraken's lowest-tier fees).

use serde::Deserialize;

use kspin_host::backtest::QueueModel;

use super::{invalid, ConfigError};

/// Largest fee accepted (10 %: anything above is a configuration mistake).
const MAX_FEE_BPS: u32 = 1_000;
/// Largest latency or jitter accepted: one hour, in µs.
const MAX_LATENCY_US: u64 = 3_600_000_000;

/// `[replay]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReplayConfig {
    /// Time from a strategy sending a request to the paper venue handling it, µs of exchange time.
    pub latency_us: u64,
    /// Extra latency drawn uniformly from `[0, latency_jitter_us]` per request (0: fixed).
    pub latency_jitter_us: u64,
    /// Seed of the jitter's generator: the same seed draws the same latencies.
    pub seed: u64,
    /// Queue-position model of resting orders: `back`, `front` or `cross`.
    pub queue: String,
    /// Fee of a fill that rested, basis points of its cost.
    pub maker_fee_bps: u32,
    /// Fee of a fill that took liquidity, basis points of its cost.
    pub taker_fee_bps: u32,
}

impl Default for ReplayConfig {
    fn default() -> Self {
        ReplayConfig {
            latency_us: 1_000,
            latency_jitter_us: 0,
            seed: 1,
            queue: QueueModel::Back.name().into(),
            // Kraken's spot fees at the lowest 30-day volume tier (0.25 % maker, 0.40 % taker),
            // the simulated venue's defaults too (engine/sim/src/trading/config.rs).
            maker_fee_bps: 25,
            taker_fee_bps: 40,
        }
    }
}

impl ReplayConfig {
    /// The queue model named by `queue`.
    pub fn queue_model(&self) -> Result<QueueModel, ConfigError> {
        QueueModel::parse(&self.queue).ok_or_else(|| {
            invalid(
                "replay.queue",
                format!(
                    "{:?} is not one of {}",
                    self.queue,
                    QueueModel::ALL
                        .map(|m| format!("\"{}\"", m.name()))
                        .join(", ")
                ),
            )
        })
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        self.queue_model()?;
        for (key, us) in [
            ("replay.latency_us", self.latency_us),
            ("replay.latency_jitter_us", self.latency_jitter_us),
        ] {
            if us > MAX_LATENCY_US {
                return Err(invalid(
                    key,
                    format!("must be at most {MAX_LATENCY_US} (one hour)"),
                ));
            }
        }
        for (key, bps) in [
            ("replay.maker_fee_bps", self.maker_fee_bps),
            ("replay.taker_fee_bps", self.taker_fee_bps),
        ] {
            if bps > MAX_FEE_BPS {
                return Err(invalid(
                    key,
                    format!("must be at most {MAX_FEE_BPS} (10 %)"),
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    #[test]
    fn defaults_and_bad_values_name_their_key() {
        let c = Config::parse("", "t.toml").unwrap();
        assert_eq!(c.replay.latency_us, 1_000);
        assert_eq!(c.replay.queue, "back");
        let c = Config::parse(
            "[replay]\nlatency_us = 250\nlatency_jitter_us = 100\nseed = 9\nqueue = \"front\"\nmaker_fee_bps = 0\ntaker_fee_bps = 26\n",
            "t.toml",
        )
        .unwrap();
        assert_eq!(
            (
                c.replay.latency_us,
                c.replay.latency_jitter_us,
                c.replay.seed
            ),
            (250, 100, 9)
        );
        assert_eq!(c.replay.queue_model().unwrap().name(), "front");
        let err = Config::parse("[replay]\nqueue = \"middle\"\n", "t.toml").unwrap_err();
        assert_eq!(
            err.to_string(),
            "replay.queue: \"middle\" is not one of \"back\", \"front\", \"cross\""
        );
        let err = Config::parse("[replay]\ntaker_fee_bps = 5000\n", "t.toml").unwrap_err();
        assert!(
            err.to_string().starts_with("replay.taker_fee_bps: "),
            "{err}"
        );
        assert!(Config::parse("[replay]\nlatncy_us = 1\n", "t.toml").is_err());
    }
}
