//! Capture and replay, end to end: a live engine core records a run against the simulated venue
//! (with checksum corruptions, so resyncs happen) through `Recording<Probe>`; replaying the
//! capture through the engine-core path (`EngineCore::replay_frame`) with the same probe gives
//! exactly the same callbacks, in the same order. Also: a torn tail is detected and cut when the
//! file is reopened for appending. Offline, 127.0.0.1 only, no timing assertions.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use kspin::book::{ApplyReport, FixedLevel, OrderBook};
use kspin::capture::{
    reader::capture_symbol, start_recording, Capture, CaptureHeader, OpenMode, RecordKind,
    Recording,
};
use kspin::feed::{FeedSink, StaleReason};
use kspin::kraken::{AckMsg, BookData, StatusMsg, Ticker, Trade, UpdateKind};
use kspin::net::{ConnLimits, Endpoint, TlsSettings, WsTransport};
use kspin::runtime::{Engine, EngineCore, FrameStamps, Publisher, Stage};
use kspin::sim::{FaultSpec, SimConfig, SimVenue};
use kspin_runtime::plan::SymbolPlan;

/// Longest the live run may take to see enough updates: a hang guard, not a timing assertion.
const HANG_GUARD: Duration = Duration::from_secs(60);

/// Logs every callback as text (allocation is fine in a test probe).
#[derive(Default)]
struct Probe {
    log: Vec<String>,
    book_updates: u64,
    frames_done: u64,
    published_stamps: u64,
}

impl FeedSink for Probe {
    fn book_updated(
        &mut self,
        symbol: usize,
        book: &OrderBook,
        data: &BookData<'_>,
        _levels: &[FixedLevel],
        kind: UpdateKind,
        report: &ApplyReport,
    ) {
        self.book_updates += 1;
        self.log.push(format!(
            "book {symbol} {kind:?} {} {:?} {:?} cs={:08x} levels={}/{} {report:?}",
            data.symbol,
            book.best_bid(),
            book.best_ask(),
            book.checksum_uncached(),
            data.bids.len(),
            data.asks.len()
        ));
    }
    fn checksum_mismatch(&mut self, symbol: usize, computed: u32, expected: u32) {
        self.log
            .push(format!("mismatch {symbol} {computed:08x} {expected:08x}"));
    }
    fn book_stale(&mut self, symbol: usize, reason: StaleReason) {
        self.log.push(format!("stale {symbol} {reason:?}"));
    }
    fn book_live(&mut self, symbol: usize, book: &OrderBook) {
        self.log
            .push(format!("live {symbol} cs={:08x}", book.checksum_uncached()));
    }
    fn send_unsubscribe(&mut self, symbol: usize) {
        self.log.push(format!("unsubscribe {symbol}"));
    }
    fn send_subscribe(&mut self, symbol: usize) {
        self.log.push(format!("subscribe {symbol}"));
    }
    fn trade(&mut self, symbol: usize, trade: &Trade<'_>) {
        self.log.push(format!("trade {symbol} {trade:?}"));
    }
    fn ticker(&mut self, symbol: usize, ticker: &Ticker<'_>) {
        self.log.push(format!("ticker {symbol} {ticker:?}"));
    }
    fn status(&mut self, status: &StatusMsg<'_>) {
        self.log.push(format!("status {status:?}"));
    }
    fn heartbeat(&mut self) {
        self.log.push("heartbeat".into());
    }
    fn pong(&mut self, req_id: Option<u64>) {
        self.log.push(format!("pong {req_id:?}"));
    }
    fn error_ack(&mut self, ack: &AckMsg<'_>) {
        self.log.push(format!("error_ack {ack:?}"));
    }
}

impl Publisher for Probe {
    fn on_frame(&mut self, recv_tsc: u64, payload: &[u8]) {
        self.log.push(format!(
            "frame tsc={recv_tsc} len={} crc={:08x}",
            payload.len(),
            crc32fast::hash(payload)
        ));
    }
    fn frame_done(&mut self, stamps: &FrameStamps) {
        self.frames_done += 1;
        if stamps.get(Stage::Published) != 0 {
            self.published_stamps += 1;
        }
    }
    fn link(&mut self, up: bool) {
        self.log.push(format!("link {up}"));
    }
}

fn plan() -> Vec<SymbolPlan> {
    ["BTC/USD", "ETH/USD"]
        .iter()
        .map(|s| SymbolPlan {
            symbol: (*s).into(),
            depth: 10,
            book: true,
            trade: true,
            ticker: true,
            precision: None,
        })
        .collect()
}

fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("kspin-test-{}-{name}", std::process::id()))
}

