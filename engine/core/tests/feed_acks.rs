//! Subscription acks for a book the feed holds as live (found by the `book_sequence` fuzz target):
//! a subscribe ack keeps it live, the snapshot that follows replaces it and updates in between
//! still apply; an unsubscribe ack that is not part of a resync makes it stale (the sink is told,
//! once) and later updates are dropped. Exact event sequences on a passive feed.

use kspin_core::book::{ApplyReport, FixedLevel, OrderBook};
use kspin_core::feed::{Feed, FeedMode, FeedOptions, FeedSink, StaleReason};
use kspin_core::kraken::{BookData, Decoder, DecoderLimits, UpdateKind};

#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Updated(UpdateKind),
    Live,
    Stale(StaleReason),
}

#[derive(Default)]
struct Recorder(Vec<Seen>);

impl FeedSink for Recorder {
    fn book_updated(
        &mut self,
        _symbol: usize,
        _book: &OrderBook,
        _data: &BookData<'_>,
        _levels: &[FixedLevel],
        kind: UpdateKind,
        _report: &ApplyReport,
    ) {
        self.0.push(Seen::Updated(kind));
    }
    fn book_live(&mut self, _symbol: usize, _book: &OrderBook) {
        self.0.push(Seen::Live);
    }
    fn book_stale(&mut self, _symbol: usize, reason: StaleReason) {
        self.0.push(Seen::Stale(reason));
    }
}

fn ack(method: &str) -> Vec<u8> {
    format!(
        r#"{{"method":"{method}","result":{{"channel":"book","depth":10,"snapshot":true,"symbol":"BTC/USD"}},"success":true,"time_in":"2026-12-05T00:00:00.000000Z","time_out":"2026-12-05T00:00:00.000100Z"}}"#
    )
    .into_bytes()
}

#[test]
fn acks_for_a_live_book_never_leave_the_sink_holding_a_dead_one() {
    let s = kspin_sim::stream::book_stream("BTC/USD", 10, 4, 5).unwrap();
    let mut feed = Feed::new(FeedOptions {
        mode: FeedMode::Passive,
        ..FeedOptions::default()
    });
    feed.add_symbol("BTC/USD", 10, Some(s.precision()));
    let mut dec = Decoder::new(DecoderLimits::default());
    let mut sink = Recorder::default();
    let frames: Vec<Vec<u8>> = vec![
        s.snapshot.clone(),
        s.updates[0].clone(),
        ack("subscribe"),
        s.updates[1].clone(),
        s.updates[2].clone(),
        ack("unsubscribe"),
        s.updates[3].clone(),
    ];
    for (i, f) in frames.iter().enumerate() {
        let msg = dec.decode(f).expect("decodes");
        feed.on_message(i as u64, &msg, &mut sink);
    }
    assert_eq!(
        sink.0,
        vec![
            Seen::Live,
            Seen::Updated(UpdateKind::Snapshot),
            Seen::Updated(UpdateKind::Update),
            // The subscribe ack changed nothing: the next updates still apply.
            Seen::Updated(UpdateKind::Update),
            Seen::Updated(UpdateKind::Update),
            // Unsubscribed: stale once; the last update is dropped.
            Seen::Stale(StaleReason::Halted),
        ]
    );
    let c = feed.counters();
    assert_eq!(
        (c.checksum_ok, c.checksum_mismatch, c.dropped_not_live),
        (4, 0, 1)
    );
}
