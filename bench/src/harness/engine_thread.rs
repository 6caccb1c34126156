//! [`EngineThread`]: the engine core of a benchmark phase on its own thread, pinned (and
//! real-time when asked) through [`set_up_thread`], busy-polling until stopped, then handing the
//! core back for its counters. Shared by the latency and throughput phases. Off the measured
//! path: it allocates (a thread) only when spawned.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use super::conditions::{set_up_thread, ThreadSetup};
use super::{BenchError, BenchOptions};
use kspin_net::{Transport, WsTransport};
use kspin_runtime::{EngineCore, NoOrderLink, OrderLink, Publisher};

type Core<P, T, O> = EngineCore<P, T, O>;

/// See the module docs.
pub struct EngineThread<P: Publisher, T: Transport = WsTransport, O: OrderLink<P> = NoOrderLink> {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<(Core<P, T, O>, ThreadSetup)>,
}

impl<P, T, O> EngineThread<P, T, O>
where
    P: Publisher + Send + 'static,
    T: Transport + Send + 'static,
    O: OrderLink<P> + Send + 'static,
{
    /// Starts polling `core` on `opts.engine_core` (SCHED_FIFO with `opts.rt`).
    pub fn spawn(
        opts: &BenchOptions,
        core: Core<P, T, O>,
    ) -> Result<EngineThread<P, T, O>, BenchError> {
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
    pub fn stop(self) -> Result<(Core<P, T, O>, ThreadSetup), BenchError> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.join().map_err(|_| BenchError::Panicked)
    }
}
