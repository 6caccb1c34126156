//! A complete small strategy, as in the README: every `every` (a timer), it samples the mid and
//! spread of one symbol and logs them; if the spread is at least `wide_ticks` it also places a
//! paper limit order one tick inside the spread. Then `main` runs it in the test harness,
//! `kspin_host::testing::TestHost` (also `kspin::testing::TestHost`): the engine's own pipeline,
//! bus, paper model and strategy host on one thread, with a scripted clock.
//!
//! Run with `cargo run -p kspin-strategies --example mid_sampler`.

use kspin_api::{
    Context, Event, EventKind, LogRecord, LogSchema, OrderIntent, ParamError, Params, Price, Qty,
    Side, Strategy, StrategySummary, SymbolId, SymbolInfo, TimerId,
};
use kspin_host::testing::TestHost;
use std::time::Duration;

/// Registry name (add `register!(mid_sampler, mid_sampler::MidSampler, "...")` to registry.rs).
pub const NAME: &str = "mid_sampler";

static SAMPLE: LogSchema = LogSchema::new("sample", ["mid", "spread", "", ""]);
const SAMPLE_TIMER: TimerId = TimerId(0);

pub struct MidSampler {
    symbol: SymbolId,
    every: Duration,
    wide_ticks: i64,
    qty: Qty,
    samples: u64,
    orders: u64,
}

impl MidSampler {
    /// Reads every parameter (unread ones are rejected by the registry) and sizes everything.
    pub fn from_params(p: &Params) -> Result<MidSampler, ParamError> {
        let symbol = p.get_symbol("symbol")?;
        Ok(MidSampler {
            symbol,
            every: p.get_duration_or("every", Duration::from_secs(1))?,
            wide_ticks: p.get_u64_in("wide_ticks", 5, 2, 1_000_000)? as i64,
            qty: p.get_qty("qty", symbol)?,
            samples: 0,
            orders: 0,
        })
    }

    fn sample(&mut self, ctx: &mut dyn Context) {
        let Some(book) = ctx.book(self.symbol).filter(|b| b.is_live()) else {
            return;
        };
        let (Some(mid), Some(spread), Some((bid, _))) =
            (book.mid(), book.spread(), book.best_bid())
        else {
            return;
        };
        let price_scale = book.price_scale();
        self.samples += 1;
        ctx.log(
            LogRecord::new(&SAMPLE, Some(self.symbol))
                .value(mid.mantissa, mid.scale)
                .value(spread.0, price_scale),
        );
        if spread.0 >= self.wide_ticks {
            let intent = OrderIntent::limit(self.symbol, Side::Buy, Price(bid.0 + 1), self.qty);
            if ctx.submit(intent).is_ok() {
                self.orders += 1;
            }
        }
    }
}

impl Strategy for MidSampler {
    fn on_start(&mut self, ctx: &mut dyn Context) {
        // Cannot fail: this is the only timer.
        let _ = ctx.set_timer(SAMPLE_TIMER, self.every);
    }

    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        if let EventKind::Timer(t) = event.kind {
            if t.id == SAMPLE_TIMER {
                self.sample(ctx);
                let _ = ctx.set_timer(SAMPLE_TIMER, self.every);
            }
        }
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
            .count("samples", self.samples)
            .count("orders", self.orders)
    }
}

fn main() -> Result<(), ParamError> {
    let symbols = vec![SymbolInfo::new(0, "BTC/USD", 1, 8, 10)];
    let params = Params::from_pairs(
        &symbols,
        &[("symbol", "BTC/USD"), ("every", "500ms"), ("qty", "0.01")],
    )?;
    let mut strategy = MidSampler::from_params(&params)?;
    params.finish()?;

    let btc = SymbolId(0);
    let mut host = TestHost::new(symbols);
    host.start(&mut strategy);
    host.book_snapshot(
        &mut strategy,
        btc,
        &[(1000, 100_000_000)],
        &[(1001, 200_000_000)],
    );
    host.advance(&mut strategy, Duration::from_millis(600));
    host.book_update(&mut strategy, btc, &[], &[(1001, 0), (1010, 50_000_000)]);
    host.advance(&mut strategy, Duration::from_millis(500));

    for line in host.log_lines() {
        println!("{line}");
    }
    for (id, intent) in host.intents() {
        println!("intent {id}: {intent:?}");
    }
    // The engine's paper model answered the order: it rests one tick inside the spread.
    let updates: Vec<_> = host
        .events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Order(u) => Some(u),
            _ => None,
        })
        .collect();
    for u in &updates {
        println!("order {}: {:?}", u.client_id, u.status);
    }
    println!("summary: {}", strategy.summary());
    assert_eq!(
        host.log_lines(),
        [
            "sample BTC/USD mid=100.05 spread=0.1",
            "sample BTC/USD mid=100.50 spread=1.0"
        ]
    );
    assert_eq!(host.intents().len(), 1);
    assert_eq!(updates.len(), 1);
    Ok(())
}
