//! Unit tests of the paper venue: takers, IOC and market rests, post-only, amends and their
//! queue place, crossing book states, GTD expiry.

use super::*;
use kspin_api::OrderStatus;
use kspin_core::book::ApplyMode;

const S: SymbolId = SymbolId(0);

fn books() -> Vec<(OrderBook, bool)> {
    let mut b = OrderBook::new(10, 1, 0);
    b.apply_exact(
        ApplyMode::Snapshot,
        &[(Price(1000), Qty(5)), (Price(990), Qty(7))],
        &[(Price(1010), Qty(3)), (Price(1020), Qty(4))],
    );
    vec![(b, true)]
}

fn venue(queue: QueueModel) -> PaperVenue {
    PaperVenue::new(
        VenueConfig {
            queue,
            maker_fee_bps: 25,
            taker_fee_bps: 40,
        },
        &[SymbolInfo::new(0, "BTC/USD", 1, 0, 10)],
    )
}

fn new(id: u64, intent: OrderIntent) -> OrderRequest {
    OrderRequest::New {
        client_id: ClientOrderId(id),
        intent,
    }
}

fn run(v: &mut PaperVenue, books: &[(OrderBook, bool)], r: OrderRequest) -> Vec<OrderStatus> {
    let mut out = Vec::new();
    v.handle(0, &r, books, 0, &mut out);
    out.iter().map(|a| a.update.status).collect()
}

#[test]
fn takers_walk_and_pay_the_taker_fee_ioc_and_market_rests_are_cancelled() {
    let books = books();
    let mut v = venue(QueueModel::Back);
    let mut out = Vec::new();
    let ioc = OrderIntent::limit(S, Side::Buy, Price(1010), Qty(5)).with_tif(TimeInForce::Ioc);
    v.handle(0, &new(1, ioc), &books[..], 0, &mut out);
    let id = ClientOrderId(1);
    // 3 at 101.0 (cost 303.0, fee 0.4 % = 1.212, rounded up to the cost's one decimal:
    // 1.3), the rest cancelled.
    assert_eq!(
        out.iter().map(|a| a.update).collect::<Vec<_>>(),
        [
            OrderUpdate::accepted(id, S),
            OrderUpdate::filled(id, S, Price(1010), Qty(3), Qty(2)).with_fee(Decimal {
                mantissa: 13,
                scale: 1
            }),
            OrderUpdate::cancelled(id, S, Qty(2)),
        ]
    );
    assert_eq!(v.resting(), 0);
    let market = OrderIntent::market(S, Side::Sell, Qty(20));
    assert_eq!(
        run(&mut v, &books, new(2, market)),
        [
            OrderStatus::Accepted,
            OrderStatus::Filled,
            OrderStatus::Filled,
            OrderStatus::Cancelled
        ]
    );
    let post = OrderIntent {
        order_type: OrderType::PostOnly,
        ..OrderIntent::limit(S, Side::Buy, Price(1010), Qty(1))
    };
    assert_eq!(
        run(&mut v, &books, new(3, post)),
        [OrderStatus::Rejected(RejectReason::WouldTake)]
    );
    let mut stale = books.clone();
    stale[0].1 = false;
    assert_eq!(
        run(
            &mut v,
            &stale,
            new(4, OrderIntent::market(S, Side::Buy, Qty(1)))
        ),
        [OrderStatus::Rejected(RejectReason::BookStale)]
    );
}

#[test]
fn amends_keep_their_place_only_when_shrinking_at_the_same_price() {
    let books = books();
    let mut v = venue(QueueModel::Back);
    let id = ClientOrderId(7);
    let rest = OrderIntent::limit(S, Side::Buy, Price(1000), Qty(4));
    assert_eq!(run(&mut v, &books, new(7, rest)), [OrderStatus::Accepted]);
    let amend = |price, qty| OrderRequest::Amend {
        client_id: id,
        symbol: S,
        price: Price(price),
        qty: Qty(qty),
    };
    // 5 ahead. A trade of 4 at 100.0: 1 ahead left.
    let mut out = Vec::new();
    let trade = |qty| TapeTrade {
        symbol: 0,
        taker: Side::Sell,
        price: Price(1000),
        qty: Qty(qty),
    };
    v.on_trade(&trade(4), &mut out);
    assert!(out.is_empty());
    // Shrinking keeps the place: a trade of 2 fills 1.
    assert_eq!(run(&mut v, &books, amend(0, 3)), [OrderStatus::Amended]);
    v.on_trade(&trade(2), &mut out);
    assert_eq!(
        out.iter()
            .map(|a| (a.update.status, a.update.fill_qty.0))
            .collect::<Vec<_>>(),
        [(OrderStatus::Filled, 1)]
    );
    // Growing loses it: back behind the 5 shown.
    assert_eq!(run(&mut v, &books, amend(0, 6)), [OrderStatus::Amended]);
    out.clear();
    v.on_trade(&trade(5), &mut out);
    assert!(out.is_empty());
    // A price that crosses takes at once (3 at 101.0), the rest rests at 101.0.
    assert_eq!(
        run(&mut v, &books, amend(1010, 6)),
        [OrderStatus::Amended, OrderStatus::Filled]
    );
    assert_eq!(v.resting(), 1);
    assert_eq!(
        run(&mut v, &books, OrderRequest::CancelAll { symbol: None }),
        [OrderStatus::Cancelled]
    );
    assert_eq!(
        run(
            &mut v,
            &books,
            OrderRequest::Cancel {
                client_id: id,
                symbol: S
            }
        ),
        [OrderStatus::CancelRejected(RejectReason::UnknownOrder)]
    );
}

#[test]
fn a_book_that_crosses_fills_and_gtd_orders_expire() {
    let mut books = books();
    let mut v = venue(QueueModel::Cross);
    let gtd = OrderIntent::limit(S, Side::Sell, Price(1030), Qty(2))
        .with_tif(TimeInForce::Gtd { expire_ns: 50 });
    assert_eq!(run(&mut v, &books, new(1, gtd)), [OrderStatus::Accepted]);
    let rest = OrderIntent::limit(S, Side::Buy, Price(1000), Qty(9));
    assert_eq!(run(&mut v, &books, new(2, rest)), [OrderStatus::Accepted]);
    assert_eq!(v.next_expiry(), 50);
    // The asks come down to 100.0 (2 there): the buy fills 2 at its price, as a maker.
    books[0].0.apply_exact(
        ApplyMode::Update,
        &[(Price(1000), Qty(0))],
        &[(Price(1000), Qty(2))],
    );
    let mut out = Vec::new();
    v.on_book(0, &books[..], &mut out);
    assert_eq!(out.len(), 1);
    let fill = out[0].update;
    assert_eq!(
        (fill.fill_price, fill.fill_qty, fill.remaining),
        (Price(1000), Qty(2), Qty(7))
    );
    // 200.0 × 0.25 % = 0.5.
    assert_eq!(
        fill.fee,
        Decimal {
            mantissa: 5,
            scale: 1
        }
    );
    out.clear();
    v.expire(49, &mut out);
    assert!(out.is_empty());
    v.expire(50, &mut out);
    assert_eq!(
        out[0].update,
        OrderUpdate::cancelled(ClientOrderId(1), S, Qty(2))
    );
    assert_eq!(v.next_expiry(), u64::MAX);
}
