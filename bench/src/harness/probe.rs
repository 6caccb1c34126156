//! The measuring ends of `kspin bench latency`: [`LatencyProbe`], a publisher wrapper on the
//! engine core that keeps every frame's stage stamps, [`ProbeStrategy`], the strategy on the
//! other side of the ring, and [`join_stamps`], which joins both with the venue's send stamps
//! into per-stage histograms after the run.
//!
//! The join: the venue stamps frame `n` (1-based, first connection) when it writes it; the probe
//! keeps the stamps of the `n`-th frame the core read on its first connection; the strategy host
//! logs, per delivered event, the event's `recv_tsc` (the core's read stamp of the frame that
//! caused it) with its own receive and return stamps. Read stamps are taken per frame on one
//! pinned thread, so they strictly increase and identify their frame: a binary search maps each
//! event back to its frame and so to its send stamp. Only a frame's first delivered event is
//! counted (later events of the same frame wait for the strategy to handle the earlier ones).
//!
//! On the core the probe only copies four stamps into a preallocated array; it never allocates.

use kspin_api::{Context, Event, EventKind, Strategy, StrategySummary};

use super::BenchError;
use kspin_core::feed::{Feed, FeedSink};
use kspin_core::forward_feed_sink;
use kspin_host::EventStamps;
use kspin_runtime::{FrameStamps, NoStrategies, Publisher, Stage, StageHistograms};
use kspin_sim::SendStamps;

/// Receive-side stamps kept per frame by the probe: read, decoded, applied, published.
type ProbeStamps = [u64; 4];

/// A publisher wrapper that copies each frame's stage stamps into a preallocated array indexed
/// by the frame's sequence number on the first connection, and hands every call on to `inner`
/// (the strategy bus, or nothing) unchanged. Never allocates.
pub struct LatencyProbe<P: Publisher = NoStrategies> {
    inner: P,
    stamps: Vec<ProbeStamps>,
    frames: usize,
    /// The first connection ended: later frames have no send stamps to pair with.
    link_lost: bool,
}

impl LatencyProbe<NoStrategies> {
    /// A probe with no strategies behind it.
    pub fn new(capacity: usize) -> LatencyProbe {
        LatencyProbe::wrapping(NoStrategies, capacity)
    }
}

impl<P: Publisher> LatencyProbe<P> {
    /// A probe in front of `inner`, with room for `capacity` frames.
    pub fn wrapping(inner: P, capacity: usize) -> LatencyProbe<P> {
        LatencyProbe {
            inner,
            stamps: vec![[0; 4]; capacity],
            frames: 0,
            link_lost: false,
        }
    }

    /// Frames seen on the first connection.
    pub fn frames(&self) -> usize {
        self.frames
    }

    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The kept stamps, one per frame of the first connection.
    fn kept(&self) -> &[ProbeStamps] {
        &self.stamps[..self.frames.min(self.stamps.len())]
    }
}

impl<P: Publisher> FeedSink for LatencyProbe<P> {
    forward_feed_sink!(inner);
}

impl<P: Publisher> Publisher for LatencyProbe<P> {
    #[inline]
    fn on_frame(&mut self, recv_tsc: u64, payload: &[u8]) {
        self.inner.on_frame(recv_tsc, payload);
    }

    #[inline]
    fn frame_done(&mut self, s: &FrameStamps) {
        if !self.link_lost {
            if let Some(slot) = self.stamps.get_mut(self.frames) {
                *slot = [
                    s.get(Stage::Read),
                    s.get(Stage::Decoded),
                    s.get(Stage::Applied),
                    s.get(Stage::Published),
                ];
            }
            self.frames += 1;
        }
        self.inner.frame_done(s);
    }

    #[inline]
    fn service(&mut self, feed: &Feed) {
        self.inner.service(feed);
    }

    fn link(&mut self, up: bool) {
        if !up {
            self.link_lost = true;
        }
        self.inner.link(up);
    }
}

