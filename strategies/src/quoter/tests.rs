//! The quoter in the test harness (the engine's pipeline, bus, paper model and strategy host on
//! a scripted clock), built through the registry: exact quote prices, amends and their
//! throttles, paper fills, takes, the position limit, halting on stale books and links, and
//! the venue's refusals scripted with the paper model off.

use kspin_api::{
    BookStale, ClientOrderId, EventKind, LinkState, OrderIntent, OrderRequest, OrderUpdate, Params,
    Price, Qty, RejectReason, RiskReason, Side, StaleReason, Strategy, SymbolId, SymbolInfo,
    SystemStatus, TimeInForce,
};
use kspin_host::testing::TestHost;

const BTC: SymbolId = SymbolId(0);
const ONE: i64 = 100_000_000;
/// The order size, 0.001 BTC.
const Q: i64 = 100_000;
const MS: u64 = 1_000_000;
const T0: u64 = 1_000_000_000_000;

fn build(extra: &[(&str, &str)]) -> (TestHost, Box<dyn Strategy>) {
    let symbols = vec![SymbolInfo::new(0, "BTC/USD", 1, 8, 10)];
    let mut pairs = vec![("symbol", "BTC/USD"), ("qty", "0.001")];
    pairs.extend_from_slice(extra);
    let params = Params::from_pairs(&symbols, &pairs).unwrap();
    let mut strategy = crate::builtins().build("quoter", &params).unwrap();
    let mut host = TestHost::new(symbols);
    host.set_now(T0);
    host.start(&mut *strategy);
    (host, strategy)
}

/// 50000.0 / 50001.0, one more level a side.
fn open_book(host: &mut TestHost, s: &mut dyn Strategy) {
    host.book_snapshot(
        s,
        BTC,
        &[(500_000, ONE), (499_990, ONE)],
        &[(500_010, ONE), (500_020, ONE)],
    );
}

fn quote(side: Side, price: i64) -> OrderIntent {
    OrderIntent::post_only(BTC, side, Price(price), Qty(Q))
}

fn take(side: Side, price: i64, qty: i64) -> OrderIntent {
    OrderIntent::limit(BTC, side, Price(price), Qty(qty)).with_tif(TimeInForce::Ioc)
}

fn requests(host: &TestHost) -> Vec<OrderRequest> {
    host.orders().iter().map(|m| m.request).collect()
}

fn new(host: &TestHost, n: u64, intent: OrderIntent) -> OrderRequest {
    OrderRequest::New {
        client_id: host.order_id(n),
        intent,
    }
}

fn amend(id: ClientOrderId, price: i64) -> OrderRequest {
    OrderRequest::Amend {
        client_id: id,
        symbol: BTC,
        price: Price(price),
        qty: Qty(Q),
    }
}

const CANCEL_ALL: OrderRequest = OrderRequest::CancelAll { symbol: Some(BTC) };

fn figure(s: &dyn Strategy, name: &str) -> i64 {
    s.summary().get(name).map_or(i64::MIN, |f| f.value)
}

#[test]
fn quotes_both_sides_at_exact_prices_rounded_away_from_the_touch() {
    let (mut host, mut s) = build(&[]);
    let s = &mut *s;
    open_book(&mut host, s);
    // Mid 500005 ticks; 10 bps: bid 499504.995 rounded down, ask 500505.005 rounded up.
    assert_eq!(
        host.intents(),
        [
            (host.order_id(1), quote(Side::Buy, 499_504)),
            (host.order_id(2), quote(Side::Sell, 500_506)),
        ]
    );
    // Both rest on paper; nothing more happens on a change that moves nothing.
    host.book_update(s, BTC, &[(499_990, 2 * ONE)], &[]);
    assert_eq!(host.orders().len(), 2);
    assert_eq!(
        s.summary().to_string(),
        "quotes_placed=2 amends=0 cancels=0 takes=0 fills=0 rejects=0 rejects_would_take=0 \
         rejects_risk=0 change_rejects=0 submit_errors=0 position=0.00000000 \
         max_abs_position=0.00000000"
    );
}

