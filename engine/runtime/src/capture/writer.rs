//! The recording pipeline off the core: [`CaptureProducer`] (the core's end: copies a frame into
//! the byte ring, never blocks) and the writer thread behind [`CaptureRecorder`] that drains the
//! ring into an append-only capture file.
//!
//! Owns the capture file and the writer thread. Invariants: the core only ever copies bytes into
//! preallocated memory; when the ring is full the frame is dropped and counted, and the next
//! record that fits is preceded by a `Gap` record with the count, so a capture never silently
//! misses frames. The writer converts each receive TSC to Unix time from one anchor taken at
//! start (no clock call per frame on the core). Reopening a file for appending cuts a torn tail
//! at the last valid record first. [`CaptureRecorder::finish`] drains everything pushed before
//! it, flushes and syncs the file.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::byte_ring::{byte_ring, RingConsumer, RingProducer};
use super::format::{encode_header, encode_record, scan, CaptureHeader, FormatError, RecordKind};

/// Default ring size: 8 MiB holds ~40,000 ordinary book frames (a writer stall of 0.4 s at
/// 100,000 frames/s) and records up to 4 MiB − 16 B. Bigger is not free: the core writes every
/// byte of the ring in turn, and a ring much larger than the cache makes each copy miss; at full
/// replay speed a 64 MiB ring cost ~1 µs per frame against ~45 ns for 4 MiB
/// (`bench/results/latency.md`). `kspin record --ring-mib` changes it.
pub const DEFAULT_RING_BYTES: usize = 8 << 20;
/// How long the writer sleeps when the ring is empty (it is not on a latency path).
const WRITER_IDLE: Duration = Duration::from_micros(500);
/// Records written between checks of the stop flag.
const WRITER_BATCH: usize = 4096;

/// Why a capture could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum CaptureError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Format { path: PathBuf, source: FormatError },
    #[error("cannot start the capture writer thread: {0}")]
    Thread(std::io::Error),
    #[error("the capture writer thread panicked")]
    Panicked,
}

/// Counters shared by the producer (drops) and the writer (records), read by the handle.
#[derive(Debug, Default)]
struct Counters {
    dropped: AtomicU64,
}

/// The core's end; see the module docs.
pub struct CaptureProducer {
    ring: RingProducer,
    pending_gap: u64,
    dropped: u64,
    counters: Arc<Counters>,
}

impl CaptureProducer {
    /// Copies one record into the ring; drops (and counts) it when the ring is full.
    #[inline]
    pub fn push(&mut self, kind: RecordKind, tsc: u64, payload: &[u8]) {
        if self.pending_gap > 0 {
            let count = self.pending_gap.to_le_bytes();
            if !self.ring.try_push(RecordKind::Gap as u32, tsc, &count) {
                self.drop_one();
                return;
            }
            self.pending_gap = 0;
        }
        if !self.ring.try_push(kind as u32, tsc, payload) {
            self.drop_one();
        }
    }

    #[cold]
    fn drop_one(&mut self) {
        self.pending_gap += 1;
        self.dropped += 1;
        self.counters.dropped.store(self.dropped, Ordering::Relaxed);
    }

    /// Records dropped so far because the ring was full.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }
}

/// What a finished recording wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecordSummary {
    /// Records written (frames, link changes, gaps).
    pub records: u64,
    /// Of which received frames.
    pub frames: u64,
    /// Bytes of the file at the end.
    pub file_bytes: u64,
    /// Frames dropped because the ring was full.
    pub dropped: u64,
    /// Bytes of a torn tail cut when the file was reopened for appending.
    pub torn_bytes_cut: u64,
}

/// The writer thread's handle; see the module docs.
pub struct CaptureRecorder {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<RecordSummary, CaptureError>>>,
    counters: Arc<Counters>,
}

impl CaptureRecorder {
    /// Frames dropped so far.
    pub fn dropped(&self) -> u64 {
        self.counters.dropped.load(Ordering::Relaxed)
    }

    /// Drains what was pushed, flushes and syncs the file, and joins the writer.
    pub fn finish(mut self) -> Result<RecordSummary, CaptureError> {
        self.stop.store(true, Ordering::Release);
        let thread = self.thread.take().ok_or(CaptureError::Panicked)?;
        let mut summary = thread.join().map_err(|_| CaptureError::Panicked)??;
        summary.dropped = self.dropped();
        Ok(summary)
    }
}

impl Drop for CaptureRecorder {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How to open the capture file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Create (or truncate) and write `header`.
    Create,
    /// Append to an existing capture (cutting a torn tail first), or create it if missing.
    Append,
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> CaptureError + '_ {
    move |source| CaptureError::Io {
        path: path.to_owned(),
        source,
    }
}

/// Opens `path` for appending records: returns the file positioned at the end of the valid part
/// and the bytes of torn tail cut.
pub fn open_capture(
    path: &Path,
    header: &CaptureHeader,
    mode: OpenMode,
) -> Result<(File, u64), CaptureError> {
    if mode == OpenMode::Append && path.exists() {
        let bytes = std::fs::read(path).map_err(io_err(path))?;
        let report = scan(&bytes).map_err(|source| CaptureError::Format {
            path: path.to_owned(),
            source,
        })?;
        let file = OpenOptions::new()
            .write(true)
            .open(path)
            .map_err(io_err(path))?;
        file.set_len(report.valid_len).map_err(io_err(path))?;
        let mut file = file;
        std::io::Seek::seek(&mut file, std::io::SeekFrom::End(0)).map_err(io_err(path))?;
        return Ok((file, report.torn_bytes));
    }
    let mut file = File::create(path).map_err(io_err(path))?;
    let mut head = Vec::new();
    encode_header(header, &mut head);
    file.write_all(&head).map_err(io_err(path))?;
    Ok((file, 0))
}

