//! Live trading for `kspin run`: the mode check (`mode = "live"` and `--live`), the credentials,
//! the authenticated connection and token service (the embedded venue's, or Kraken's), the
//! session's limits, the start-up banner, and the `trading` object of `--json`.
//!
//! Owns [`LiveSetup`] and the report. Invariants: nothing here runs on the engine core; no secret
//! is printed (the key is shown as its first characters only, the secret never); paper mode
//! builds nothing and reports the paper model's counts in the same shape.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use serde_json::{json, Value};

use kspin_api::{FixedDisplay, RejectReason};
use kspin_auth::{Credentials, CredentialsError, TokenClient, TokenService};
use kspin_core::trading::session::{SessionConfig, SessionSymbol, TradingSession};
use kspin_host::Bus;
use kspin_net::{ConnLimits, Endpoint, TlsSettings, WsTransport};
use kspin_runtime::trading::{TradingLink, TradingLinkConfig};
use kspin_runtime::BackoffPolicy;
use kspin_sim::{SimTradingConfig, TradingTier, VenueHandle};

use super::run::RunError;
use crate::config::trading::{KRAKEN_AUTH_URL, KRAKEN_REST_URL};
use crate::config::{Config, SymbolPlan, TradingMode};

/// The live order path `kspin run` hands the engine core.
pub type LiveLink = TradingLink<WsTransport, TokenService>;

