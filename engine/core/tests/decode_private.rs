//! The authenticated connection's messages decode exactly: Kraken's documented examples of
//! execution reports (pending_new, new, a fill with fees), balances (snapshot with wallets,
//! ledger update), and order-entry responses (add_order, amend_order, cancel_all, batch_add,
//! cancel_all_orders_after, an error). Both decoders agree, and nothing allocates after warm-up
//! (checked in `zero_alloc_decode.rs` with the same frames).

use kspin_api::Decimal;
use kspin_core::kraken::{
    Decoder, DecoderLimits, ExecType, Liquidity, Message, OrderMethod, OrderState, Side, UpdateKind,
};

fn dec(mantissa: i64, scale: u8) -> Decimal {
    Decimal { mantissa, scale }
}

fn decode<R>(frame: &str, check: impl Fn(Message<'_>) -> R) -> R {
    let mut fast = Decoder::new(DecoderLimits::default());
    let mut general = Decoder::sonic_only(DecoderLimits::default());
    let a = fast.decode(frame.as_bytes()).map(|m| format!("{m:?}"));
    let b = general.decode(frame.as_bytes()).map(|m| format!("{m:?}"));
    assert_eq!(a, b, "decoders disagree on {frame}");
    check(fast.decode(frame.as_bytes()).expect(frame))
}

pub const PENDING: &str = r#"{"channel":"executions","type":"update","data":[{"order_id":"OK4GJX-KSTLS-7DZZO5","order_userref":3,"symbol":"BTC/USD","order_qty":0.005,"cum_cost":0.0,"time_in_force":"GTC","exec_type":"pending_new","side":"sell","order_type":"limit","limit_price_type":"static","limit_price":26500.0,"stop_price":0.0,"order_status":"pending_new","fee_usd_equiv":0.0,"fee_ccy_pref":"fciq","timestamp":"2023-09-22T10:33:05.709950Z"}],"sequence":8}"#;
pub const LIVE: &str = r#"{"channel":"executions","type":"update","data":[{"timestamp":"2023-09-22T10:33:05.709982Z","order_status":"new","exec_type":"new","order_userref":3,"order_id":"OK4GJX-KSTLS-7DZZO5"}],"sequence":9}"#;
pub const FILL: &str = r#"{"channel":"executions","type":"update","data":[{"order_id":"OK4GJX-KSTLS-7DZZO5","order_userref":3,"exec_id":"TGBB7L-HT5LX-J3BZ4A","exec_type":"trade","trade_id":62887576,"symbol":"BTC/USD","side":"sell","last_qty":0.005,"last_price":26599.9,"liquidity_ind":"t","cost":132.9995,"order_type":"limit","timestamp":"2023-09-22T10:33:05.709993Z","order_status":"partially_filled","cum_qty":0.005,"cum_cost":132.9995,"avg_price":26599.9,"fee_usd_equiv":0.3458,"fees":[{"asset":"USD","qty":0.3458}]}],"sequence":10}"#;
pub const BALANCES: &str = r#"{"channel":"balances","type":"snapshot","data":[{"asset":"BTC","asset_class":"currency","balance":1.2,"wallets":[{"type":"spot","id":"main","balance":1.2}]},{"asset":"MATIC","asset_class":"currency","balance":500,"wallets":[{"type":"spot","id":"main","balance":300},{"type":"earn","id":"flex","balance":200}]}],"sequence":1}"#;
pub const ADD_OK: &str = r#"{"method":"add_order","req_id":123456789,"result":{"order_id":"AA5JGQ-SBMRC-SCJ7J7","order_userref":100054},"success":true,"time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}"#;
pub const BATCH_OK: &str = r#"{"method":"batch_add","req_id":1234567890,"result":[{"order_id":"ORDERX-IDXXX-XXXXX1","order_userref":1},{"order_id":"ORDERX-IDXXX-XXXXX2","order_userref":2}],"success":true,"time_in":"2022-06-13T08:09:10.123456Z","time_out":"2022-06-13T08:09:10.7890123"}"#;

#[test]
fn execution_reports_follow_the_documented_examples() {
    decode(PENDING, |m| {
        let Message::Executions(e) = m else {
            panic!("{m:?}")
        };
        assert_eq!(
            (e.kind, e.sequence, e.len()),
            (UpdateKind::Update, Some(8), 1)
        );
        let r = e.get(0).unwrap();
        assert_eq!(r.exec_type, ExecType::PendingNew);
        assert_eq!(r.order_status, Some(OrderState::PendingNew));
        assert_eq!(r.order_id, Some("OK4GJX-KSTLS-7DZZO5"));
        assert_eq!(r.order_userref, Some(3));
        assert_eq!(r.symbol, Some("BTC/USD"));
        assert_eq!(r.side, Some(Side::Sell));
        assert_eq!(r.order_type, Some("limit"));
        assert_eq!(r.time_in_force, Some("GTC"));
        assert_eq!(r.order_qty, Some(dec(5, 3)));
        assert_eq!(r.limit_price, Some(dec(265_000, 1)));
        assert_eq!(r.fee, None);
    });
    decode(LIVE, |m| {
        let Message::Executions(e) = m else {
            panic!("{m:?}")
        };
        let r = e.get(0).unwrap();
        assert_eq!(
            (r.exec_type, r.order_status, r.symbol),
            (ExecType::New, Some(OrderState::New), None)
        );
    });
    decode(FILL, |m| {
        let Message::Executions(e) = m else {
            panic!("{m:?}")
        };
        let r = e.get(0).unwrap();
        assert_eq!(r.exec_type, ExecType::Trade);
        assert_eq!(r.order_status, Some(OrderState::PartiallyFilled));
        assert_eq!(
            (r.last_qty, r.last_price),
            (Some(dec(5, 3)), Some(dec(265_999, 1)))
        );
        assert_eq!(r.cost, Some(dec(1_329_995, 4)));
        assert_eq!((r.fee, r.fee_asset), (Some(dec(3458, 4)), Some("USD")));
        assert_eq!(r.liquidity, Some(Liquidity::Taker));
        assert_eq!(
            (r.exec_id, r.trade_id),
            (Some("TGBB7L-HT5LX-J3BZ4A"), Some(62_887_576))
        );
        assert_eq!(r.cum_qty, Some(dec(5, 3)));
    });
}

#[test]
fn several_fees_are_summed_exactly() {
    let frame = r#"{"channel":"executions","type":"update","data":[{"order_id":"O1","exec_type":"trade","fees":[{"asset":"USD","qty":0.1},{"asset":"USD","qty":0.025}]}]}"#;
    decode(frame, |m| {
        let Message::Executions(e) = m else {
            panic!("{m:?}")
        };
        assert_eq!(e.get(0).unwrap().fee, Some(dec(125, 3)));
    });
}

#[test]
fn balances_snapshot_and_update() {
    decode(BALANCES, |m| {
        let Message::Balances(b) = m else {
            panic!("{m:?}")
        };
        assert_eq!(b.kind, UpdateKind::Snapshot);
        let v: Vec<_> = b.iter().map(|x| (x.asset, x.balance)).collect();
        assert_eq!(v, [("BTC", Some(dec(12, 1))), ("MATIC", Some(dec(500, 0)))]);
    });
    let update = r#"{"channel":"balances","type":"update","data":[{"ledger_id":"DATKX6-PEHL1-HZKND8","ref_id":"LKAKN2-N0N4S-LGZ6S7","timestamp":"2023-08-31T08:05:21.031262Z","type":"trade","asset":"USD","asset_class":"currency","category":"trade","wallet_type":"spot","wallet_id":"main","amount":-19.9743,"fee":0.0499,"balance":118.0673}],"sequence":4}"#;
    decode(update, |m| {
        let Message::Balances(b) = m else {
            panic!("{m:?}")
        };
        let x = b.get(0).unwrap();
        assert_eq!(x.asset, "USD");
        assert_eq!(
            (x.amount, x.fee),
            (Some(dec(-199_743, 4)), Some(dec(499, 4)))
        );
        assert_eq!(
            (x.balance, x.kind),
            (Some(dec(1_180_673, 4)), Some("trade"))
        );
    });
}

#[test]
fn order_entry_responses_carry_their_ids_and_req_id() {
    decode(ADD_OK, |m| {
        let Message::OrderResponse(r) = m else {
            panic!("{m:?}")
        };
        assert_eq!(
            (r.method, r.req_id, r.success),
            (OrderMethod::AddOrder, Some(123_456_789), true)
        );
        let o = r.order().unwrap();
        assert_eq!(
            (o.order_id, o.order_userref),
            (Some("AA5JGQ-SBMRC-SCJ7J7"), Some(100_054))
        );
    });
    decode(BATCH_OK, |m| {
        let Message::OrderResponse(r) = m else {
            panic!("{m:?}")
        };
        assert_eq!(r.method, OrderMethod::BatchAdd);
        let ids: Vec<_> = r.orders().map(|o| (o.order_id, o.order_userref)).collect();
        assert_eq!(
            ids,
            [
                (Some("ORDERX-IDXXX-XXXXX1"), Some(1)),
                (Some("ORDERX-IDXXX-XXXXX2"), Some(2))
            ]
        );
        assert_eq!(r.time_out, Some("2022-06-13T08:09:10.7890123"));
    });
    let amend = r#"{"method":"amend_order","result":{"amend_id":"TTW6PD-RC36L-ZZSWNU","cl_ord_id":"2c6be801-1f53-4f79-a0bb-4ea1c95dfae9"},"success":true,"time_in":"2024-07-26T13:39:04.922699Z","time_out":"2024-07-26T13:39:04.924912Z"}"#;
    decode(amend, |m| {
        let Message::OrderResponse(r) = m else {
            panic!("{m:?}")
        };
        assert_eq!(
            (r.method, r.amend_id),
            (OrderMethod::AmendOrder, Some("TTW6PD-RC36L-ZZSWNU"))
        );
        assert_eq!(
            r.order().unwrap().cl_ord_id,
            Some("2c6be801-1f53-4f79-a0bb-4ea1c95dfae9")
        );
    });
    let cancel_all = r#"{"method":"cancel_all","req_id":1234567890,"result":{"count":1},"success":true,"time_in":"2023-09-26T13:09:48.463201Z","time_out":"2023-09-26T13:09:48.471419Z"}"#;
    decode(cancel_all, |m| {
        let Message::OrderResponse(r) = m else {
            panic!("{m:?}")
        };
        assert_eq!(
            (r.method, r.count, r.order()),
            (OrderMethod::CancelAll, Some(1), None)
        );
    });
    let after = r#"{"method":"cancel_all_orders_after","req_id":1234567890,"result":{"currentTime":"2023-09-21T15:49:29Z","triggerTime":"2023-09-21T15:51:09Z"},"success":true,"time_in":"2023-09-21T15:49:28.627900Z","time_out":"2023-09-21T15:49:28.649057Z"}"#;
    decode(after, |m| {
        let Message::OrderResponse(r) = m else {
            panic!("{m:?}")
        };
        assert_eq!(r.trigger_time, Some("2023-09-21T15:51:09Z"));
    });
    let refused = r#"{"error":"EOrder:Rate limit exceeded","method":"add_order","req_id":7,"success":false,"time_in":"2023-09-21T14:15:07.197274Z","time_out":"2023-09-21T14:15:07.205301Z"}"#;
    decode(refused, |m| {
        let Message::OrderResponse(r) = m else {
            panic!("{m:?}")
        };
        assert_eq!(
            (r.success, r.error, r.req_id),
            (false, Some("EOrder:Rate limit exceeded"), Some(7))
        );
    });
}

#[test]
fn a_request_echoed_in_a_recording_is_still_a_request() {
    let req = r#"{"method":"add_order","params":{"order_type":"limit","side":"buy","limit_price":26500.4,"order_qty":1.2,"symbol":"BTC/USD","token":"x"},"req_id":1}"#;
    decode(req, |m| assert!(matches!(m, Message::Request(_)), "{m:?}"));
}