#[test]
fn amends_only_beyond_requote_bps_and_not_before_min_requote_ms() {
    let (mut host, mut s) = build(&[]);
    let s = &mut *s;
    open_book(&mut host, s);
    let (bid, ask) = (host.order_id(1), host.order_id(2));
    // The market moves up 200 ticks 100 ms after the quotes: wanted 499704 / 500706, but too
    // soon to amend.
    host.set_now(T0 + 100 * MS);
    host.book_update(
        s,
        BTC,
        &[(500_200, ONE)],
        &[(500_010, 0), (500_020, 0), (500_210, ONE)],
    );
    assert_eq!(host.orders().len(), 2);
    // 250 ms after them, any book change amends both.
    host.set_now(T0 + 250 * MS);
    host.book_update(s, BTC, &[(500_200, 2 * ONE)], &[]);
    // 50 more ticks: wanted 499754 / 500756, 50 ticks off, within 2 bps (99.9 ticks): no amend.
    host.set_now(T0 + 600 * MS);
    host.book_update(s, BTC, &[(500_250, ONE)], &[(500_210, 0), (500_260, ONE)]);
    // 50 more: the bid wants 499804, 100 ticks off its 499704 (> 2 bps = 99.94); the ask wants
    // 500806, 100 ticks off its 500706 (< 2 bps = 100.14): only the bid is amended.
    host.set_now(T0 + 700 * MS);
    host.book_update(s, BTC, &[(500_300, ONE)], &[(500_260, 0), (500_310, ONE)]);
    assert_eq!(
        requests(&host),
        [
            new(&host, 1, quote(Side::Buy, 499_504)),
            new(&host, 2, quote(Side::Sell, 500_506)),
            amend(bid, 499_704),
            amend(ask, 500_706),
            amend(bid, 499_804),
        ]
    );
    let updates = order_updates(&host);
    assert!(updates.contains(&OrderUpdate::amended(bid, BTC, Price(499_804), Qty(Q))));
    assert_eq!(figure(s, "amends"), 3);
}

fn order_updates(host: &TestHost) -> Vec<OrderUpdate> {
    host.events()
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::Order(u) => Some(u),
            _ => None,
        })
        .collect()
}

/// The market drops onto the bid quote (499504): the paper model fills it in full.
fn drop_onto_the_bid(host: &mut TestHost, s: &mut dyn Strategy) {
    host.book_update(
        s,
        BTC,
        &[(500_000, 0), (499_990, 0), (499_500, ONE)],
        &[(500_010, 0), (500_020, 0), (499_504, ONE)],
    );
}

#[test]
fn a_paper_fill_moves_the_position_clears_the_side_and_it_is_quoted_again() {
    let (mut host, mut s) = build(&[]);
    let s = &mut *s;
    open_book(&mut host, s);
    let bid = host.order_id(1);
    host.set_now(T0 + 50 * MS);
    drop_onto_the_bid(&mut host, s);
    assert!(order_updates(&host).contains(&OrderUpdate::filled(
        bid,
        BTC,
        Price(499_504),
        Qty(Q),
        Qty(0)
    )));
    assert_eq!(
        host.log_lines(),
        ["fill BTC/USD side=1 price=49950.4 qty=0.00100000 position=0.00100000"]
    );
    // The next change quotes a new bid at the new mid (499502 ticks): 499002.498 rounded down.
    // The ask, 100 ms old, is not amended yet.
    host.set_now(T0 + 100 * MS);
    host.book_update(s, BTC, &[(499_500, 2 * ONE)], &[]);
    assert_eq!(
        host.intents(),
        [
            (bid, quote(Side::Buy, 499_504)),
            (host.order_id(2), quote(Side::Sell, 500_506)),
            (host.order_id(3), quote(Side::Buy, 499_002)),
        ]
    );
    assert_eq!(figure(s, "fills"), 1);
    assert_eq!(figure(s, "position"), Q);
    assert_eq!(figure(s, "max_abs_position"), Q);
}

