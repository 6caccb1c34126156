//! `kspin replay CAPTURE --strategies CONFIG` without `--paced`: the deterministic replay with
//! trading. Builds the configured strategies, resolves the configuration's `[trading]` limits and
//! `[replay]` models (with the command line's overrides), and feeds the capture's records to a
//! [`Backtest`] at their exchange times; the report gains the per-strategy backtest figures.
//!
//! A command, not the engine core: it allocates and prints freely. Invariants: nothing here reads
//! a clock that changes what the replay does (only `--timings` measures callbacks, reported
//! apart); the same capture, configuration and options give the same report.

use kspin_api::{Registry, Strategy};
use kspin_core::FrameOutcome;
use kspin_host::backtest::{
    record_times, Backtest, BacktestConfig, GatewayConfig, LatencyModel, VenueConfig,
};
use kspin_runtime::capture::{Capture, RecordKind};
use kspin_runtime::discover::{DepthSource, PrecisionSource};
use kspin_runtime::Engine;

use super::replay::{ReplayArgs, ReplayError};
use super::replay_report::ReplayReport;
use crate::config::Config;
use crate::strategies::params_from_toml;

/// Slots of each strategy's event ring in a backtest (a whole frame's events always fit: the
/// strategies drain their rings after every frame).
const RING_CAPACITY: usize = 1 << 16;

/// The backtest's configuration: `[trading]` limits at the capture's scales, `[replay]` models
/// with the command line's overrides.
fn backtest_config(
    config: &Config,
    args: &ReplayArgs,
    capture: &Capture,
) -> Result<(BacktestConfig, bool), ReplayError> {
    let plans = capture.symbol_plan();
    let precision: Vec<(u8, u8)> = plans
        .iter()
        .map(|p| p.precision.unwrap_or((0, 0)))
        .collect();
    let bad = |e: crate::config::ConfigError| ReplayError::Strategies(e.to_string());
    let (limits, unset) = config
        .trading
        .resolve_limits_for_replay(&config.strategies, &plans, &precision)
        .map_err(bad)?;
    let tier = config.trading.tier().map_err(bad)?;
    let mut replay = config.replay.clone();
    if let Some(v) = args.latency_us {
        replay.latency_us = v;
    }
    if let Some(v) = args.latency_jitter_us {
        replay.latency_jitter_us = v;
    }
    if let Some(v) = args.seed {
        replay.seed = v;
    }
    if let Some(q) = &args.queue {
        replay.queue = q.clone();
    }
    replay.validate().map_err(bad)?;
    let queue = replay.queue_model().map_err(bad)?;
    Ok((
        BacktestConfig {
            latency: LatencyModel::new(
                replay.latency_us.saturating_mul(1_000),
                replay.latency_jitter_us.saturating_mul(1_000),
                replay.seed,
            ),
            venue: VenueConfig {
                queue,
                maker_fee_bps: replay.maker_fee_bps,
                taker_fee_bps: replay.taker_fee_bps,
            },
            gateway: GatewayConfig {
                limits,
                max_open_per_pair: config.trading.max_open_orders_per_pair,
                order_slots: config.trading.order_slots,
                tier,
            },
            ring_capacity: RING_CAPACITY,
            time_callbacks: args.timings || !args.json,
        },
        unset,
    ))
}

/// Replays `capture` with `config`'s strategies on the deterministic backtest.
pub fn backtest_capture(
    file: &str,
    capture: &Capture,
    registry: &Registry,
    config: &Config,
    args: &ReplayArgs,
) -> Result<ReplayReport, ReplayError> {
    let cfg = capture.engine_config();
    if let Some(p) = cfg.symbols.iter().find(|p| p.precision.is_none()) {
        return Err(ReplayError::Strategies(format!(
            "the capture's header has no precision for {}; strategies need it before the first frame",
            p.symbol
        )));
    }
    let symbols = kspin_host::symbol_infos(&cfg.symbols);
    let mut strategies: Vec<(String, Box<dyn Strategy>)> = Vec::new();
    for s in &config.strategies {
        let params = params_from_toml(&s.name, &s.params, &symbols)
            .map_err(|e| ReplayError::Strategies(e.to_string()))?;
        let strategy = registry
            .build(&s.name, &params)
            .map_err(|e| ReplayError::Strategies(e.to_string()))?;
        strategies.push((s.name.clone(), strategy));
    }
    let (bcfg, unset_limits) = backtest_config(config, args, capture)?;
    if unset_limits {
        eprintln!(
            "kspin replay: trading.limits does not set every order size, notional and position limit; those not set are not checked"
        );
    }
    let (mut backtest, tape) = Backtest::new(&symbols, strategies, bcfg)
        .map_err(|e| ReplayError::Strategies(e.to_string()))?;
    backtest.set_log_sink(Box::new(|strategy, text| {
        eprintln!("  [{strategy}] {text}")
    }));
    let mut engine = Engine::new(&cfg, tape, quanta::Clock::new())?;
    let times = record_times(capture);
    let mut report = ReplayReport::empty(file);
    let first = times.first().copied().unwrap_or(0);
    backtest.start(&mut engine, first);
    for ((i, record), &time_ns) in capture.records().enumerate().zip(&times) {
        let record_no = i as u64 + 1;
        match record.kind {
            RecordKind::Frame => {
                report.lines += 1;
                if let FrameOutcome::Refused(e) =
                    backtest.frame(&mut engine, time_ns, record.payload)
                {
                    report.bad_frame(record_no, &e);
                }
            }
            RecordKind::LinkUp => backtest.link(&mut engine, true, time_ns),
            RecordKind::LinkDown => backtest.link(&mut engine, false, time_ns),
            RecordKind::Gap => report.capture_gap(record_no),
        }
    }
    report.torn_tail(capture);
    let provenance = cfg
        .symbols
        .iter()
        .map(|_| (DepthSource::Configured, PrecisionSource::Configured))
        .collect();
    report.fill_from(engine.pipeline(), &provenance);
    let end = times.last().copied().unwrap_or(first);
    let result = backtest.finish(&mut engine, end);
    report.strategies = Some(result.strategies_json(args.timings));
    report.backtest = Some(result);
    Ok(report)
}