#[test]
fn replaying_a_capture_gives_the_live_runs_callbacks_in_order() {
    let venue = SimVenue::start(SimConfig {
        rate_per_sec: 3_000,
        seed: 11,
        symbols: vec!["BTC/USD".into(), "ETH/USD".into()],
        faults: vec![
            "corrupt:BTC/USD@every:400".parse::<FaultSpec>().unwrap(),
            "corrupt:ETH/USD@every:700".parse::<FaultSpec>().unwrap(),
        ],
        ..SimConfig::default()
    })
    .unwrap();
    let mut cfg = kspin::runtime::CoreConfig::new(plan());
    let transport = WsTransport::new(
        &Endpoint::parse(&venue.url()).unwrap(),
        &TlsSettings::default(),
        ConnLimits::default(),
    )
    .unwrap();
    cfg.stall_timeout = Duration::from_secs(30);
    cfg.connect_timeout = Duration::from_secs(10);

    let path = temp_path("determinism.kcap");
    let header = CaptureHeader {
        venue: venue.url(),
        symbols: plan().iter().map(capture_symbol).collect(),
        started_unix_ns: 0,
        writer: "capture_determinism test".into(),
    };
    let clock = quanta::Clock::new();
    let (producer, recorder) =
        start_recording(&path, &header, OpenMode::Create, 8 << 20, clock.clone()).unwrap();
    let mut live = EngineCore::new(
        cfg,
        Recording::new(Probe::default(), producer, clock.clone()),
        transport,
        clock.clone(),
    )
    .unwrap();
    let started = Instant::now();
    while live.publisher().inner().book_updates < 1_500 || live.feed().counters().resyncs < 2 {
        live.poll();
        assert!(
            started.elapsed() < HANG_GUARD,
            "live run did not progress: {} updates, {} resyncs, {:?}, {:?}",
            live.publisher().inner().book_updates,
            live.feed().counters().resyncs,
            live.counters(),
            live.feed().counters()
        );
    }
    venue.stop();
    assert_eq!(live.publisher().dropped(), 0);
    let summary = recorder.finish().unwrap();
    let live_probe = std::mem::take(live.publisher_mut().inner_mut());
    assert_eq!(summary.frames, live.feed().counters().frames);
    assert_eq!(live_probe.frames_done, live.feed().counters().frames);
    assert!(live_probe.published_stamps > 0);

    // Replay through the engine-core path with the configuration the header describes.
    let capture = Capture::open(&path).unwrap();
    assert_eq!(capture.torn_bytes(), 0);
    assert_eq!(capture.header(), &header);
    let mut replay =
        Engine::new(&capture.engine_config(), Probe::default(), clock.clone()).unwrap();
    for record in capture.records() {
        match record.kind {
            RecordKind::Frame => {
                replay.replay_frame(record.payload, record.recv_tsc);
                replay.discard_requests();
            }
            RecordKind::LinkUp => replay.link(true),
            RecordKind::LinkDown => replay.link(false),
            RecordKind::Gap => panic!("the capture ring never filled"),
        }
    }
    let replay_probe = replay.publisher();
    assert!(
        live.feed().counters().resyncs >= 2,
        "corruptions caused resyncs"
    );
    assert_eq!(replay_probe.log.len(), live_probe.log.len());
    for (i, (a, b)) in live_probe.log.iter().zip(&replay_probe.log).enumerate() {
        assert_eq!(a, b, "callback {i} differs");
    }
    assert_eq!(replay.pipeline().feed().counters(), live.feed().counters());
    let _ = std::fs::remove_file(&path);
}

#[test]
fn a_torn_tail_is_detected_and_cut_on_reopen() {
    let path = temp_path("torn.kcap");
    let header = CaptureHeader {
        venue: "test".into(),
        symbols: plan().iter().map(capture_symbol).collect(),
        started_unix_ns: 0,
        writer: "test".into(),
    };
    let clock = quanta::Clock::new();
    let (mut producer, recorder) =
        start_recording(&path, &header, OpenMode::Create, 1 << 16, clock.clone()).unwrap();
    for i in 0..100u64 {
        producer.push(
            RecordKind::Frame,
            1_000 + i,
            format!("frame {i}").as_bytes(),
        );
    }
    drop(producer);
    let written = recorder.finish().unwrap();
    assert_eq!(
        (written.records, written.frames, written.dropped),
        (100, 100, 0)
    );

    // A crash mid-write: half a record at the end.
    let mut bytes = std::fs::read(&path).unwrap();
    let clean_len = bytes.len() as u64;
    bytes.extend_from_slice(&[42, 0, 0, 0, 1, 2, 3]);
    std::fs::write(&path, &bytes).unwrap();
    let torn = Capture::open(&path).unwrap();
    assert_eq!(torn.record_count(), 100);
    assert_eq!(torn.torn_bytes(), 7);

    // Reopening for appending cuts the tail, then new records follow the last good one.
    let (mut producer, recorder) =
        start_recording(&path, &header, OpenMode::Append, 1 << 16, clock).unwrap();
    producer.push(RecordKind::Frame, 5_000, b"after the crash");
    drop(producer);
    let appended = recorder.finish().unwrap();
    assert_eq!(appended.torn_bytes_cut, 7);
    let reopened = Capture::open(&path).unwrap();
    assert_eq!(reopened.torn_bytes(), 0);
    assert_eq!(reopened.record_count(), 101);
    let frames: Vec<_> = reopened.frames().collect();
    assert_eq!(frames[99].payload, b"frame 99");
    assert_eq!(frames[100].payload, b"after the crash");
    assert_eq!(frames[100].recv_tsc, 5_000);
    assert!(std::fs::metadata(&path).unwrap().len() > clean_len);
    let _ = std::fs::remove_file(&path);
}
