//! `[nats]` (the JetStream bridge of `kspin run`) and `[sharding]` (which symbols each engine
//! shard carries) of `kspin.toml`.
//!
//! Owns these two sections' types, defaults and checks, and the shard selection applied to the
//! symbol plan. Invariants: with sharding configured, every configured symbol belongs to exactly
//! one shard (explicit lists must cover the symbols once each), and `--shard N` names an
//! existing shard. Never read on the hot path.

use std::time::Duration;

use serde::Deserialize;

use super::{invalid, ConfigError, SymbolPlan};

/// The bridge to NATS JetStream: on when `url` is set here or `kspin run --nats URL` is given.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NatsConfig {
    /// `nats://host:port`; unset: no bridge (unless `--nats`).
    pub url: Option<String>,
    /// The venue token of the subjects (`kspin.<venue>.book.<SYMBOL>`); default `sim` for the
    /// embedded venue, `kraken` otherwise.
    pub venue: Option<String>,
    /// JetStream stream (created with subjects `kspin.>` when missing).
    pub stream: String,
    /// Events of the bridge's lane (rounded up to a power of two).
    pub ring_capacity: usize,
    /// Every verified book is republished as a snapshot this often (0: never).
    pub snapshot_interval_ms: u64,
    /// A message not acknowledged after retries for this long is counted lost (its symbol then
    /// owes a snapshot).
    pub give_up_after_ms: u64,
    pub ack_timeout_ms: u64,
    /// Messages published before their acknowledgements are awaited.
    pub max_in_flight: usize,
    /// Retention and size of the stream when the bridge creates it.
    pub max_age_s: u64,
    pub max_bytes: i64,
}

impl Default for NatsConfig {
    fn default() -> Self {
        NatsConfig {
            url: None,
            venue: None,
            stream: "KSPIN".into(),
            ring_capacity: 65536,
            snapshot_interval_ms: 1000,
            give_up_after_ms: 2000,
            ack_timeout_ms: 1000,
            max_in_flight: 256,
            max_age_s: 3600,
            max_bytes: 1 << 30,
        }
    }
}

impl NatsConfig {
    /// The bridge's settings for `url`, with `venue_url` (`[venue] url`) choosing the default
    /// venue token.
    pub fn bridge(&self, url: &str, venue_url: &str) -> kspin_nats::BridgeConfig {
        let venue = self.venue.clone().unwrap_or_else(|| {
            if venue_url == "sim" {
                "sim".into()
            } else {
                "kraken".into()
            }
        });
        kspin_nats::BridgeConfig {
            url: url.to_owned(),
            venue,
            stream: self.stream.clone(),
            snapshot_interval: Duration::from_millis(self.snapshot_interval_ms),
            give_up_after: Duration::from_millis(self.give_up_after_ms),
            ack_timeout: Duration::from_millis(self.ack_timeout_ms),
            max_in_flight: self.max_in_flight,
            max_age: Duration::from_secs(self.max_age_s),
            max_bytes: self.max_bytes,
        }
    }

    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        if let Some(url) = &self.url {
            if !url.starts_with("nats://") {
                return Err(invalid("nats.url", format!("{url:?} is not a nats:// URL")));
            }
        }
        if self.stream.is_empty() || self.stream.contains(['.', ' ', '*', '>']) {
            return Err(invalid(
                "nats.stream",
                "must be a non-empty name without '.', ' ', '*' or '>'",
            ));
        }
        if self.ring_capacity < 64 {
            return Err(invalid("nats.ring_capacity", "must be at least 64"));
        }
        if self.ack_timeout_ms == 0 || self.max_in_flight == 0 {
            return Err(invalid(
                "nats.ack_timeout_ms",
                "ack_timeout_ms and max_in_flight must be greater than 0",
            ));
        }
        Ok(())
    }
}

/// How symbols are split across engine shards (`kspin run --shard N`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShardingConfig {
    /// Explicit lists: shard `N` carries `shards[N]`.
    pub shards: Vec<Vec<String>>,
    /// Hash split into this many shards (FNV-1a of the symbol name, modulo `count`).
    pub count: usize,
}

