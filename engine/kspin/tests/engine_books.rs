//! End to end, plain and TLS: the engine core, driven on the test thread, connects to the
//! simulated venue on 127.0.0.1, learns precisions from `instrument`, subscribes books at several
//! depths, and after thousands of messages holds exactly the venue's books for every symbol.

mod engine_support;

use engine_support::*;

const SYMBOLS: [(&str, u16); 4] = [
    ("BTC/USD", 10),
    ("ETH/USD", 25),
    ("DOGE/USD", 100),
    ("MINA/GBP", 10),
];

fn books_match_after_streaming(tls: bool) {
    let names: Vec<&str> = SYMBOLS.iter().map(|s| s.0).collect();
    let venue = venue(tls, &names, 4_000, true);
    let mut core = core(core_config(&venue, &SYMBOLS));
    start(&mut core);
    // Snapshots only so far (the market is frozen): already exact.
    settle_and_compare(&mut core, &venue);
    for _ in 0..3 {
        stream(&mut core, 2_000);
        settle_and_compare(&mut core, &venue);
    }
    let c = *core.counters();
    let f = *core.feed().counters();
    assert_eq!(c.connects, 1, "{}", describe(&core));
    let decode_errors = core.pipeline().counters().decode_errors;
    assert_eq!((c.reconnects, c.disconnects, decode_errors), (0, 0, 0));
    assert_eq!((f.checksum_mismatch, f.resyncs, f.error_acks), (0, 0, 0));
    assert!(f.checksum_ok >= 6_000, "{}", describe(&core));
    assert_eq!(f.instruments, 1);
    for (name, b) in core.feed().books() {
        assert_eq!(b.counters.snapshots, 1, "{name}");
        assert!(b.counters.book_messages > 100, "{name}: {:?}", b.counters);
    }
    let r = core.publisher();
    assert_eq!((r.links_up, r.links_down), (1, 0));
    assert_eq!(&r.live[..SYMBOLS.len()], &[1; SYMBOLS.len()]);
    assert_eq!(&r.stale[..SYMBOLS.len()], &[0; SYMBOLS.len()]);
    assert!(r.trades > 0);
}

#[test]
fn plain_books_equal_the_venue_after_streaming() {
    books_match_after_streaming(false);
}

#[test]
fn tls_books_equal_the_venue_after_streaming() {
    books_match_after_streaming(true);
}

/// With every precision known, `instrument` is still subscribed when `watch_instrument` is set
/// (so a precision change announced later is followed), and not otherwise; books are exact
/// either way.
#[test]
fn known_precisions_subscribe_instrument_only_when_watching() {
    for watch in [true, false] {
        let venue = venue(false, &["BTC/USD"], 2_000, true);
        let mut cfg = core_config(&venue, &[("BTC/USD", 10)]);
        let pair = kspin::sim::pairs::find_pair("BTC/USD").unwrap();
        for p in &mut cfg.symbols {
            p.precision = Some((pair.price_precision, pair.qty_precision));
        }
        cfg.watch_instrument = watch;
        let mut core = core(cfg);
        start(&mut core);
        settle_and_compare(&mut core, &venue);
        let f = *core.feed().counters();
        assert_eq!(f.instruments, u64::from(watch), "watch {watch}");
        assert_eq!((f.checksum_mismatch, f.resyncs), (0, 0), "watch {watch}");
    }
}
