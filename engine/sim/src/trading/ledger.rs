//! The account's money: balances per asset, what a fill costs and charges, and the funds open
//! orders hold.
//!
//! Owns the balances (mantissas at each asset's precision, [`asset_precision`]). Rules, chosen
//! where Kraken's docs are silent and documented here once: a fill's `cost` is price × qty
//! rounded half up to the quote asset's precision; its fee is cost × fee rate rounded **up** to
//! that precision (Kraken's example: 0.26 % of 132.9995 = 0.34579870 → `0.3458`), always in the
//! quote asset; a buy pays cost + fee in the quote asset and receives the quantity, a sell
//! delivers the quantity and receives cost − fee. Funds held by an open order: a buy holds
//! remaining × limit price plus the fee at the higher of the two rates (rounded up), a sell
//! holds its remaining quantity. Invariants: every balance change is one [`LedgerEntry`];
//! balances of assets never configured start at zero. It never matches orders.

use std::collections::BTreeMap;

use super::decimal::{rescale, Round};
use super::orders::{LedgerEntry, Order, OrderType, Side};
use crate::pairs::{asset_precision, SimPair};

/// Basis points per unit (fees are configured in basis points).
const BPS_DECIMALS: u8 = 4;

/// Exact price × qty, at `price_precision + qty_precision` decimals.
pub fn notional(price: i64, qty: i64) -> i128 {
    i128::from(price) * i128::from(qty)
}

fn notional_scale(pair: &SimPair) -> u8 {
    pair.price_precision + pair.qty_precision
}

/// A fill's cost at the quote asset's precision (halves rounded up).
pub fn cost(pair: &SimPair, price: i64, qty: i64) -> i128 {
    rescale(
        notional(price, qty),
        notional_scale(pair),
        asset_precision(pair.quote),
        Round::HalfUp,
    )
}

/// The fee on a fill at `bps`, at the quote asset's precision (rounded up).
pub fn fee(pair: &SimPair, price: i64, qty: i64, bps: u32) -> i128 {
    rescale(
        notional(price, qty) * i128::from(bps),
        notional_scale(pair) + BPS_DECIMALS,
        asset_precision(pair.quote),
        Round::Up,
    )
}

/// A quantity mantissa at the base asset's precision.
pub fn base_amount(pair: &SimPair, qty: i64) -> i128 {
    rescale(
        i128::from(qty),
        pair.qty_precision,
        asset_precision(pair.base),
        Round::Up,
    )
}

/// One asset's balance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Balance {
    pub asset: String,
    /// Mantissa at `scale` decimals.
    pub amount: i128,
    /// The asset's precision.
    pub scale: u8,
}

impl Balance {
    /// The amount as the venue writes it (`1000000.0000`).
    pub fn text(&self) -> String {
        super::decimal::amount_text(self.amount, self.scale)
    }
}

/// The account's balances; see the module docs.
#[derive(Debug, Clone)]
pub struct Ledger {
    balances: BTreeMap<String, i128>,
}

impl Ledger {
    /// Starting balances: (asset, mantissa at the asset's precision).
    pub fn new(balances: &[(String, i128)]) -> Ledger {
        Ledger {
            balances: balances.iter().cloned().collect(),
        }
    }

    pub fn balance(&self, asset: &str) -> i128 {
        self.balances.get(asset).copied().unwrap_or(0)
    }

    /// Every asset with its balance and precision, by asset code.
    pub fn all(&self) -> Vec<Balance> {
        self.balances
            .iter()
            .map(|(a, &v)| Balance {
                asset: a.clone(),
                amount: v,
                scale: asset_precision(a),
            })
            .collect()
    }

