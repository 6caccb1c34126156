//! [`EngineThread`]: the engine core of a benchmark phase on its own thread, pinned (and
//! real-time when asked) through [`set_up_thread`], busy-polling until stopped, then handing the
//! core back for its counters. Shared by the latency and throughput phases. Off the measured
//! path: it allocates (a thread) only when spawned.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::conditions::{set_up_thread, ThreadSetup};
use super::{BenchError, BenchOptions};
use kspin_runtime::{EngineCore, Publisher};

/// See the module docs.
pub struct EngineThread<P: Publisher> {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(EngineCore<P>, ThreadSetup)>,
}

impl<P: Publisher + Send + 'static> EngineThread<P> {
    /// Starts polling `core` on `opts.engine_core` (SCHED_FIFO with `opts.rt`).
    pub fn spawn(opts: &BenchOptions, core: EngineCore<P>) -> Result<EngineThread<P>, BenchError> {
        let stop = Arc::new(AtomicBool::new(false));
        let thread_stop = stop.clone();
        let (engine_core, rt) = (opts.engine_core, opts.rt);
        let thread = std::thread::Builder::new()
            .name("kspin-bench-core".into())
            .spawn(move || {
                let setup = set_up_thread("engine core", engine_core, rt);
                let mut core = core;
                while !thread_stop.load(Ordering::Relaxed) {
                    core.poll();
                }
                (core, setup)
            })
            .map_err(|e| BenchError::Setup(e.to_string()))?;
        Ok(EngineThread { stop, thread })
    }

    /// Stops polling and returns the core with what became of the thread's set-up.
    pub fn stop(self) -> Result<(EngineCore<P>, ThreadSetup), BenchError> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().map_err(|_| BenchError::Panicked)
    }
}