/// The strategy of a latency run: on every book change it reads the top of its replica book
/// (what the simplest real strategy does first), on every trade its price; it keeps counts. Its
/// host logs the event stamps that [`join_stamps`] uses.
#[derive(Debug, Default)]
pub struct ProbeStrategy {
    book_changes: u64,
    trades: u64,
    /// Sum of best bid and ask mantissas seen: keeps the reads from being optimised away and
    /// lands in the summary.
    touched: i64,
}

/// Registry-style name of [`ProbeStrategy`] (shown in the run's thread list).
pub const PROBE_STRATEGY: &str = "latency_probe";

impl Strategy for ProbeStrategy {
    #[inline]
    fn on_event(&mut self, event: &Event, ctx: &mut dyn Context) {
        match &event.kind {
            EventKind::BookChanged(change) => {
                self.book_changes += 1;
                if let Some(book) = ctx.book(change.symbol) {
                    let bid = book.best_bid().map_or(0, |(p, _)| p.0);
                    let ask = book.best_ask().map_or(0, |(p, _)| p.0);
                    self.touched = self.touched.wrapping_add(bid).wrapping_add(ask);
                }
            }
            EventKind::Trade(t) => {
                self.trades += 1;
                self.touched = self.touched.wrapping_add(t.price.0);
            }
            _ => {}
        }
    }

    fn summary(&self) -> StrategySummary {
        StrategySummary::new()
            .with("book_changes", self.book_changes as i64, 0)
            .with("trades", self.trades as i64, 0)
            .with("touched", self.touched, 0)
    }
}

/// What one phase's join produced.
pub struct Joined {
    pub histograms: StageHistograms,
    /// Frames read after warm-up that were paired with a send stamp.
    pub samples: u64,
    /// Of those, frames that reached the strategy (0 without one).
    pub strategy_samples: u64,
}