    /// Books a fill: two entries (base then quote), `ledger_ids` naming them.
    #[allow(clippy::too_many_arguments)]
    pub fn book_fill(
        &mut self,
        pair: &SimPair,
        side: Side,
        qty: i64,
        cost: i128,
        fee: i128,
        ref_id: &str,
        ledger_ids: [String; 2],
        timestamp_us: u64,
    ) -> [LedgerEntry; 2] {
        let base = base_amount(pair, qty);
        let (base_change, quote_amount) = match side {
            Side::Buy => (base, -cost),
            Side::Sell => (-base, cost),
        };
        let [base_id, quote_id] = ledger_ids;
        let base_balance = self.add(pair.base, base_change);
        let quote_balance = self.add(pair.quote, quote_amount - fee);
        [
            LedgerEntry {
                ledger_id: base_id,
                ref_id: ref_id.to_owned(),
                asset: pair.base.to_owned(),
                amount: base_change,
                fee: 0,
                balance: base_balance,
                scale: asset_precision(pair.base),
                timestamp_us,
            },
            LedgerEntry {
                ledger_id: quote_id,
                ref_id: ref_id.to_owned(),
                asset: pair.quote.to_owned(),
                amount: quote_amount,
                fee,
                balance: quote_balance,
                scale: asset_precision(pair.quote),
                timestamp_us,
            },
        ]
    }

    fn add(&mut self, asset: &str, change: i128) -> i128 {
        let slot = self.balances.entry(asset.to_owned()).or_insert(0);
        *slot = slot.saturating_add(change);
        *slot
    }
}

/// What an order of `qty` at `price` on `side` holds: (asset, amount at its precision).
/// `price` is the limit (or, for a market buy, the estimated average of the sweep).
pub fn hold_for(
    pair: &'static SimPair,
    side: Side,
    qty: i64,
    price: i64,
    max_fee_bps: u32,
) -> (&'static str, i128) {
    match side {
        Side::Buy => {
            let c = rescale(
                notional(price, qty),
                notional_scale(pair),
                asset_precision(pair.quote),
                Round::Up,
            );
            (pair.quote, c + fee(pair, price, qty, max_fee_bps))
        }
        Side::Sell => (pair.base, base_amount(pair, qty)),
    }
}

/// Funds the open orders hold, per asset.
pub fn held(orders: &[Order], max_fee_bps: u32) -> BTreeMap<&'static str, i128> {
    let mut out: BTreeMap<&'static str, i128> = BTreeMap::new();
    for o in orders.iter().filter(|o| o.is_open()) {
        let price = match (o.order_type, o.limit_price) {
            (OrderType::Limit, Some(p)) => p,
            _ => continue,
        };
        let (asset, amount) = hold_for(o.pair, o.side, o.remaining(), price, max_fee_bps);
        *out.entry(asset).or_insert(0) += amount;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pairs::find_pair;

    #[test]
    fn krakens_documented_fill_books_as_documented() {
        // Sell 0.005 BTC at 26599.9 with a 0.26 % fee: cost 132.9995, fee 0.3458.
        let pair = find_pair("BTC/USD").unwrap();
        let (price, qty) = (265_999, 500_000);
        assert_eq!(cost(pair, price, qty), 1_329_995);
        assert_eq!(fee(pair, price, qty, 26), 3_458);
        // 1 BTC (10 decimals), no USD.
        let mut l = Ledger::new(&[("BTC".into(), 10_000_000_000), ("USD".into(), 0)]);
        let ids = [String::from("L1"), String::from("L2")];
        let [b, q] = l.book_fill(pair, Side::Sell, qty, 1_329_995, 3_458, "T1", ids, 0);
        assert_eq!(
            (b.amount, b.balance, b.scale),
            (-50_000_000, 9_950_000_000, 10)
        );
        assert_eq!((q.amount, q.fee, q.balance), (1_329_995, 3_458, 1_326_537));
        assert_eq!(l.balance("USD"), 1_326_537);
        assert_eq!(l.balance("ETH"), 0);
        // A buy holds cost plus the fee at the higher rate, rounded up.
        assert_eq!(
            hold_for(pair, Side::Buy, qty, price, 40).1,
            1_329_995 + 5_320
        );
        assert_eq!(
            hold_for(pair, Side::Sell, qty, price, 40),
            ("BTC", 50_000_000)
        );
    }
}