/// Opens the capture file and starts the writer thread; returns the core's producer (move it into
/// a [`super::Recording`]) and the writer's handle. The writer is not pinned; see
/// [`start_recording_on`] to keep it off the engine core.
pub fn start_recording(
    path: &Path,
    header: &CaptureHeader,
    mode: OpenMode,
    ring_bytes: usize,
    clock: quanta::Clock,
) -> Result<(CaptureProducer, CaptureRecorder), CaptureError> {
    start_recording_on(path, header, mode, ring_bytes, clock, None)
}

/// [`start_recording`] with the writer thread pinned to `writer_core` (best effort): on a small
/// machine, a writer the scheduler puts on the engine core takes time from it.
pub fn start_recording_on(
    path: &Path,
    header: &CaptureHeader,
    mode: OpenMode,
    ring_bytes: usize,
    clock: quanta::Clock,
    writer_core: Option<usize>,
) -> Result<(CaptureProducer, CaptureRecorder), CaptureError> {
    let (file, torn_bytes_cut) = open_capture(path, header, mode)?;
    let (producer, consumer) = byte_ring(ring_bytes);
    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let anchor_tsc = clock.raw();
    let anchor_wall = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let writer = Writer {
        consumer,
        out: BufWriter::with_capacity(1 << 20, file),
        path: path.to_owned(),
        clock,
        anchor_tsc,
        anchor_wall,
        stop: stop.clone(),
        scratch: Vec::with_capacity(64 << 10),
        summary: RecordSummary {
            torn_bytes_cut,
            ..RecordSummary::default()
        },
    };
    let thread = std::thread::Builder::new()
        .name("kspin-capture".into())
        .spawn(move || {
            if let Some(id) = writer_core {
                core_affinity::set_for_current(core_affinity::CoreId { id });
            }
            writer.run()
        })
        .map_err(CaptureError::Thread)?;
    Ok((
        CaptureProducer {
            ring: producer,
            pending_gap: 0,
            dropped: 0,
            counters: counters.clone(),
        },
        CaptureRecorder {
            stop,
            thread: Some(thread),
            counters,
        },
    ))
}

struct Writer {
    consumer: RingConsumer,
    out: BufWriter<File>,
    path: PathBuf,
    clock: quanta::Clock,
    anchor_tsc: u64,
    anchor_wall: u64,
    stop: Arc<AtomicBool>,
    scratch: Vec<u8>,
    summary: RecordSummary,
}

/// Unix time (ns) of `tsc`, from the anchor pair taken at start.
fn wall_ns(clock: &quanta::Clock, anchor_tsc: u64, anchor_wall: u64, tsc: u64) -> u64 {
    if tsc >= anchor_tsc {
        anchor_wall + clock.delta_as_nanos(anchor_tsc, tsc)
    } else {
        anchor_wall.saturating_sub(clock.delta_as_nanos(tsc, anchor_tsc))
    }
}

impl Writer {
    fn run(mut self) -> Result<RecordSummary, CaptureError> {
        let mut error: Option<std::io::Error> = None;
        loop {
            // Read the flag before draining: everything pushed before `finish` is then written.
            let stopping = self.stop.load(Ordering::Acquire) || self.consumer.producer_gone();
            let mut moved = 0;
            while moved < WRITER_BATCH {
                let Writer {
                    consumer,
                    clock,
                    anchor_tsc,
                    anchor_wall,
                    scratch,
                    summary,
                    ..
                } = &mut self;
                let popped = consumer.pop(|kind, tsc, payload| {
                    let kind = RecordKind::from_u8(kind as u8).unwrap_or(RecordKind::Frame);
                    let wall = wall_ns(clock, *anchor_tsc, *anchor_wall, tsc);
                    encode_record(kind, tsc, wall, payload, scratch);
                    summary.records += 1;
                    summary.frames += u64::from(kind == RecordKind::Frame);
                });
                if !popped {
                    break;
                }
                moved += 1;
                if self.scratch.len() >= (256 << 10) {
                    self.write_scratch(&mut error);
                }
            }
            self.write_scratch(&mut error);
            if moved == 0 {
                if stopping {
                    break;
                }
                std::thread::sleep(WRITER_IDLE);
            }
        }
        let flushed = self
            .out
            .flush()
            .and_then(|()| self.out.get_ref().sync_data());
        if let Some(source) = error {
            return Err(CaptureError::Io {
                path: self.path,
                source,
            });
        }
        flushed.map_err(io_err(&self.path))?;
        self.summary.file_bytes = self.out.get_ref().metadata().map_or(0, |m| m.len());
        Ok(self.summary)
    }

    /// Appends the encoded records gathered so far to the file (after a write error, drops them:
    /// the ring must keep draining so the core is never held up).
    fn write_scratch(&mut self, error: &mut Option<std::io::Error>) {
        if error.is_none() && !self.scratch.is_empty() {
            if let Err(e) = self.out.write_all(&self.scratch) {
                *error = Some(e);
            }
        }
        self.scratch.clear();
    }
}