#[test]
fn takes_every_nth_book_change_on_the_reducing_side_as_ioc_at_the_far_touch() {
    let (mut host, mut s) = build(&[("take_every", "3")]);
    let s = &mut *s;
    // Half the order size at the best ask.
    host.book_snapshot(
        s,
        BTC,
        &[(500_000, ONE), (499_990, ONE)],
        &[(500_010, Q / 2), (500_020, ONE)],
    );
    for k in 1..=9 {
        host.book_update(s, BTC, &[(499_990, ONE + k)], &[]);
        let takes = host.intents().len() - 2;
        assert_eq!(takes as i64, k / 3, "after book change {k}");
    }
    let intents: Vec<OrderIntent> = host.intents().into_iter().map(|(_, i)| i).collect();
    assert_eq!(
        intents[2..],
        [
            // Flat: a buy at the best ask. It meets Q/2 there; IOC cancels the rest.
            take(Side::Buy, 500_010, Q),
            // Long Q/2: a sell of Q/2 at the best bid, back to flat.
            take(Side::Sell, 500_000, Q / 2),
            // Flat again: the other side this time.
            take(Side::Sell, 500_000, Q),
        ]
    );
    let take1 = host.order_id(3);
    assert!(order_updates(&host).contains(&OrderUpdate::cancelled(take1, BTC, Qty(Q / 2))));
    assert_eq!(
        host.log_lines(),
        [
            "fill BTC/USD side=1 price=50001.0 qty=0.00050000 position=0.00050000",
            "fill BTC/USD side=-1 price=50000.0 qty=0.00050000 position=0.00000000",
            "fill BTC/USD side=-1 price=50000.0 qty=0.00100000 position=-0.00100000",
        ]
    );
    assert_eq!(
        (
            figure(s, "takes"),
            figure(s, "fills"),
            figure(s, "position")
        ),
        (3, 3, -Q)
    );
}

#[test]
fn a_rejected_take_pauses_takes_for_min_requote_ms() {
    let (mut host, mut s) = build(&[("take_every", "1")]);
    let s = &mut *s;
    host.set_paper_fills(false);
    open_book(&mut host, s);
    host.book_update(s, BTC, &[(499_990, 2 * ONE)], &[]);
    let first = host.order_id(3);
    assert_eq!(host.intents()[2], (first, take(Side::Buy, 500_010, Q)));
    let rate_limited = RejectReason::Refused(RiskReason::RateLimit);
    host.order_update(s, OrderUpdate::rejected(first, BTC, rate_limited));
    let refused_at = host.events().last().map_or(0, |e| e.time_ns);
    host.set_now(refused_at + 199 * MS);
    host.book_update(s, BTC, &[(499_990, 3 * ONE)], &[]);
    assert_eq!(host.intents().len(), 3);
    // Flat still; the alternation had moved on when the buy went out, so now a sell.
    host.set_now(refused_at + 200 * MS);
    host.book_update(s, BTC, &[(499_990, 4 * ONE)], &[]);
    assert_eq!(
        host.intents()[3..],
        [(host.order_id(4), take(Side::Sell, 500_000, Q))]
    );
    assert_eq!((figure(s, "takes"), figure(s, "rejects_risk")), (2, 1));
}