/// Joins the probe's per-frame stamps, the venue's send stamps and (if any) the strategy host's
/// event stamps into stage histograms, skipping frames read before `warm_tsc`.
///
/// An event joins frame `i` when its `recv_tsc` is frame `i`'s read stamp and it was published
/// while that frame was processed (`publish_tsc` no later than the frame's published stamp):
/// events the bus publishes between frames (catch-up snapshots, conflated statuses, order
/// updates) carry the previous frame's read stamp but belong to no frame. The strategy-side
/// spans are measured from the frame's first event's own publish stamp, since the engine keeps
/// publishing the rest of a frame while the strategy may already hold its first event.
pub fn join_stamps<P: Publisher>(
    clock: &quanta::Clock,
    probe: &LatencyProbe<P>,
    sent: &SendStamps,
    events: &[EventStamps],
    warm_tsc: u64,
) -> Result<Joined, BenchError> {
    let kept = probe.kept();
    debug_assert!(
        kept.windows(2).all(|w| w[0][0] < w[1][0]),
        "read stamps strictly increase (one pinned thread, one TSC)"
    );
    // Per frame: the first event that joined it.
    let mut reached: Vec<Option<EventStamps>> = vec![None; kept.len()];
    for e in events {
        let Ok(i) = kept.binary_search_by_key(&e.recv_tsc, |s| s[0]) else {
            continue;
        };
        if e.publish_tsc <= kept[i][3] && reached[i].is_none() {
            reached[i] = Some(*e);
        }
    }
    let mut histograms = StageHistograms::new().map_err(|e| BenchError::Setup(e.to_string()))?;
    let (mut samples, mut strategy_samples) = (0, 0);
    let span = |h: &mut StageHistograms, name: &str, from: u64, to: u64| {
        if from != 0 && to >= from {
            h.record_span(name, clock.delta_as_nanos(from, to));
        }
    };
    for (i, (s, first)) in kept.iter().zip(&reached).enumerate() {
        let wire = sent.get(i as u64 + 1);
        if s[0] < warm_tsc || wire == 0 {
            continue;
        }
        let mut fs = FrameStamps::default();
        fs.set(Stage::Wire, wire);
        fs.set(Stage::Read, s[0]);
        fs.set(Stage::Decoded, s[1]);
        fs.set(Stage::Applied, s[2]);
        fs.set(Stage::Published, s[3]);
        histograms.record(clock, &fs);
        samples += 1;
        if let Some(e) = first {
            strategy_samples += 1;
            let h = &mut histograms;
            span(h, "published_to_received", e.publish_tsc, e.received_tsc);
            span(h, "received_to_returned", e.received_tsc, e.returned_tsc);
            span(h, "read_to_returned", s[0], e.returned_tsc);
            span(h, "wire_to_received", wire, e.received_tsc);
            span(h, "wire_to_returned", wire, e.returned_tsc);
        }
    }
    Ok(Joined {
        histograms,
        samples,
        strategy_samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe_with(reads: &[u64]) -> LatencyProbe {
        let mut probe = LatencyProbe::new(reads.len() + 1);
        for &r in reads {
            let mut fs = FrameStamps::default();
            fs.set(Stage::Read, r);
            fs.set(Stage::Decoded, r + 10);
            fs.set(Stage::Applied, r + 20);
            fs.set(Stage::Published, r + 30);
            probe.frame_done(&fs);
        }
        probe
    }

    #[test]
    fn probe_stops_keeping_after_the_first_link_ends() {
        let mut probe = probe_with(&[100, 200]);
        probe.link(false);
        probe.frame_done(&FrameStamps::default());
        assert_eq!(probe.frames(), 2);
        assert_eq!(probe.kept(), &[[100, 110, 120, 130], [200, 210, 220, 230]]);
    }

    #[test]
    fn events_join_to_their_frames_first_event_only() {
        // Raw ticks equal nanoseconds on a mocked clock.
        let (clock, mock) = quanta::Clock::mock();
        let probe = probe_with(&[1_000, 2_000, 3_000]);
        let sent = SendStamps::new(clock.clone(), 8);
        for seq in 1..=3 {
            mock.increment(if seq == 1 { 900 } else { 1_000 });
            sent.stamp_range(seq, seq);
        }
        let events = [
            // Frame 1: two events, only the first counts.
            EventStamps {
                recv_tsc: 1_000,
                publish_tsc: 1_030,
                received_tsc: 1_100,
                returned_tsc: 1_150,
            },
            EventStamps {
                recv_tsc: 1_000,
                publish_tsc: 1_031,
                received_tsc: 1_500,
                returned_tsc: 1_550,
            },
            // Frame 3; frame 2 never reached the strategy.
            EventStamps {
                recv_tsc: 3_000,
                publish_tsc: 3_030,
                received_tsc: 3_200,
                returned_tsc: 3_210,
            },
            // Matches no frame's read stamp: ignored.
            EventStamps {
                recv_tsc: 2_500,
                publish_tsc: 2_600,
                received_tsc: 2_700,
                returned_tsc: 2_800,
            },
            // Frame 2's read stamp, but published after frame 2 was done (a catch-up between
            // frames): belongs to no frame.
            EventStamps {
                recv_tsc: 2_000,
                publish_tsc: 2_500,
                received_tsc: 2_600,
                returned_tsc: 2_700,
            },
        ];
        let joined = join_stamps(&clock, &probe, &sent, &events, 1_500).expect("join");
        assert_eq!(joined.samples, 2, "frame 1 is before the warm-up mark");
        assert_eq!(joined.strategy_samples, 1, "frame 3 only");
        let h = joined.histograms.span("wire_to_received").expect("span");
        assert_eq!(h.len(), 1);
        assert_eq!(h.max(), h.highest_equivalent(300));
        // Published → received from the event's own publish stamp (3_030), not the frame's.
        let h = joined
            .histograms
            .span("published_to_received")
            .expect("span");
        assert_eq!((h.len(), h.max()), (1, h.highest_equivalent(170)));
        let h = joined.histograms.span("wire_to_published").expect("span");
        assert_eq!(h.len(), 2);
        assert_eq!(h.min(), h.lowest_equivalent(130));
    }
}
