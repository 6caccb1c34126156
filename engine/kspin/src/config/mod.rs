//! `kspin.toml`: the engine's configuration, parsed and validated once at start-up.
//!
//! Owns the configuration types and their defaults (the defaults run against the embedded
//! simulated venue, so `kspin run` works on a fresh machine). Invariants: a [`Config`] that
//! [`Config::validate`] accepted has at least one symbol, supported depths, non-zero timeouts and
//! a consistent core plan. Every error names the key and the reason. Never read on the hot path:
//! the runtime copies what it needs into preallocated state.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use kspin_core::book::SUPPORTED_DEPTHS;

pub mod metrics;
pub mod nats;
pub mod replay;
pub mod trading;

pub use metrics::MetricsConfig;
pub use nats::{NatsConfig, ShardingConfig};
pub use replay::ReplayConfig;
pub use trading::{LimitsConfig, TradingConfig, TradingMode};

/// Kraken's public v2 endpoint (PROTOCOL.md §1.1).
pub const KRAKEN_PUBLIC_URL: &str = "wss://ws.kraken.com/v2";

/// Upper bound of `backoff.max_attempts_per_10_min`: Kraken's Cloudflare front bans an IP for 10
/// minutes beyond "approximately 150 attempts per rolling 10 minutes" (PROTOCOL.md §4); the bound
/// keeps a margin because "approximately" is not a number.
pub const MAX_ATTEMPTS_PER_10_MIN: u32 = 120;

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("{key}: {reason}")]
    Invalid { key: String, reason: String },
}

fn invalid(key: impl Into<String>, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.into(),
        reason: reason.into(),
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub venue: VenueConfig,
    pub engine: EngineConfig,
    pub backoff: BackoffConfig,
    pub mismatch: MismatchConfig,
    /// Subscriptions: each block names symbols and the channels and depth for them.
    #[serde(rename = "subscription")]
    pub subscriptions: Vec<SubscriptionConfig>,
    /// Strategies to run, each on its own core.
    #[serde(rename = "strategy")]
    pub strategies: Vec<StrategyConfig>,
    /// Paper or live order execution, and the pre-trade limits.
    pub trading: TradingConfig,
    /// How `kspin replay --strategies` models the venue (latency, queue position, fees).
    pub replay: ReplayConfig,
    /// The Prometheus endpoint.
    pub metrics: MetricsConfig,
    /// The NATS JetStream bridge (`kspin run --nats`).
    pub nats: NatsConfig,
    /// How symbols split across engine shards (`kspin run --shard N`).
    pub sharding: ShardingConfig,
}

/// Where to connect.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VenueConfig {
    /// `"sim"` starts the embedded simulated venue on loopback; otherwise a `ws://` or `wss://`
    /// URL such as `wss://ws.kraken.com/v2`.
    pub url: String,
    /// PEM file of an extra trusted certificate (a simulator run elsewhere with `kspin sim --tls`).
    pub trust_pem: Option<PathBuf>,
    /// Also trust the public web PKI roots (needed for the real exchange).
    pub webpki_roots: bool,
    /// The embedded venue's settings (used when `url = "sim"`).
    pub sim: EmbeddedSimConfig,
}

/// Settings of the embedded simulated venue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmbeddedSimConfig {
    pub tls: bool,
    /// Book/trade events per second.
    pub rate: u32,
    pub seed: u64,
    /// Fault specs, as for `kspin sim --fault`.
    pub faults: Vec<String>,
}

/// The engine core.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// CPU the engine core is pinned to.
    pub core: usize,
    /// Largest accepted WebSocket message in bytes. Kraken's largest frames are `instrument`
    /// snapshots (a few hundred KiB) and depth-1000 book snapshots.
    pub max_frame_bytes: usize,
    /// Reconnect when no frame arrived for this long (Kraken sends a heartbeat every second).
    pub stall_timeout_ms: u64,
    /// Application-level `ping` after this much silence on our side (Kraken closes idle
    /// connections after about a minute, PROTOCOL.md §1.2).
    pub ping_interval_ms: u64,
    pub connect_timeout_ms: u64,
    /// A book that was live and has been resyncing (or waiting for its snapshot) this long forces
    /// a reconnect: the exchange refused or lost the resync.
    pub resync_timeout_ms: u64,
    /// Capacity of each strategy's event ring (rounded up to a power of two).
    pub ring_capacity: usize,
    /// Lock memory (mlockall) at start-up where permitted.
    pub lock_memory: bool,
    /// SCHED_FIFO priority for the engine core (0 = off). Refused when real-time throttling
    /// would stall a busy-polling thread.
    pub rt_priority: u8,
    /// Allow strategy cores that are SMT siblings of the engine core.
    pub allow_smt_siblings: bool,
    /// How strategy threads wait for events: `"spin"`, `"spin_then_yield"` (for cores shared
    /// with other busy threads), or `"auto"` (spin when every busy thread has a core of its own).
    pub strategy_idle: String,
    /// Subscribe `instrument` on every connection, even when every precision is known, to follow
    /// precision changes the exchange announces while running.
    pub watch_instrument: bool,
}

