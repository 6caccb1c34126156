//! [`Recording`]: a [`Publisher`] wrapper that copies every received frame (with its receive TSC)
//! and every link change into the capture ring, then hands everything on to the wrapped
//! publisher unchanged.
//!
//! Owns the core's [`CaptureProducer`]. Invariants: the wrapped publisher sees exactly the calls
//! it would see without recording, in the same order; recording a frame is one bounded copy into
//! preallocated memory (no allocation, lock, syscall or formatting on the core), and a full ring
//! drops the record (counted, marked by a gap record) rather than waiting.

use super::format::RecordKind;
use super::writer::CaptureProducer;
use crate::{FrameStamps, Publisher};
use kspin_core::feed::{Feed, FeedSink};
use kspin_core::forward_feed_sink;

/// See the module docs.
pub struct Recording<P: Publisher> {
    inner: P,
    producer: CaptureProducer,
    clock: quanta::Clock,
}

impl<P: Publisher> Recording<P> {
    /// Records into `producer` (from [`super::start_recording`]) and forwards to `inner`.
    /// `clock` stamps link changes (frames carry the core's receive stamp).
    pub fn new(inner: P, producer: CaptureProducer, clock: quanta::Clock) -> Recording<P> {
        Recording {
            inner,
            producer,
            clock,
        }
    }

    pub fn inner(&self) -> &P {
        &self.inner
    }

    pub fn inner_mut(&mut self) -> &mut P {
        &mut self.inner
    }

    /// Ends recording through this wrapper (the writer thread keeps what it has) and hands back
    /// the wrapped publisher.
    pub fn into_inner(self) -> P {
        self.inner
    }

    /// Records dropped so far because the capture ring was full.
    pub fn dropped(&self) -> u64 {
        self.producer.dropped()
    }
}

impl<P: Publisher> FeedSink for Recording<P> {
    forward_feed_sink!(inner);
}

impl<P: Publisher> Publisher for Recording<P> {
    #[inline]
    fn on_frame(&mut self, recv_tsc: u64, payload: &[u8]) {
        self.producer.push(RecordKind::Frame, recv_tsc, payload);
        self.inner.on_frame(recv_tsc, payload);
    }
    #[inline]
    fn frame_done(&mut self, stamps: &FrameStamps) {
        self.inner.frame_done(stamps);
    }
    #[inline]
    fn service(&mut self, feed: &Feed) {
        self.inner.service(feed);
    }
    fn link(&mut self, up: bool) {
        let kind = if up {
            RecordKind::LinkUp
        } else {
            RecordKind::LinkDown
        };
        self.producer.push(kind, self.clock.raw(), &[]);
        self.inner.link(up);
    }
}