/// Why live trading could not start (exit code 2, like every configuration error).
#[derive(Debug, thiserror::Error)]
pub enum TradingError {
    #[error("{config}: trading.mode = \"live\": live trading also needs --live on the command line (or set trading.mode = \"paper\")")]
    LiveFlagMissing { config: String },
    #[error("--live given, but {config} trades on paper (trading.mode = \"paper\"); set trading.mode = \"live\" to trade")]
    NotLiveConfig { config: String },
    #[error("credentials: {0}")]
    Credentials(#[from] CredentialsError),
    #[error("trading.url: {0}")]
    Url(kspin_net::NetError),
    #[error("token endpoint: {0}")]
    Token(#[from] kspin_auth::TokenError),
    #[error("token service thread: {0}")]
    Spawn(std::io::Error),
    #[error("order path: {0}")]
    Session(String),
}

/// Checks the mode against `--live`: `Ok(true)` to trade live, `Ok(false)` for paper.
pub fn check_mode(config: &Config, origin: &str, live_flag: bool) -> Result<bool, TradingError> {
    match (
        config
            .trading
            .mode()
            .map_err(|e| TradingError::Session(e.to_string()))?,
        live_flag,
    ) {
        (TradingMode::Live, true) => Ok(true),
        (TradingMode::Paper, false) => Ok(false),
        (TradingMode::Live, false) => Err(TradingError::LiveFlagMissing {
            config: origin.to_owned(),
        }),
        (TradingMode::Paper, true) => Err(TradingError::NotLiveConfig {
            config: origin.to_owned(),
        }),
    }
}

/// The credentials for live trading: the environment, else `trading.credentials`. With the
/// embedded venue none are needed (it makes a throwaway pair): `Ok(None)`.
pub fn load_credentials(config: &Config) -> Result<Option<Credentials>, TradingError> {
    match Credentials::load(config.trading.credentials.as_deref()) {
        Ok(c) => Ok(Some(c)),
        Err(CredentialsError::Missing) if config.venue.url == "sim" => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The embedded venue's trading side, verifying `credentials` (or a throwaway pair).
pub fn sim_trading(config: &Config, credentials: Option<&Credentials>) -> SimTradingConfig {
    let tier = match config.trading.tier.as_str() {
        "intermediate" => TradingTier::Intermediate,
        "pro" => TradingTier::Pro,
        _ => TradingTier::Starter,
    };
    let (api_key, api_secret) = match credentials {
        Some(c) => (
            c.api_key().to_owned(),
            base64::engine::general_purpose::STANDARD.encode(c.secret().expose()),
        ),
        None => (String::new(), String::new()),
    };
    SimTradingConfig {
        api_key,
        api_secret,
        tier,
        ..SimTradingConfig::default()
    }
}

/// Everything live trading needs, built before the core starts.
pub struct LiveSetup {
    pub link: LiveLink,
    pub kill: Arc<AtomicBool>,
    /// The banner printed at start-up (mode, endpoint, limits).
    pub banner: Vec<String>,
}

/// A per-run prefix for client order ids: time and process id mixed (not a secret; it only has
/// to differ between runs).
fn run_id() -> u32 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let mixed = (now.as_nanos() as u64) ^ (u64::from(std::process::id()) << 32);
    (mixed ^ (mixed >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15) as u32
}

/// Builds the live order path: session, connection, token service, banner.
pub fn prepare_live(
    config: &Config,
    plan: &[SymbolPlan],
    venue: Option<&VenueHandle>,
    credentials: Option<Credentials>,
    clock: quanta::Clock,
) -> Result<LiveSetup, RunError> {
    let t = &config.trading;
    let tier = t.tier()?;
    let precision: Vec<(u8, u8)> = plan.iter().map(|p| p.precision.unwrap_or((0, 0))).collect();
    let limits = t.resolve_limits(&config.strategies, plan, &precision)?;
    let session = TradingSession::new(SessionConfig {
        symbols: plan
            .iter()
            .zip(&precision)
            .map(|(p, &(ps, qs))| SessionSymbol {
                name: p.symbol.clone(),
                price_scale: ps,
                qty_scale: qs,
            })
            .collect(),
        strategies: config.strategies.len(),
        limits: limits.clone(),
        tier,
        max_open_per_pair: t.max_open_orders_per_pair,
        order_slots: t.order_slots,
        validate: t.validate,
        cancel_unknown_orders: t.cancel_unknown_orders,
        run_id: run_id(),
        dead_man_timeout_s: t.dead_man_timeout_s,
        writer_capacity: 64 << 10,
        enforce_rate_limit: true,
    })
    .map_err(|e| TradingError::Session(e.to_string()))?;

    // Where to connect: the embedded venue's listeners, or Kraken's (or what the config names).
    let (endpoint, tls, rest_url, root_pem, credentials) = match venue {
        Some(v) if config.venue.url == "sim" => {
            let url = v.auth_url().ok_or_else(|| {
                TradingError::Session("the embedded venue has no trading side".into())
            })?;
            let mut endpoint =
                Endpoint::parse(t.url.as_deref().unwrap_or(&url)).map_err(TradingError::Url)?;
            let server_name = endpoint.tls.then(|| endpoint.host.clone());
            if let Some(addr) = v.auth_addr() {
                endpoint.host = addr.ip().to_string();
            }
            let pem = v.cert_pem().map(str::to_owned);
            let tls = TlsSettings {
                extra_root_pem: pem.clone(),
                use_webpki_roots: false,
                server_name_override: server_name,
            };
            let rest = t.rest_url.clone().or(v.rest_url()).unwrap_or_default();
            // The venue verifies the engine's key pair, or hands out its throwaway one.
            let creds = match credentials.or_else(|| v.credentials()) {
                Some(c) => c,
                None => return Err(TradingError::Credentials(CredentialsError::Missing).into()),
            };
            (endpoint, tls, rest, pem, creds)
        }
        _ => {
            let endpoint = Endpoint::parse(t.url.as_deref().unwrap_or(KRAKEN_AUTH_URL))
                .map_err(TradingError::Url)?;
            let tls = TlsSettings {
                extra_root_pem: None,
                use_webpki_roots: true,
                server_name_override: None,
            };
            let rest = t
                .rest_url
                .clone()
                .unwrap_or_else(|| KRAKEN_REST_URL.to_owned());
            let creds = credentials.ok_or(TradingError::Credentials(CredentialsError::Missing))?;
            (endpoint, tls, rest, None, creds)
        }
    };
    let key_hint = credentials.key_hint();
    let transport = WsTransport::new(
        &endpoint,
        &tls,
        ConnLimits {
            max_frame_len: config.engine.max_frame_bytes,
            ..ConnLimits::default()
        },
    )
    .map_err(TradingError::Url)?;
    let client = TokenClient::new(&rest_url, root_pem.as_deref(), Duration::from_secs(10))
        .map_err(TradingError::Token)?;
    let tokens = TokenService::spawn(client, credentials, |message| {
        // The token thread's own line: the error names what failed, never the secret.
        eprintln!("kspin: trading: {message}");
    })
    .map_err(TradingError::Spawn)?;
    let epoch_ns = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let link_cfg = TradingLinkConfig {
        stall_timeout: config.stall_timeout(),
        ping_interval: config.ping_interval(),
        connect_timeout: Duration::from_millis(config.engine.connect_timeout_ms),
        backoff: BackoffPolicy {
            instant_retries: config.backoff.instant_retries,
            initial: Duration::from_millis(config.backoff.initial_ms),
            max: Duration::from_millis(config.backoff.max_ms),
            after_maintenance: Duration::from_millis(config.backoff.after_maintenance_ms),
            jitter: config.backoff.jitter,
            max_attempts_per_window: config.backoff.max_attempts_per_10_min,
        },
        seed: config.venue.sim.seed ^ 0x7472_6164_6500,
        dead_man_refresh: Duration::from_secs(u64::from(t.dead_man_refresh_s.max(1))),
        cancel_on_exit: t.cancel_on_exit,
        ..TradingLinkConfig::new(epoch_ns)
    };
    let kill = Arc::new(AtomicBool::new(false));
    let link = TradingLink::new(
        link_cfg,
        session,
        transport,
        tokens,
        Arc::clone(&kill),
        clock,
    )
    .map_err(|e| TradingError::Session(e.to_string()))?;

    let mut banner = vec![format!(
        "kspin: trading LIVE{} on {} (key {key_hint}, tokens from {rest_url}): tier {}, at most {} open orders per pair, dead man's switch {}",
        if t.validate { " (validate only: orders are checked by the venue, never placed)" } else { "" },
        endpoint_text(&endpoint),
        t.tier,
        t.max_open_orders_per_pair,
        if t.dead_man_timeout_s == 0 {
            "off".to_owned()
        } else {
            format!("{} s refreshed every {} s", t.dead_man_timeout_s, t.dead_man_refresh_s)
        },
    )];
    for (k, s) in config.strategies.iter().enumerate() {
        for (i, (p, &(ps, qs))) in plan.iter().zip(&precision).enumerate() {
            let l = &limits[k * plan.len() + i];
            let n = |m: i64, scale| FixedDisplay { mantissa: m, scale }.to_string();
            banner.push(format!(
                "kspin: limits {} on {}: order qty ≤ {}, notional ≤ {}, position ≤ {}, band {} bps, {} open orders",
                s.name,
                p.symbol,
                n(l.max_order_qty.0, qs),
                n(i64::try_from(l.max_order_notional).unwrap_or(i64::MAX), ps + qs),
                n(l.max_position.0, qs),
                l.price_band_bps,
                l.max_open_orders
            ));
        }
    }
    banner.push(format!(
        "kspin: kill switch: `kspin kill --pid {}` (or SIGUSR1) cancels every order and stops new ones",
        std::process::id()
    ));
    Ok(LiveSetup { link, kill, banner })
}

fn endpoint_text(e: &Endpoint) -> String {
    format!(
        "{}://{}:{}{}",
        if e.tls { "wss" } else { "ws" },
        e.host,
        e.port,
        e.path
    )
}

fn rejects_json(counts: &[u64]) -> Value {
    (0..RejectReason::COUNT)
        .filter_map(RejectReason::from_index)
        .map(|r| {
            (
                r.name().to_owned(),
                json!(counts.get(r.index()).copied().unwrap_or(0)),
            )
        })
        .collect::<serde_json::Map<String, Value>>()
        .into()
}

fn quantiles(h: &hdrhistogram::Histogram<u64>) -> Value {
    let q = |x: f64| {
        if h.is_empty() {
            0
        } else {
            h.value_at_quantile(x)
        }
    };
    json!({"p50": q(0.5), "p99": q(0.99), "p99_9": q(0.999), "max": h.max(), "samples": h.len()})
}

/// The `trading` object of `kspin run --json` for a live run.
pub fn live_json(link: &LiveLink, plan: &[SymbolPlan]) -> Value {
    let s = link.session();
    let c = s.counters();
    let l = link.counters();
    let positions: serde_json::Map<String, Value> = plan
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let qs = p.precision.map_or(0, |(_, q)| q);
            let pos = s.position(i).unwrap_or(0);
            (
                p.symbol.clone(),
                json!(FixedDisplay {
                    mantissa: pos,
                    scale: qs
                }
                .to_string()),
            )
        })
        .collect();
    let balances: serde_json::Map<String, Value> = s
        .balances()
        .iter()
        .map(|(asset, d)| {
            (
                asset.to_owned(),
                json!(FixedDisplay {
                    mantissa: d.mantissa,
                    scale: d.scale
                }
                .to_string()),
            )
        })
        .collect();
    let r = s.last_reconcile();
    json!({
        "mode": "live",
        "validate": link.session().counters().validated > 0,
        "orders_sent": c.orders_sent,
        "acks": c.acks,
        "fills": c.fills,
        "cancels": c.cancels,
        "amends": c.amends,
        "rejects": rejects_json(&c.rejects),
        "open_orders": s.open_orders(),
        "positions": positions,
        "balances": balances,
        "reconciliations": c.reconciliations,
        "reconciled_orders": c.reconciled_orders,
        "last_reconciliation": {
            "open_confirmed": r.open_confirmed,
            "fills_applied": r.fills_applied,
            "filled_meanwhile": r.filled_meanwhile,
            "vanished": r.vanished,
            "changes_lost": r.changes_lost,
            "unknown_open": r.unknown_open,
            "unknown_cancelled": r.unknown_cancelled,
        },
        "unknown_open_orders": c.unknown_open_orders,
        "requests_sent": c.requests_sent,
        "dead_man_refreshes": c.dead_man_refreshes,
        "killed": c.killed,
        "link": {
            "connects": l.connects,
            "disconnects": l.disconnects,
            "connect_failures": l.connect_failures,
            "disconnects_by_cause": super::causes::causes_json(&l.disconnects_by_cause),
            "connect_failures_by_cause": super::causes::causes_json(&l.connect_failures_by_cause),
            "stalls": l.stalls,
            "token_requests": l.token_requests,
            "token_failures": l.token_unreachable + l.token_refused + l.token_bad_response + l.token_timeouts,
            "subscribe_refused": l.subscribe_refused,
            "updates_lost": l.updates_lost,
        },
        "tick_to_trade_ns": quantiles(&link.latency().tick_to_trade),
        "engine_ns": quantiles(&link.latency().engine),
    })
}

/// The `trading` object of `kspin run --json` for a paper run (the same keys where they mean
/// something on paper).
pub fn paper_json(bus: &Bus, plan: &[SymbolPlan], strategies: usize) -> Value {
    let mut rejects = [0u64; RejectReason::COUNT];
    let (mut sent, mut fills, mut cancels, mut open) = (0, 0, 0, 0);
    let mut positions = vec![0i64; plan.len()];
    for k in 0..strategies {
        if let Some(t) = bus.paper_trader(k) {
            let c = t.counters();
            sent += c.intents;
            fills += c.fills;
            cancels += c.cancels;
            open += t.open_orders();
            for (all, mine) in rejects.iter_mut().zip(c.rejects_by_reason) {
                *all += mine;
            }
            for (i, p) in positions.iter_mut().enumerate() {
                *p += t.position(i).unwrap_or(0);
            }
        }
    }
    let positions: serde_json::Map<String, Value> = plan
        .iter()
        .zip(positions)
        .map(|(p, pos)| {
            let qs = p.precision.map_or(0, |(_, q)| q);
            (
                p.symbol.clone(),
                json!(FixedDisplay {
                    mantissa: pos,
                    scale: qs
                }
                .to_string()),
            )
        })
        .collect();
    json!({
        "mode": "paper",
        "orders_sent": sent,
        "acks": sent.saturating_sub(rejects.iter().sum::<u64>()),
        "fills": fills,
        "cancels": cancels,
        "rejects": rejects_json(&rejects),
        "open_orders": open,
        "positions": positions,
        "reconciliations": 0,
    })
}
