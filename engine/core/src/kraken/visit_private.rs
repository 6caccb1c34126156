//! The serde visitors of the authenticated connection's messages: execution reports, balances,
//! and the `result` of order-entry responses, written into the arena like every other message
//! (see `visit.rs` for how that stays allocation-free).
//!
//! Owns [`ExecutionSeed`], [`BalanceSeed`] and [`parse_order_result`]. Invariants: unknown
//! fields are skipped, field order is never relied on, every number is exact text converted once,
//! and a report with neither `order_id` nor `cl_ord_id` is still kept (Kraken's `new` event
//! carries only `order_id`): the gateway decides what it can use.

use core::fmt;

use kspin_api::Decimal;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};

use super::arena::{BalanceSlot, ExecutionSlot, OrderRefSlot};
use super::error::DecodeError;
use super::message::Side;
use super::visit::{next_key, skip, Ctx};

/// One element of an `executions` data array.
pub(crate) struct ExecutionSeed<'c, 's, 'de> {
    pub(crate) ctx: &'c mut Ctx<'s, 'de>,
}

impl<'de> DeserializeSeed<'de> for ExecutionSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.ctx.field = "data";
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for ExecutionSeed<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an execution report")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let mut slot = ExecutionSlot::default();
        let mut exec_type = None;
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("exec_type") => exec_type = Some(ctx.str_field(&mut map, "exec_type")?),
                Some("order_status") => {
                    slot.order_status = Some(ctx.str_field(&mut map, "order_status")?)
                }
                Some("order_id") => slot.order_id = Some(ctx.str_field(&mut map, "order_id")?),
                Some("cl_ord_id") => slot.cl_ord_id = Some(ctx.str_field(&mut map, "cl_ord_id")?),
                Some("order_userref") => {
                    slot.order_userref = Some(ctx.u64_field(&mut map, "order_userref")?)
                }
                Some("exec_id") => slot.exec_id = Some(ctx.str_field(&mut map, "exec_id")?),
                Some("trade_id") => slot.trade_id = Some(ctx.u64_field(&mut map, "trade_id")?),
                Some("symbol") => slot.symbol = Some(ctx.str_field(&mut map, "symbol")?),
                Some("side") => {
                    let span = ctx.str_field(&mut map, "side")?;
                    slot.side = Some(match ctx.text(span) {
                        "buy" => Side::Buy,
                        "sell" => Side::Sell,
                        _ => return Err(ctx.fail(DecodeError::WrongType("side"))),
                    });
                }
                Some("order_type") => {
                    slot.order_type = Some(ctx.str_field(&mut map, "order_type")?)
                }
                Some("time_in_force") => {
                    slot.time_in_force = Some(ctx.str_field(&mut map, "time_in_force")?)
                }
                Some("order_qty") => slot.order_qty = Some(ctx.dec_field(&mut map, "order_qty")?),
                Some("limit_price") => {
                    slot.limit_price = Some(ctx.dec_field(&mut map, "limit_price")?)
                }
                Some("cum_qty") => slot.cum_qty = Some(ctx.dec_field(&mut map, "cum_qty")?),
                Some("cum_cost") => slot.cum_cost = Some(ctx.dec_field(&mut map, "cum_cost")?),
                Some("avg_price") => slot.avg_price = Some(ctx.dec_field(&mut map, "avg_price")?),
                Some("last_qty") => slot.last_qty = Some(ctx.dec_field(&mut map, "last_qty")?),
                Some("last_price") => {
                    slot.last_price = Some(ctx.dec_field(&mut map, "last_price")?)
                }
                Some("cost") => slot.cost = Some(ctx.dec_field(&mut map, "cost")?),
                Some("fees") => {
                    ctx.field = "fees";
                    let (fee, asset) = map.next_value_seed(FeesSeed { ctx: &mut *ctx })?;
                    slot.fee = fee;
                    slot.fee_asset = asset;
                }
                Some("liquidity_ind") => {
                    slot.liquidity = Some(ctx.str_field(&mut map, "liquidity_ind")?)
                }
                Some("post_only") => slot.post_only = Some(ctx.bool_field(&mut map, "post_only")?),
                Some("amended") => slot.amended = Some(ctx.bool_field(&mut map, "amended")?),
                Some("reason") => slot.reason = Some(ctx.str_field(&mut map, "reason")?),
                Some("timestamp") => slot.timestamp = Some(ctx.str_field(&mut map, "timestamp")?),
                _ => skip(&mut map)?,
            }
        }
        slot.exec_type = ctx.required(exec_type, "exec_type")?;
        let r = ctx.arena.push_execution(slot);
        ctx.check(r)
    }
}

/// The `fees` array of a fill: the amounts summed, the first asset kept.
struct FeesSeed<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
}

type FeesValue = (Option<Decimal>, Option<super::arena::Span>);

impl<'de> DeserializeSeed<'de> for FeesSeed<'_, '_, 'de> {
    type Value = FeesValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<FeesValue, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FeesSeed<'_, '_, 'de> {
    type Value = FeesValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of fees")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<FeesValue, A::Error> {
        let ctx = self.ctx;
        let mut total: Option<Decimal> = None;
        let mut asset = None;
        while let Some((qty, a)) = seq.next_element_seed(FeeSeed { ctx: &mut *ctx })? {
            if asset.is_none() {
                asset = a;
            }
            if let Some(q) = qty {
                let sum = match total {
                    None => Ok(q),
                    Some(t) => add_decimals(t, q),
                };
                total = Some(ctx.check(sum)?);
            }
        }
        Ok((total, asset))
    }
}