/// Reconnect policy (PROTOCOL.md §4: a handful of instant retries after a random drop, ≥ 5 s
/// between attempts after maintenance, never more than 150 attempts per rolling 10 minutes).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BackoffConfig {
    pub instant_retries: u32,
    pub initial_ms: u64,
    pub max_ms: u64,
    pub after_maintenance_ms: u64,
    /// Fraction of each delay randomised, 0.0–1.0.
    pub jitter: f64,
    pub max_attempts_per_10_min: u32,
}

/// What to do after repeated checksum mismatches of one symbol.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MismatchConfig {
    /// `"resync"` (default), `"stop_validating"` or `"halt"`.
    pub action: String,
    pub max_mismatches: u32,
}

/// One block of subscriptions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SubscriptionConfig {
    pub symbols: Vec<String>,
    /// Any of `book`, `trade`, `ticker`.
    pub channels: Vec<String>,
    pub depth: u16,
    /// Precision overrides `SYMBOL = "PRICE:QTY"`; normally learnt from the `instrument` channel.
    pub precision: toml::Table,
}

/// One strategy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StrategyConfig {
    /// Registry name.
    pub name: String,
    /// Core to pin its thread to.
    pub core: Option<usize>,
    /// Parameters, passed as text to the strategy's constructor.
    #[serde(default)]
    pub params: toml::Table,
    /// This strategy's overrides of `[trading.limits]` (live trading).
    #[serde(default)]
    pub limits: Option<LimitsConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            venue: VenueConfig::default(),
            engine: EngineConfig::default(),
            backoff: BackoffConfig::default(),
            mismatch: MismatchConfig::default(),
            subscriptions: vec![SubscriptionConfig {
                symbols: ["BTC/USD", "ETH/USD", "SOL/USD", "MINA/GBP"]
                    .map(String::from)
                    .to_vec(),
                channels: ["book", "trade", "ticker"].map(String::from).to_vec(),
                depth: 25,
                precision: toml::Table::new(),
            }],
            // A file that names no strategy runs none; `Config::builtin()` (what `kspin run`
            // uses without --config) adds one of each built-in.
            strategies: Vec::new(),
            trading: TradingConfig::default(),
            replay: ReplayConfig::default(),
            metrics: MetricsConfig::default(),
            nats: NatsConfig::default(),
            sharding: ShardingConfig::default(),
        }
    }
}

/// The built-in strategies `kspin run` starts by default, one of each, on core 1.
const DEFAULT_STRATEGIES: &str = r#"
[[strategy]]
name = "spread_monitor"
core = 1
params = { symbol = "BTC/USD", levels = 5, log_every = 2000 }

[[strategy]]
name = "trade_flow"
core = 1
params = { symbol = "ETH/USD", window = "10s", log_every = 500 }

[[strategy]]
name = "candles"
core = 1
params = { symbol = "BTC/USD", interval = "5s" }

[[strategy]]
name = "sma_cross"
core = 1
params = { symbol = "SOL/USD", qty = "1.5", interval = "1s", fast = 3, slow = 8 }

[[strategy]]
name = "whale_alert"
core = 1
params = { min_notional = "5000" }
"#;

fn default_strategies() -> Vec<StrategyConfig> {
    #[derive(Deserialize)]
    struct Strategies {
        strategy: Vec<StrategyConfig>,
    }
    // A constant of this file: covered by `defaults_are_valid_and_run_against_the_simulator`.
    toml::from_str::<Strategies>(DEFAULT_STRATEGIES)
        .map(|s| s.strategy)
        .unwrap_or_default()
}

