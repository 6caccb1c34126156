//! `kspin run`'s NATS bridge: started beside the strategies when `--nats URL` or `[nats] url`
//! is given, fed by its own tap lane of the bus, stopped after the engine core, reported in the
//! summary's `nats` object.
//!
//! Owns only the glue between the run and `kspin-nats`; the engine core never sees any of it.
//! At the end of a run the bus's catch-up work is run until no lane waits for a snapshot (the
//! core has stopped, so nothing else will), then the bridge drains its lane and stops: the last
//! book it published is the engine's last verified book.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kspin_api::SymbolInfo;
use kspin_host::Bus;
use kspin_nats::{spawn_bridge, RunningBridge};
use serde_json::{json, Value};

use super::run::RunError;
use crate::config::Config;

/// A started bridge.
pub(crate) struct Bridge {
    running: RunningBridge,
    stop: Arc<AtomicBool>,
    lane: usize,
    url: String,
    venue: String,
}

/// Starts the bridge when a NATS URL is configured (`--nats` wins over `[nats] url`).
pub(crate) fn start(
    config: &Config,
    url_arg: Option<&str>,
    bus: &mut Bus,
    symbols: &[SymbolInfo],
) -> Result<Option<Bridge>, RunError> {
    let Some(url) = url_arg.or(config.nats.url.as_deref()) else {
        return Ok(None);
    };
    if !url.starts_with("nats://") {
        return Err(RunError::Config(crate::config::ConfigError::Invalid {
            key: "--nats".into(),
            reason: format!("{url:?} is not a nats:// URL"),
        }));
    }
    let tap = bus.add_tap("nats", config.nats.ring_capacity)?;
    let lane = tap.index;
    let bridge = config.nats.bridge(url, &config.venue.url);
    let venue = bridge.venue.clone();
    let stop = Arc::new(AtomicBool::new(false));
    let running = spawn_bridge(bridge, symbols.to_vec(), tap, Arc::clone(&stop))?;
    eprintln!(
        "kspin: NATS bridge to {url}: stream {}, subjects kspin.{venue}.<kind>.<SYMBOL>",
        config.nats.stream
    );
    Ok(Some(Bridge {
        running,
        stop,
        lane,
        url: url.to_owned(),
        venue,
    }))
}

/// Hands every lagging lane its catch-up snapshot after the core stopped (bounded: one second).
pub(crate) fn final_catch_up<O: kspin_runtime::OrderLink<Bus>>(
    core: &mut kspin_runtime::EngineCore<Bus, kspin_net::WsTransport, O>,
) {
    let until = Instant::now() + Duration::from_secs(1);
    let (feed, bus, _) = core.engine_mut().order_view();
    while bus.needs_service() && Instant::now() < until {
        bus.service(feed);
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Stops the bridge (the core has stopped) and returns the summary's `nats` object.
pub(crate) fn finish(bridge: Bridge, bus: &Bus) -> Result<Value, RunError> {
    bridge.stop.store(true, Ordering::Release);
    let report = bridge.running.join()?;
    let mut v = report.to_json();
    let lane = bus.lane_counters(bridge.lane).unwrap_or_default();
    v["orders_dropped"] = json!(bus.order_tap_drops());
    v["url"] = json!(bridge.url);
    v["venue"] = json!(bridge.venue);
    v["lane"] = json!({
        "events_published": lane.events_published,
        "events_dropped": lane.events_dropped,
        "snapshots_handed": lane.snapshots_handed,
        "lag_episodes": lane.lag_episodes,
        "resnapshots": lane.resnapshots_requested,
    });
    Ok(v)
}
