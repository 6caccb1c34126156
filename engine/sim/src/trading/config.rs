//! How the venue's trading side is configured: the key pair the token endpoint accepts, the
//! account's starting balances, fees, the trading tier behind Kraken's per-pair limits
//! (spot-ratelimits), the token lifetime and the listeners' ports.
//!
//! Owns plain data and its resolution into checked values. Invariants: the default is usable
//! as is (ephemeral ports, a throwaway key pair made at start, Starter tier, Kraken's
//! default fees, generous balances); an empty key or secret means "make a throwaway pair", which
//! the handle then hands out ([`crate::VenueHandle::credentials`]); a bad secret or balance is
//! an error at start, never later. Nothing here opens sockets.

use std::time::Duration;

use kspin_auth::Credentials;

use super::decimal::parse_decimal;
use super::ids::random_base64;
use crate::pairs::asset_precision;

/// Kraken's tokens "should be used within 15 minutes of creation" (PROTOCOL.md §1.12).
pub const DEFAULT_TOKEN_TTL: Duration = Duration::from_secs(900);

/// A client tier of Kraken's spot trading limits (spot-ratelimits.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TradingTier {
    #[default]
    Starter,
    Intermediate,
    Pro,
}

impl TradingTier {
    /// Rate counter decay per second, in hundredths (−1, −2.34, −3.75).
    pub fn decay_centi_per_sec(self) -> i64 {
        match self {
            TradingTier::Starter => 100,
            TradingTier::Intermediate => 234,
            TradingTier::Pro => 375,
        }
    }

    /// Rate counter threshold (60, 125, 180).
    pub fn threshold(self) -> i64 {
        match self {
            TradingTier::Starter => 60,
            TradingTier::Intermediate => 125,
            TradingTier::Pro => 180,
        }
    }

    /// Maximum open orders per pair (60, 80, 225).
    pub fn max_open_orders(self) -> usize {
        match self {
            TradingTier::Starter => 60,
            TradingTier::Intermediate => 80,
            TradingTier::Pro => 225,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            TradingTier::Starter => "starter",
            TradingTier::Intermediate => "intermediate",
            TradingTier::Pro => "pro",
        }
    }
}

impl std::str::FromStr for TradingTier {
    type Err = String;

    fn from_str(s: &str) -> Result<TradingTier, String> {
        match s.to_ascii_lowercase().as_str() {
            "starter" => Ok(TradingTier::Starter),
            "intermediate" => Ok(TradingTier::Intermediate),
            "pro" => Ok(TradingTier::Pro),
            _ => Err(format!("unknown tier `{s}` (starter, intermediate or pro)")),
        }
    }
}

/// The trading side of a venue. `..SimTradingConfig::default()` fills the rest.
#[derive(Clone)]
pub struct SimTradingConfig {
    /// Port of the REST listener (`POST /0/private/GetWebSocketsToken`) on 127.0.0.1; 0 =
    /// ephemeral (see `VenueHandle::rest_url`).
    pub rest_port: u16,
    /// Port of the authenticated WebSocket listener (`ws-auth`); 0 = ephemeral.
    pub auth_port: u16,
    /// The API key the token endpoint accepts; empty = generate a throwaway pair.
    pub api_key: String,
    /// The base64 API secret belonging to `api_key`; empty = generate a throwaway pair.
    pub api_secret: String,
    /// Tier of the per-pair rate counter and open-order limit.
    pub tier: TradingTier,
    /// Maker fee in basis points of the cost (25 = 0.25 %).
    pub maker_fee_bps: u32,
    /// Taker fee in basis points of the cost (40 = 0.40 %).
    pub taker_fee_bps: u32,
    /// Starting balances: (asset, decimal amount), e.g. `("USD", "100000")`.
    pub balances: Vec<(String, String)>,
    /// How long an issued token may wait before a connection subscribes with it.
    pub token_ttl: Duration,
    /// Refuse transactions beyond the tier's rate-counter threshold (Kraken's behaviour; off
    /// only for latency benchmarks that send more orders than any tier allows).
    pub rate_limit: bool,
}

impl std::fmt::Debug for SimTradingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let head: String = self.api_key.chars().take(4).collect();
        f.debug_struct("SimTradingConfig")
            .field("rest_port", &self.rest_port)
            .field("auth_port", &self.auth_port)
            .field("api_key", &format!("{head}…"))
            .field("api_secret", &"<redacted>")
            .field("tier", &self.tier)
            .field("maker_fee_bps", &self.maker_fee_bps)
            .field("taker_fee_bps", &self.taker_fee_bps)
            .field("balances", &self.balances)
            .field("token_ttl", &self.token_ttl)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