impl Default for VenueConfig {
    fn default() -> Self {
        VenueConfig {
            url: "sim".into(),
            trust_pem: None,
            webpki_roots: true,
            sim: EmbeddedSimConfig::default(),
        }
    }
}

impl Default for EmbeddedSimConfig {
    fn default() -> Self {
        EmbeddedSimConfig {
            tls: true,
            rate: 2_000,
            seed: 7,
            faults: Vec::new(),
        }
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            core: 0,
            max_frame_bytes: 4 << 20,
            stall_timeout_ms: 10_000,
            ping_interval_ms: 20_000,
            connect_timeout_ms: 5_000,
            resync_timeout_ms: 15_000,
            ring_capacity: 1 << 14,
            lock_memory: true,
            rt_priority: 0,
            allow_smt_siblings: false,
            strategy_idle: "auto".into(),
            watch_instrument: true,
        }
    }
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig {
            instant_retries: 3,
            initial_ms: 250,
            max_ms: 30_000,
            after_maintenance_ms: 5_000,
            jitter: 0.2,
            max_attempts_per_10_min: 100,
        }
    }
}

impl Default for MismatchConfig {
    fn default() -> Self {
        MismatchConfig {
            action: "resync".into(),
            max_mismatches: 10,
        }
    }
}

impl Default for SubscriptionConfig {
    fn default() -> Self {
        SubscriptionConfig {
            symbols: Vec::new(),
            channels: vec!["book".into()],
            depth: 10,
            precision: toml::Table::new(),
        }
    }
}

pub use kspin_runtime::plan::SymbolPlan;

impl Config {
    /// What `kspin run` runs without `--config`: the defaults plus one of each built-in strategy.
    pub fn builtin() -> Config {
        Config {
            strategies: default_strategies(),
            ..Config::default()
        }
    }