impl ShardingConfig {
    pub(super) fn validate(&self, plan: &[SymbolPlan]) -> Result<(), ConfigError> {
        if !self.shards.is_empty() && self.count != 0 {
            return Err(invalid(
                "sharding",
                "give either `shards` (explicit lists) or `count` (hash), not both",
            ));
        }
        if !self.shards.is_empty() {
            for p in plan {
                let n = self.shards.iter().filter(|s| s.contains(&p.symbol)).count();
                if n != 1 {
                    return Err(invalid(
                        "sharding.shards",
                        format!(
                            "{} is listed in {n} shards; every symbol in exactly one",
                            p.symbol
                        ),
                    ));
                }
            }
            for s in self.shards.iter().flatten() {
                if !plan.iter().any(|p| &p.symbol == s) {
                    return Err(invalid(
                        "sharding.shards",
                        format!("{s} is not a subscribed symbol"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Number of shards (0: not sharded).
    pub fn shard_count(&self) -> usize {
        if self.shards.is_empty() {
            self.count
        } else {
            self.shards.len()
        }
    }

    /// Keeps in `plan` only the symbols of shard `shard`.
    pub fn select(&self, shard: usize, plan: &mut Vec<SymbolPlan>) -> Result<(), ConfigError> {
        let count = self.shard_count();
        if shard >= count {
            return Err(invalid(
                "--shard",
                if count == 0 {
                    "no [sharding] in the configuration".to_owned()
                } else {
                    format!("shard {shard} does not exist (shards 0..{count})")
                },
            ));
        }
        if self.shards.is_empty() {
            plan.retain(|p| kspin_nats::shard::hash_shard(&p.symbol, count) == shard);
        } else {
            plan.retain(|p| self.shards[shard].contains(&p.symbol));
        }
        if plan.is_empty() {
            return Err(invalid(
                "--shard",
                format!("shard {shard} carries no symbol"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    const SYMBOLS: &str = "[[subscription]]\nsymbols = [\"BTC/USD\", \"ETH/USD\", \"SOL/USD\"]\nchannels = [\"book\"]\ndepth = 10\n";

    #[test]
    fn explicit_shards_split_the_plan_and_are_checked() {
        let text = format!("{SYMBOLS}[sharding]\nshards = [[\"BTC/USD\"], [\"ETH/USD\", \"SOL/USD\"]]\n[nats]\nurl = \"nats://127.0.0.1:4222\"\n");
        let c = Config::parse(&text, "t").unwrap();
        let mut plan = c.symbol_plan().unwrap();
        c.sharding.select(1, &mut plan).unwrap();
        let names: Vec<_> = plan.iter().map(|p| p.symbol.as_str()).collect();
        assert_eq!(names, ["ETH/USD", "SOL/USD"]);
        let mut plan = c.symbol_plan().unwrap();
        assert!(c.sharding.select(2, &mut plan).is_err());
        let twice = format!("{SYMBOLS}[sharding]\nshards = [[\"BTC/USD\"], [\"BTC/USD\", \"ETH/USD\", \"SOL/USD\"]]\n");
        let e = Config::parse(&twice, "t").unwrap_err().to_string();
        assert!(e.contains("BTC/USD is listed in 2 shards"), "{e}");
        let bad_url = format!("{SYMBOLS}[nats]\nurl = \"http://x\"\n");
        assert!(Config::parse(&bad_url, "t")
            .unwrap_err()
            .to_string()
            .contains("nats.url"));
    }

    #[test]
    fn hash_shards_cover_every_symbol_once() {
        let text = format!("{SYMBOLS}[sharding]\ncount = 2\n");
        let c = Config::parse(&text, "t").unwrap();
        let mut seen = Vec::new();
        for shard in 0..2 {
            let mut plan = c.symbol_plan().unwrap();
            if c.sharding.select(shard, &mut plan).is_ok() {
                seen.extend(plan.into_iter().map(|p| p.symbol));
            }
        }
        seen.sort();
        assert_eq!(seen, ["BTC/USD", "ETH/USD", "SOL/USD"]);
    }
}
