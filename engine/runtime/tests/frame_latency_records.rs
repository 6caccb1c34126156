//! The frame latency (`latency_ns`, read → published) comes from the same per-frame stage record
//! as the stage histograms: every frame is timed once, published or not, wherever the recorder
//! runs; with stamps off the engine queues the latency itself. Exact values on a mock clock.

mod common;

use kspin_api::{Price, Qty};
use kspin_core::book::{ApplyMode, OrderBook};
use kspin_runtime::{Engine, NoStrategies};
use quanta::{Clock, Mock};

const HEARTBEAT: &[u8] = br#"{"channel":"heartbeat"}"#;

fn book_snapshot() -> String {
    let mut book = OrderBook::new(10, 1, 8);
    book.apply_exact(
        ApplyMode::Snapshot,
        &[(Price(10_000), Qty(200_000_000))],
        &[(Price(10_010), Qty(300_000_000))],
    );
    format!(
        r#"{{"channel":"book","type":"snapshot","data":[{{"symbol":"BTC/USD","bids":[{{"price":1000.0,"qty":2.00000000}}],"asks":[{{"price":1001.0,"qty":3.00000000}}],"checksum":{}}}]}}"#,
        book.checksum()
    )
}

fn engine() -> (Engine<NoStrategies>, Clock, std::sync::Arc<Mock>) {
    let (clock, mock) = common::mock_clock();
    let cfg = common::btc_usd(true, false);
    let mut engine = Engine::new(&cfg, NoStrategies, clock.clone()).unwrap();
    engine.feed_mut().subscribe_sent(0);
    (engine, clock, mock)
}

/// A heartbeat read 600 ns ago (publishes nothing: stamped at its end) and a snapshot read
/// 250 ns ago (published now, the mock clock standing still).
fn two_frames(engine: &mut Engine<NoStrategies>, clock: &Clock) {
    engine.on_frame(HEARTBEAT, clock.raw() - 600);
    engine.on_frame(book_snapshot().as_bytes(), clock.raw() - 250);
    assert!(engine.pipeline().feed().book(0).unwrap().state.is_live());
}

fn min_max_len(h: &hdrhistogram::Histogram<u64>) -> (u64, u64, u64) {
    (h.min(), h.max(), h.len())
}

/// Min, max and count of the engine's `read_to_published` stage span.
fn read_to_published(engine: &mut Engine<NoStrategies>) -> (u64, u64, u64) {
    let stages = engine.stage_histograms().unwrap();
    min_max_len(stages.span("read_to_published").unwrap())
}

#[test]
fn every_frame_is_timed_once_from_its_record_published_or_not() {
    let (mut engine, clock, _mock) = engine();
    two_frames(&mut engine, &clock);
    assert_eq!(min_max_len(&engine.latency().total()), (250, 600, 2));
    // The same two values in the stage span: one record, two figures.
    assert_eq!(read_to_published(&mut engine), (250, 600, 2));
}

#[test]
fn a_recorder_taken_elsewhere_times_every_frame_and_leaves_the_core_none() {
    let (mut engine, clock, _mock) = engine();
    let mut recorder = engine.take_stage_recorder().unwrap();
    two_frames(&mut engine, &clock);
    assert_eq!(recorder.drain(), 2);
    assert_eq!(min_max_len(&recorder.latency().total()), (250, 600, 2));
    assert_eq!(engine.latency().total().len(), 0);
    assert_eq!(engine.stage_records_dropped(), 0);
    // A reporting interval taken from the recorder, as `kspin run`'s monitor fills snapshots.
    let mut stats = kspin_runtime::CoreStats::default();
    recorder.latency_mut().take_interval(&mut stats);
    assert_eq!((stats.samples, stats.max_ns), (2, 600));
    assert_eq!(stats.latency.count(), 2);
}

#[test]
fn with_stamps_off_the_engine_times_frames_itself_and_records_no_stage() {
    let (mut engine, clock, _mock) = engine();
    engine.set_stage_stamps(false);
    two_frames(&mut engine, &clock);
    assert_eq!(min_max_len(&engine.latency().total()), (250, 600, 2));
    assert_eq!(read_to_published(&mut engine).2, 0);
}