/// Starting balances when none are configured: plenty of every asset the pair table trades.
pub const DEFAULT_BALANCES: [(&str, &str); 10] = [
    ("USD", "1000000"),
    ("EUR", "1000000"),
    ("GBP", "1000000"),
    ("BTC", "100"),
    ("ETH", "1000"),
    ("SOL", "10000"),
    ("MINA", "1000000"),
    ("ALGO", "1000000"),
    ("XDG", "10000000"),
    ("XRP", "1000000"),
];

impl Default for SimTradingConfig {
    fn default() -> SimTradingConfig {
        SimTradingConfig {
            rest_port: 0,
            auth_port: 0,
            api_key: String::new(),
            api_secret: String::new(),
            tier: TradingTier::Starter,
            maker_fee_bps: 25,
            taker_fee_bps: 40,
            balances: DEFAULT_BALANCES
                .iter()
                .map(|(a, v)| (a.to_string(), v.to_string()))
                .collect(),
            token_ttl: DEFAULT_TOKEN_TTL,
            rate_limit: true,
        }
    }
}

/// A configuration checked and completed at start.
#[derive(Debug, Clone)]
pub struct ResolvedTrading {
    pub credentials: Credentials,
    pub tier: TradingTier,
    pub maker_fee_bps: u32,
    pub taker_fee_bps: u32,
    /// (asset, mantissa at `asset_precision(asset)`), in configuration order.
    pub balances: Vec<(String, i128)>,
    pub token_ttl: Duration,
    pub rate_limit: bool,
}

/// Largest fee accepted (10 %: anything above is a configuration mistake).
const MAX_FEE_BPS: u32 = 1_000;

impl SimTradingConfig {
    /// Checks the configuration and makes the throwaway key pair if none is given.
    pub fn resolve(&self) -> Result<ResolvedTrading, String> {
        let credentials = if self.api_key.is_empty() && self.api_secret.is_empty() {
            let key = random_base64(42, false).ok_or("no random source for the key pair")?;
            let secret = random_base64(64, true).ok_or("no random source for the key pair")?;
            Credentials::new(&key, &secret, "the venue's throwaway key pair")
        } else {
            Credentials::new(
                &self.api_key,
                &self.api_secret,
                "the venue's trading config",
            )
        }
        .map_err(|e| e.to_string())?;
        if credentials.secret().is_empty() {
            return Err("the venue's API secret is empty".into());
        }
        for (name, bps) in [("maker", self.maker_fee_bps), ("taker", self.taker_fee_bps)] {
            if bps > MAX_FEE_BPS {
                return Err(format!("{name} fee {bps} bps is above {MAX_FEE_BPS} bps"));
            }
        }
        let mut balances: Vec<(String, i128)> = Vec::new();
        for (asset, text) in &self.balances {
            if asset.is_empty() || !asset.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(format!("balance asset `{asset}` is not an asset code"));
            }
            let scale = asset_precision(asset);
            let value = parse_decimal(text, scale)
                .ok()
                .filter(|v| *v >= 0)
                .ok_or_else(|| {
                    format!("balance `{text}` of {asset} is not a non-negative amount with at most {scale} decimals")
                })?;
            match balances.iter_mut().find(|(a, _)| a == asset) {
                Some(slot) => slot.1 = i128::from(value),
                None => balances.push((asset.clone(), i128::from(value))),
            }
        }
        Ok(ResolvedTrading {
            credentials,
            tier: self.tier,
            maker_fee_bps: self.maker_fee_bps,
            taker_fee_bps: self.taker_fee_bps,
            balances,
            token_ttl: self.token_ttl,
            rate_limit: self.rate_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_resolves_with_a_throwaway_pair_and_bad_values_are_named() {
        let r = SimTradingConfig::default().resolve().unwrap();
        assert_eq!(r.credentials.api_key().len(), 56);
        assert_eq!(r.credentials.secret().len(), 64);
        assert_eq!(r.balances[0], ("USD".to_string(), 10_000_000_000));
        let other = SimTradingConfig::default().resolve().unwrap();
        assert_ne!(r.credentials.api_key(), other.credentials.api_key());
        let bad = SimTradingConfig {
            balances: vec![("USD".into(), "1.00001".into())],
            ..SimTradingConfig::default()
        };
        assert!(bad.resolve().unwrap_err().contains("at most 4 decimals"));
        let bad = SimTradingConfig {
            api_key: "KEY".into(),
            api_secret: "not base64!".into(),
            ..SimTradingConfig::default()
        };
        assert!(bad.resolve().is_err());
        let shown = format!(
            "{:?}",
            SimTradingConfig {
                api_key: "KEYKEYKEY".into(),
                api_secret: "c2VjcmV0".into(),
                ..SimTradingConfig::default()
            }
        );
        assert!(!shown.contains("c2VjcmV0") && !shown.contains("KEYKEYKEY"));
        assert_eq!("Pro".parse::<TradingTier>(), Ok(TradingTier::Pro));
        assert_eq!(TradingTier::Intermediate.threshold(), 125);
        assert_eq!(TradingTier::Pro.max_open_orders(), 225);
    }
}
