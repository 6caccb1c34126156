//! Kraken's order-entry error texts, classified into the strategy contract's [`RejectReason`].
//!
//! Kraken answers a refused request with `success: false` and an `error` string such as
//! `EOrder:Rate limit exceeded` (PROTOCOL.md §1.11; the texts below are from
//! https://docs.kraken.com/api/docs/guides/spot-ratelimits and the REST error list
//! https://docs.kraken.com/api/docs/guides/spot-errors). Matching is by prefix, so a text with a
//! detail appended (`EOrder:Invalid price:BTC/USD price can only be specified up to 1 decimals.`)
//! still classifies. An unknown text is [`RejectReason::Other`], never an error: a new Kraken
//! message cannot break order entry. Never allocates or formats.

use kspin_api::RejectReason;

/// `(prefix, reason)`, first match wins.
const TABLE: &[(&str, RejectReason)] = &[
    ("EOrder:Rate limit exceeded", RejectReason::RateLimited),
    ("EAPI:Rate limit exceeded", RejectReason::RateLimited),
    ("EOrder:Orders limit exceeded", RejectReason::OrdersLimit),
    ("EOrder:Positions limit exceeded", RejectReason::OrdersLimit),
    ("EOrder:Insufficient funds", RejectReason::InsufficientFunds),
    (
        "EOrder:Insufficient margin",
        RejectReason::InsufficientFunds,
    ),
    ("EOrder:Post only order", RejectReason::WouldTake),
    ("EOrder:Unknown order", RejectReason::UnknownOrder),
    ("EOrder:Invalid order", RejectReason::UnknownOrder),
    ("EService:Unavailable", RejectReason::MarketClosed),
    (
        "EService:Market in cancel_only mode",
        RejectReason::MarketClosed,
    ),
    (
        "EService:Market in post_only mode",
        RejectReason::MarketClosed,
    ),
    (
        "EService:Market in limit_only mode",
        RejectReason::MarketClosed,
    ),
    (
        "EOrder:Trading agreement required",
        RejectReason::MarketClosed,
    ),
    ("EGeneral:Invalid arguments", RejectReason::BadParameters),
    ("EOrder:Invalid price", RejectReason::BadParameters),
    ("EOrder:Order minimum not met", RejectReason::BadParameters),
    ("EOrder:Cost minimum not met", RejectReason::BadParameters),
    ("EOrder:Tick size check failed", RejectReason::BadParameters),
    ("EQuery:Unknown asset pair", RejectReason::BadParameters),
    ("EOrder:Duplicate cl_ord_id", RejectReason::BadParameters),
];

/// The reason a venue error text stands for.
pub fn classify(text: &str) -> RejectReason {
    TABLE
        .iter()
        .find(|(prefix, _)| text.starts_with(prefix))
        .map_or(RejectReason::Other, |&(_, reason)| reason)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_documented_texts_and_their_detailed_forms() {
        assert_eq!(
            classify("EOrder:Rate limit exceeded"),
            RejectReason::RateLimited
        );
        assert_eq!(
            classify("EOrder:Orders limit exceeded"),
            RejectReason::OrdersLimit
        );
        assert_eq!(
            classify("EOrder:Invalid price:BTC/USD price can only be specified up to 1 decimals."),
            RejectReason::BadParameters
        );
        assert_eq!(
            classify("EGeneral:Invalid arguments:order_qty"),
            RejectReason::BadParameters
        );
        assert_eq!(classify("EService:Unavailable"), RejectReason::MarketClosed);
        assert_eq!(classify("EOrder:Post only order"), RejectReason::WouldTake);
        assert_eq!(classify("something new"), RejectReason::Other);
        assert_eq!(classify(""), RejectReason::Other);
    }
}