#[test]
fn max_position_blocks_the_growing_side_and_lets_only_reducing_takes_out() {
    let (mut host, mut s) = build(&[("max_position", "0.001"), ("take_every", "1")]);
    let s = &mut *s;
    open_book(&mut host, s);
    // Flat with both quotes out: a buy take (or a sell) would make the worst case 2 × Q.
    assert_eq!(host.intents().len(), 2);
    host.set_now(T0 + 50 * MS);
    drop_onto_the_bid(&mut host, s); // long Q: the limit
    assert_eq!(host.intents().len(), 2);
    // Long at the limit: no bid; the take sells Q at the best bid (499500) and is filled.
    host.set_now(T0 + 100 * MS);
    host.book_update(s, BTC, &[(499_500, 2 * ONE)], &[]);
    // Flat again: the bid comes back; a buy take would exceed the limit with it.
    host.set_now(T0 + 150 * MS);
    host.book_update(s, BTC, &[(499_500, 3 * ONE)], &[]);
    assert_eq!(
        host.intents()
            .into_iter()
            .map(|(_, i)| i)
            .collect::<Vec<_>>(),
        [
            quote(Side::Buy, 499_504),
            quote(Side::Sell, 500_506),
            take(Side::Sell, 499_500, Q),
            quote(Side::Buy, 499_002),
        ]
    );
    assert_eq!(
        (figure(s, "position"), figure(s, "max_abs_position")),
        (0, Q)
    );
}

#[test]
fn a_stale_book_or_a_dropped_link_cancels_all_and_stops_quoting_until_book_live() {
    let (mut host, mut s) = build(&[]);
    let s = &mut *s;
    open_book(&mut host, s);
    let (bid, ask) = (host.order_id(1), host.order_id(2));
    host.book_stale(s, BTC, StaleReason::ChecksumMismatch);
    assert_eq!(requests(&host)[2..], [CANCEL_ALL]);
    let updates = order_updates(&host);
    assert_eq!(
        updates[updates.len() - 2..],
        [
            OrderUpdate::cancelled(bid, BTC, Qty(Q)),
            OrderUpdate::cancelled(ask, BTC, Qty(Q)),
        ]
    );
    // Stale: nothing is quoted, whatever else happens.
    host.set_now(T0 + SEC);
    host.book_update(s, BTC, &[(500_100, ONE)], &[]); // dropped by the engine
    host.trade(s, BTC, Side::Buy, 500_010, ONE, T0 + SEC);
    host.connection(s, LinkState::Connected, SystemStatus::Online);
    assert_eq!(host.orders().len(), 3);
    // The fresh snapshot (not live yet) quotes nothing; its BookLive does.
    host.book_snapshot(s, BTC, &[(500_000, ONE)], &[(500_010, ONE)]);
    assert_eq!(
        requests(&host)[3..],
        [
            new(&host, 3, quote(Side::Buy, 499_504)),
            new(&host, 4, quote(Side::Sell, 500_506)),
        ]
    );
    // A dropped link: the book goes stale, then the link is reported down — one cancel-all.
    host.connection(s, LinkState::Disconnected, SystemStatus::Online);
    assert!(host.events().iter().any(|e| e.kind
        == EventKind::BookStale(BookStale {
            symbol: BTC,
            reason: StaleReason::Disconnected,
        })));
    assert_eq!(requests(&host)[5..], [CANCEL_ALL]);
    host.connection(s, LinkState::Connected, SystemStatus::Unknown);
    assert_eq!(host.orders().len(), 6);
    host.book_snapshot(s, BTC, &[(500_000, ONE)], &[(500_010, ONE)]);
    assert_eq!(host.orders().len(), 8);
    assert_eq!((figure(s, "cancels"), figure(s, "quotes_placed")), (2, 6));
}

const SEC: u64 = 1_000 * MS;

#[test]
fn a_post_only_rejected_as_would_take_is_quoted_again_on_the_next_book_change() {
    let (mut host, mut s) = build(&[]);
    let s = &mut *s;
    host.set_paper_fills(false);
    open_book(&mut host, s);
    let (bid, ask) = (host.order_id(1), host.order_id(2));
    host.order_update(s, OrderUpdate::rejected(bid, BTC, RejectReason::WouldTake));
    host.order_update(s, OrderUpdate::accepted(ask, BTC));
    assert_eq!(host.orders().len(), 2); // nothing in answer to an update
    host.book_update(s, BTC, &[(499_990, 2 * ONE)], &[]);
    assert_eq!(
        requests(&host)[2..],
        [new(&host, 3, quote(Side::Buy, 499_504))]
    );
    assert_eq!(
        (figure(s, "rejects"), figure(s, "rejects_would_take")),
        (1, 1)
    );
}