    /// Reads and validates a file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::parse(&text, &path.display().to_string())
    }

    /// Parses and validates TOML text; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.into(),
            message: e.to_string(),
        })?;
        config.validate()?;
        Ok(config)
    }

    /// Semantic checks beyond the TOML shape.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.metrics.validate()?;
        let url = self.venue.url.as_str();
        if url != "sim" && !url.starts_with("ws://") && !url.starts_with("wss://") {
            return Err(invalid(
                "venue.url",
                format!("{url:?} is neither \"sim\" nor a ws:// or wss:// URL"),
            ));
        }
        if self.venue.sim.rate == 0 {
            return Err(invalid(
                "venue.sim.rate",
                "must be at least 1 event per second",
            ));
        }
        let e = &self.engine;
        if e.max_frame_bytes < 4096 {
            return Err(invalid("engine.max_frame_bytes", "must be at least 4096"));
        }
        for (key, v) in [
            ("engine.stall_timeout_ms", e.stall_timeout_ms),
            ("engine.ping_interval_ms", e.ping_interval_ms),
            ("engine.connect_timeout_ms", e.connect_timeout_ms),
            ("engine.resync_timeout_ms", e.resync_timeout_ms),
        ] {
            if v == 0 {
                return Err(invalid(key, "must be greater than 0"));
            }
        }
        if !["auto", "spin", "spin_then_yield"].contains(&e.strategy_idle.as_str()) {
            return Err(invalid(
                "engine.strategy_idle",
                format!(
                    "{:?} is not one of \"auto\", \"spin\", \"spin_then_yield\"",
                    e.strategy_idle
                ),
            ));
        }
        if e.ring_capacity < 64 {
            return Err(invalid("engine.ring_capacity", "must be at least 64"));
        }
        let b = &self.backoff;
        if !(0.0..=1.0).contains(&b.jitter) {
            return Err(invalid("backoff.jitter", "must be between 0.0 and 1.0"));
        }
        if b.initial_ms == 0 || b.max_ms < b.initial_ms {
            return Err(invalid(
                "backoff.max_ms",
                "must be at least backoff.initial_ms, which must be > 0",
            ));
        }
        if b.after_maintenance_ms < 5_000 {
            return Err(invalid(
                "backoff.after_maintenance_ms",
                "Kraken asks for at least 5000 ms between attempts after maintenance",
            ));
        }
        if b.max_attempts_per_10_min == 0 || b.max_attempts_per_10_min > MAX_ATTEMPTS_PER_10_MIN {
            return Err(invalid(
                "backoff.max_attempts_per_10_min",
                format!(
                    "must be 1..={MAX_ATTEMPTS_PER_10_MIN} (Kraken bans an IP for 10 minutes beyond approximately 150 attempts; kspin keeps a margin)"
                ),
            ));
        }
        self.mismatch_policy()?;
        let plan = self.symbol_plan()?;
        self.nats.validate()?;
        self.sharding.validate(&plan)?;
        if plan.len() > kspin_core::feed::MAX_SYMBOLS {
            return Err(invalid(
                "subscription",
                format!(
                    "{} symbols; one engine core carries at most {}",
                    plan.len(),
                    kspin_core::feed::MAX_SYMBOLS
                ),
            ));
        }
        // A catch-up snapshot travels whole: two levels per event for both sides of the deepest
        // book, plus its marker, BookDone and BookLive (kspin_api::wire::LEVELS_PER_BATCH = 2).
        let deepest = plan
            .iter()
            .filter(|p| p.book)
            .map(|p| usize::from(p.depth))
            .max()
            .unwrap_or(0);
        let needed = deepest + 3;
        if !self.strategies.is_empty() && e.ring_capacity < 2 * needed {
            return Err(invalid(
                "engine.ring_capacity",
                format!(
                    "{} cannot carry a catch-up snapshot of a depth-{deepest} book ({needed} events) with room to spare: use at least {}",
                    e.ring_capacity,
                    (2 * needed).next_power_of_two()
                ),
            ));
        }
        self.trading.validate(&plan)?;
        self.replay.validate()?;
        // Strategy names and parameters are checked against the registry by the runtime; a
        // strategy sharing the engine's core is allowed on small machines (the runtime warns).
        for (i, s) in self.strategies.iter().enumerate() {
            if s.name.is_empty() {
                return Err(invalid(format!("strategy[{i}].name"), "must not be empty"));
            }
        }
        Ok(())
    }

    /// The mismatch policy in engine terms.
    pub fn mismatch_policy(&self) -> Result<kspin_core::feed::MismatchPolicy, ConfigError> {
        use kspin_core::feed::{MismatchAction, MismatchPolicy};
        let action = match self.mismatch.action.as_str() {
            "resync" => MismatchAction::KeepResyncing,
            "stop_validating" => MismatchAction::StopValidating,
            "halt" => MismatchAction::Halt,
            other => {
                return Err(invalid(
                    "mismatch.action",
                    format!("{other:?} is not one of \"resync\", \"stop_validating\", \"halt\""),
                ))
            }
        };
        if self.mismatch.max_mismatches == 0 {
            return Err(invalid("mismatch.max_mismatches", "must be at least 1"));
        }
        Ok(MismatchPolicy {
            action,
            max_mismatches: self.mismatch.max_mismatches,
        })
    }

    /// Every subscribed symbol once, with its depth, channels and precision override.
    pub fn symbol_plan(&self) -> Result<Vec<SymbolPlan>, ConfigError> {
        let mut plan: Vec<SymbolPlan> = Vec::new();
        if self.subscriptions.is_empty() {
            return Err(invalid(
                "subscription",
                "at least one [[subscription]] block is needed",
            ));
        }
        for (i, sub) in self.subscriptions.iter().enumerate() {
            if sub.symbols.is_empty() {
                return Err(invalid(
                    format!("subscription[{i}].symbols"),
                    "must name at least one symbol",
                ));
            }
            if !SUPPORTED_DEPTHS.contains(&sub.depth) {
                return Err(invalid(
                    format!("subscription[{i}].depth"),
                    format!(
                        "{} is not a depth Kraken supports ({:?})",
                        sub.depth, SUPPORTED_DEPTHS
                    ),
                ));
            }
            let (mut book, mut trade, mut ticker) = (false, false, false);
            for ch in &sub.channels {
                match ch.as_str() {
                    "book" => book = true,
                    "trade" => trade = true,
                    "ticker" => ticker = true,
                    other => {
                        return Err(invalid(
                            format!("subscription[{i}].channels"),
                            format!("{other:?} is not one of \"book\", \"trade\", \"ticker\""),
                        ))
                    }
                }
            }
            for symbol in &sub.symbols {
                if !symbol.contains('/') || symbol.len() > 32 {
                    return Err(invalid(
                        format!("subscription[{i}].symbols"),
                        format!("{symbol:?} is not a Kraken v2 symbol like \"BTC/USD\""),
                    ));
                }
                if plan.iter().any(|p| p.symbol == *symbol) {
                    return Err(invalid(
                        format!("subscription[{i}].symbols"),
                        format!("{symbol} is subscribed twice"),
                    ));
                }
                let precision = match sub.precision.get(symbol) {
                    None => None,
                    Some(v) => {
                        Some(parse_precision(v.as_str().unwrap_or("")).ok_or_else(|| {
                            invalid(
                                format!("subscription[{i}].precision.\"{symbol}\""),
                                "expected \"PRICE_DECIMALS:QTY_DECIMALS\", e.g. \"1:8\"",
                            )
                        })?)
                    }
                };
                plan.push(SymbolPlan {
                    symbol: symbol.clone(),
                    depth: sub.depth,
                    book,
                    trade,
                    ticker,
                    precision,
                });
            }
            for key in sub.precision.keys() {
                if !sub.symbols.contains(key) {
                    return Err(invalid(
                        format!("subscription[{i}].precision.\"{key}\""),
                        "names a symbol this block does not subscribe",
                    ));
                }
            }
        }
        Ok(plan)
    }

    pub fn stall_timeout(&self) -> Duration {
        Duration::from_millis(self.engine.stall_timeout_ms)
    }

    pub fn ping_interval(&self) -> Duration {
        Duration::from_millis(self.engine.ping_interval_ms)
    }
}