/// `a + b` exactly, at the larger of their scales.
fn add_decimals(a: Decimal, b: Decimal) -> Result<Decimal, DecodeError> {
    let overflow = DecodeError::BadNumber {
        field: "fees",
        error: kspin_api::FixedError::Overflow,
    };
    let scale = a.scale.max(b.scale);
    let x = a.to_scale(scale).map_err(|_| overflow)?;
    let y = b.to_scale(scale).map_err(|_| overflow)?;
    Ok(Decimal {
        mantissa: x.checked_add(y).ok_or(overflow)?,
        scale,
    })
}

struct FeeSeed<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
}

impl<'de> DeserializeSeed<'de> for FeeSeed<'_, '_, 'de> {
    type Value = FeesValue;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<FeesValue, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for FeeSeed<'_, '_, 'de> {
    type Value = FeesValue;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a fee")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<FeesValue, A::Error> {
        let ctx = self.ctx;
        let (mut qty, mut asset) = (None, None);
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("qty") => qty = Some(ctx.dec_field(&mut map, "fees")?),
                Some("asset") => asset = Some(ctx.str_field(&mut map, "fees")?),
                _ => skip(&mut map)?,
            }
        }
        Ok((qty, asset))
    }
}

/// One element of a `balances` data array.
pub(crate) struct BalanceSeed<'c, 's, 'de> {
    pub(crate) ctx: &'c mut Ctx<'s, 'de>,
}

impl<'de> DeserializeSeed<'de> for BalanceSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        self.ctx.field = "data";
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for BalanceSeed<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a balance")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let ctx = self.ctx;
        let mut slot = BalanceSlot::default();
        let mut asset = None;
        while let Some(key) = next_key(&mut map)? {
            match key {
                Some("asset") => asset = Some(ctx.str_field(&mut map, "asset")?),
                Some("balance") => slot.balance = Some(ctx.dec_field(&mut map, "balance")?),
                Some("amount") => slot.amount = Some(ctx.dec_field(&mut map, "amount")?),
                Some("fee") => slot.fee = Some(ctx.dec_field(&mut map, "fee")?),
                Some("type") => slot.kind = Some(ctx.str_field(&mut map, "type")?),
                Some("timestamp") => slot.timestamp = Some(ctx.str_field(&mut map, "timestamp")?),
                _ => skip(&mut map)?,
            }
        }
        slot.asset = ctx.required(asset, "asset")?;
        let r = ctx.arena.push_balance(slot);
        ctx.check(r)
    }
}

/// The scalar members of an order-entry `result` object.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct OrderResult {
    pub(crate) amend_id: Option<super::arena::Span>,
    pub(crate) count: Option<u64>,
    pub(crate) trigger_time: Option<super::arena::Span>,
}

/// An order-entry `result`: an object (its order, if any, pushed as an order reference) or an
/// array of order objects (`batch_add`).
struct ResultSeed<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
}

impl<'de> DeserializeSeed<'de> for ResultSeed<'_, '_, 'de> {
    type Value = OrderResult;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<OrderResult, D::Error> {
        self.ctx.field = "result";
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ResultSeed<'_, '_, 'de> {
    type Value = OrderResult;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an order result object or array")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<OrderResult, A::Error> {
        order_object(self.ctx, map)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<OrderResult, A::Error> {
        let ctx = self.ctx;
        while seq
            .next_element_seed(OrderObjectSeed { ctx: &mut *ctx })?
            .is_some()
        {}
        Ok(OrderResult::default())
    }
}

struct OrderObjectSeed<'c, 's, 'de> {
    ctx: &'c mut Ctx<'s, 'de>,
}

impl<'de> DeserializeSeed<'de> for OrderObjectSeed<'_, '_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OrderObjectSeed<'_, '_, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an order")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<(), A::Error> {
        order_object(self.ctx, map).map(|_| ())
    }
}

/// Reads one result object: its order reference (pushed when it names an order) and the scalars.
fn order_object<'de, A: MapAccess<'de>>(
    ctx: &mut Ctx<'_, 'de>,
    mut map: A,
) -> Result<OrderResult, A::Error> {
    let mut order = OrderRefSlot::default();
    let mut result = OrderResult::default();
    while let Some(key) = next_key(&mut map)? {
        match key {
            Some("order_id") => order.order_id = Some(ctx.str_field(&mut map, "order_id")?),
            Some("cl_ord_id") => order.cl_ord_id = Some(ctx.str_field(&mut map, "cl_ord_id")?),
            Some("order_userref") => {
                order.order_userref = Some(ctx.u64_field(&mut map, "order_userref")?)
            }
            Some("amend_id") => result.amend_id = Some(ctx.str_field(&mut map, "amend_id")?),
            Some("count") => result.count = Some(ctx.u64_field(&mut map, "count")?),
            Some("triggerTime") => {
                result.trigger_time = Some(ctx.str_field(&mut map, "triggerTime")?)
            }
            _ => skip(&mut map)?,
        }
    }
    if order.order_id.is_some() || order.cl_ord_id.is_some() || order.order_userref.is_some() {
        let r = ctx.arena.push_order_ref(order);
        ctx.check(r)?;
    }
    Ok(result)
}

/// Parses an order-entry response's raw `result` text.
pub(crate) fn parse_order_result<'de>(
    ctx: &mut Ctx<'_, 'de>,
    raw: &'de str,
) -> Result<OrderResult, sonic_rs::Error> {
    // The raw text is a sub-slice of the frame, so spans computed from it stay frame-relative.
    let mut de = sonic_rs::Deserializer::from_str(raw);
    ResultSeed { ctx }.deserialize(&mut de)
}