#[test]
fn a_side_refused_for_another_reason_waits_min_requote_ms() {
    let (mut host, mut s) = build(&[]);
    let s = &mut *s;
    host.set_paper_fills(false);
    open_book(&mut host, s);
    let (bid, ask) = (host.order_id(1), host.order_id(2));
    // The engine refuses both before anything leaves (say, the trading link is not up yet).
    let not_connected = RejectReason::Refused(RiskReason::NotConnected);
    host.order_update(s, OrderUpdate::rejected(bid, BTC, not_connected));
    host.order_update(s, OrderUpdate::rejected(ask, BTC, not_connected));
    let refused_at = host.events().last().map_or(0, |e| e.time_ns);
    host.set_now(refused_at + 199 * MS);
    host.book_update(s, BTC, &[(499_990, 2 * ONE)], &[]);
    assert_eq!(host.orders().len(), 2);
    host.set_now(refused_at + 200 * MS);
    host.book_update(s, BTC, &[(499_990, 3 * ONE)], &[]);
    assert_eq!(
        requests(&host)[2..],
        [
            new(&host, 3, quote(Side::Buy, 499_504)),
            new(&host, 4, quote(Side::Sell, 500_506)),
        ]
    );
    assert_eq!((figure(s, "rejects"), figure(s, "rejects_risk")), (2, 2));
}

#[test]
fn refused_amends_and_cancels_keep_the_order_and_are_retried_later() {
    let (mut host, mut s) = build(&[]);
    let s = &mut *s;
    host.set_paper_fills(false);
    open_book(&mut host, s);
    let (bid, ask) = (host.order_id(1), host.order_id(2));
    host.order_update(s, OrderUpdate::accepted(bid, BTC));
    host.order_update(s, OrderUpdate::accepted(ask, BTC));
    // Up 200 ticks, late enough: both amended; the venue refuses the bid's.
    host.set_now(T0 + 300 * MS);
    host.book_update(
        s,
        BTC,
        &[(500_200, ONE)],
        &[(500_010, 0), (500_020, 0), (500_210, ONE)],
    );
    let refused = |id, reason, cancel| OrderUpdate::change_rejected(id, BTC, reason, cancel);
    host.order_update(s, refused(bid, RejectReason::RateLimited, false));
    host.order_update(s, OrderUpdate::amended(ask, BTC, Price(500_706), Qty(Q)));
    // The bid still works at 499504: amended again, but only 200 ms after the refused amend.
    host.set_now(T0 + 400 * MS);
    host.book_update(s, BTC, &[(500_200, 2 * ONE)], &[]);
    host.set_now(T0 + 500 * MS);
    host.book_update(s, BTC, &[(500_200, 3 * ONE)], &[]);
    host.order_update(s, OrderUpdate::amended(bid, BTC, Price(499_704), Qty(Q)));
    // Stale: cancel-all; the bid's cancel is refused, the ask is cancelled.
    host.set_now(T0 + 600 * MS);
    host.book_stale(s, BTC, StaleReason::ChecksumMismatch);
    let stale_at = host
        .events()
        .iter()
        .rev()
        .find(|e| matches!(e.kind, EventKind::BookStale(_)))
        .map_or(0, |e| e.time_ns);
    let not_connected = RejectReason::Refused(RiskReason::NotConnected);
    host.order_update(s, refused(bid, not_connected, true));
    host.order_update(s, OrderUpdate::cancelled(ask, BTC, Qty(Q)));
    // Still stale: the bid is cancelled again on a later event, min_requote_ms after the first.
    host.trade(s, BTC, Side::Buy, 500_210, ONE, stale_at + 199 * MS);
    assert_eq!(host.orders().len(), 6);
    host.trade(s, BTC, Side::Buy, 500_210, ONE, stale_at + 200 * MS);
    host.order_update(s, OrderUpdate::cancelled(bid, BTC, Qty(Q)));
    assert_eq!(
        requests(&host),
        [
            new(&host, 1, quote(Side::Buy, 499_504)),
            new(&host, 2, quote(Side::Sell, 500_506)),
            amend(bid, 499_704),
            amend(ask, 500_706),
            amend(bid, 499_704),
            CANCEL_ALL,
            OrderRequest::Cancel {
                client_id: bid,
                symbol: BTC
            },
        ]
    );
    // Both sides are clear: the next live book quotes both.
    host.book_snapshot(s, BTC, &[(500_000, ONE)], &[(500_010, ONE)]);
    assert_eq!(host.intents().len(), 4);
    assert_eq!(
        (
            figure(s, "amends"),
            figure(s, "cancels"),
            figure(s, "change_rejects"),
            figure(s, "rejects"),
        ),
        (3, 2, 2, 0)
    );
}