fn parse_precision(text: &str) -> Option<(u8, u8)> {
    let (p, q) = text.split_once(':')?;
    let p: u8 = p.trim().parse().ok()?;
    let q: u8 = q.trim().parse().ok()?;
    (p <= kspin_api::fixed::MAX_SCALE && q <= kspin_api::fixed::MAX_SCALE).then_some((p, q))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(text: &str) -> String {
        match Config::parse(text, "test.toml") {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn defaults_are_valid_and_run_against_the_simulator() {
        let c = Config::parse("", "empty").unwrap();
        assert_eq!(c.venue.url, "sim");
        assert_eq!(c.symbol_plan().unwrap().len(), 4);
        assert!(
            c.strategies.is_empty(),
            "a file without [[strategy]] runs none"
        );
        let c = Config::builtin();
        c.validate().unwrap();
        let names: Vec<&str> = c.strategies.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "spread_monitor",
                "trade_flow",
                "candles",
                "sma_cross",
                "whale_alert"
            ]
        );
    }

    #[test]
    fn the_example_configs_parse() {
        for name in ["kspin.toml", "kspin.kraken.toml", "kspin.trading.toml"] {
            let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "..", name]
                .iter()
                .collect();
            if let Err(e) = Config::load(&path) {
                panic!("{name}: {e}");
            }
        }
    }

    #[test]
    fn errors_name_the_key_and_reason() {
        assert!(err("[engine]\ncoer = 1\n").contains("unknown field `coer`"));
        assert!(
            err("[[subscription]]\nsymbols = [\"BTC/USD\"]\ndepth = 27\n")
                .contains("subscription[0].depth: 27 is not a depth")
        );
        assert!(err("[venue]\nurl = \"http://x\"\n").starts_with("venue.url:"));
        assert!(err("[mismatch]\naction = \"explode\"\n").starts_with("mismatch.action:"));
        assert!(
            err("[[subscription]]\nsymbols = [\"BTCUSD\"]\n").contains("not a Kraken v2 symbol")
        );
        assert!(
            err("[[subscription]]\nsymbols = [\"BTC/USD\"]\nchannels = [\"l2\"]\n")
                .contains("channels")
        );
        assert!(err("[backoff]\nmax_attempts_per_10_min = 500\n")
            .starts_with("backoff.max_attempts_per_10_min"));
        assert!(err("[engine]\nstall_timeout_ms = \"soon\"\n").contains("stall_timeout_ms"));
        assert!(err("[[subscription]]\nsymbols = [\"BTC/USD\"]\n[subscription.precision]\n\"BTC/USD\" = \"x\"\n")
            .contains("precision"));
    }

    #[test]
    fn precision_overrides_are_carried() {
        let c = Config::parse(
            "[[subscription]]\nsymbols = [\"BTC/USD\"]\ndepth = 10\n[subscription.precision]\n\"BTC/USD\" = \"1:8\"\n",
            "t",
        )
        .unwrap();
        assert_eq!(c.symbol_plan().unwrap()[0].precision, Some((1, 8)));
    }
}