#[test]
fn parameters_are_checked() {
    let symbols = vec![SymbolInfo::new(0, "BTC/USD", 1, 8, 10)];
    let error = |pairs: &[(&str, &str)]| {
        let params = Params::from_pairs(&symbols, pairs).unwrap();
        match crate::builtins().build("quoter", &params) {
            Ok(_) => panic!("{pairs:?} should fail"),
            Err(e) => e.to_string(),
        }
    };
    let base = [("symbol", "BTC/USD"), ("qty", "0.001")];
    assert!(error(&base[..1]).contains("`qty`"));
    assert!(error(&[base[0], ("qty", "0")]).contains("a quantity > 0"));
    assert!(error(&[base[0], base[1], ("max_position", "0.0005")]).contains("at least `qty`"));
    assert!(error(&[base[0], base[1], ("spread_bps", "0")]).contains("`spread_bps`"));
    assert!(error(&[base[0], ("qty", "0.000000001")]).contains("`qty`"));
}

#[test]
fn the_requote_delay_runs_on_the_latest_exchange_time_of_any_event() {
    // Two symbols: the quoter's own book lags the feed's latest time (ETH's), which is what
    // engine-made events such as a refusal carry.
    let symbols = vec![
        SymbolInfo::new(0, "BTC/USD", 1, 8, 10),
        SymbolInfo::new(1, "ETH/USD", 2, 8, 10),
    ];
    let pairs = [("symbol", "BTC/USD"), ("qty", "0.001"), ("take_every", "1")];
    let params = Params::from_pairs(&symbols, &pairs).unwrap();
    let mut strategy = crate::builtins().build("quoter", &params).unwrap();
    let s = &mut *strategy;
    let mut host = TestHost::new(symbols);
    host.set_now(T0);
    host.start(s);
    host.set_paper_fills(false);
    open_book(&mut host, s);
    host.book_update(s, BTC, &[(499_990, 2 * ONE)], &[]);
    let first = host.order_id(3);
    assert_eq!(host.intents()[2], (first, take(Side::Buy, 500_010, Q)));
    let eth = SymbolId(1);
    host.set_now(T0 + 50 * MS);
    host.book_snapshot(s, eth, &[(300_000, ONE)], &[(300_100, ONE)]);
    let rate_limited = RejectReason::Refused(RiskReason::RateLimit);
    host.order_update(s, OrderUpdate::rejected(first, BTC, rate_limited));
    let refused_at = host.events().last().map_or(0, |e| e.time_ns);
    // ETH's time moves 200 ms past the refusal; BTC's next change is stamped earlier.
    host.set_now(refused_at + 200 * MS);
    host.book_update(s, eth, &[(300_000, 2 * ONE)], &[]);
    host.set_now(T0 + 10 * MS);
    host.book_update(s, BTC, &[(499_990, 4 * ONE)], &[]);
    assert_eq!(
        host.intents()[3..],
        [(host.order_id(4), take(Side::Sell, 500_000, Q))]
    );
}
