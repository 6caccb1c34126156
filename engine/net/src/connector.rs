//! The connector thread: opens connections for the engine core, off the core. It resolves the
//! name (DNS may block), connects TCP, runs the TLS handshake (rustls allocates there) and the
//! WebSocket upgrade, and hands the open [`Connection`] to the core; the core hands every
//! finished connection back, and the connector takes it apart, keeps its buffers for the next
//! attempt and drops the rest (socket, TLS session) there too.
//!
//! Owns the [`ConnectPlan`] (addresses, TLS configuration), the spare [`ConnectionBuffers`] and
//! the attempt in progress; shares with the core two bounded lock-free queues
//! (`crossbeam_queue::ArrayQueue`, preallocated) and a `mio::Waker`. Invariants: the core's side
//! ([`Connector::request`], [`Connector::answer`]) never allocates, frees, locks or blocks (a
//! request costs one non-blocking eventfd write to wake the thread); attempts are numbered by
//! the core and an answer for an older attempt is recycled, never delivered; one attempt runs at
//! a time (a new request abandons the old one). The thread waits in `epoll_wait` (the socket and
//! the waker), never spins, and ends when the [`Connector`] is dropped.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_queue::ArrayQueue;
use mio::{Events, Poll, Token, Waker};

use super::buffers::ConnectionBuffers;
use super::connect_plan::ConnectPlan;
use super::connection::{ConnLimits, Connection, HandshakeState};
use super::error::NetError;

/// Requests and answers in flight at once. The core has at most a recycle, a cancel and a
/// connect outstanding per attempt; the margin keeps a slow connector from ever refusing one.
const QUEUE_CAPACITY: usize = 8;
const STREAM: Token = Token(0);
const WAKER: Token = Token(1);
/// Re-polls the handshake this often even without a readiness event (a safety net: the socket
/// is edge-triggered and the handshake re-reads until WouldBlock anyway).
const HANDSHAKE_REPOLL: Duration = Duration::from_millis(20);

/// What the core asks of the connector.
// Connections move by value through the preallocated queues on purpose: boxing them would
// allocate per connection and put an indirection on the core's read path.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Request {
    /// Open attempt `n` (abandoning any older attempt still running).
    Connect(u64),
    /// Abandon attempt `n` if it is still running (the core's connect timeout).
    Cancel(u64),
    /// A finished connection: keep its buffers, drop the rest.
    Recycle(Connection),
}

/// What the connector tells the core (by value, as [`Request`]).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Answer {
    /// Attempt `n` is open: TCP, TLS and WebSocket handshakes done.
    Opened(u64, Connection),
    /// Attempt `n` failed.
    Failed(u64, NetError),
}

/// The core's handle on the connector thread; dropping it stops the thread.
pub(crate) struct Connector {
    requests: Arc<ArrayQueue<Request>>,
    answers: Arc<ArrayQueue<Answer>>,
    waker: Arc<Waker>,
    stop: Arc<AtomicBool>,
}

impl Connector {
    /// Starts the thread with the plan and one set of buffers (start-up: allocates).
    pub(crate) fn spawn(
        plan: ConnectPlan,
        buffers: ConnectionBuffers,
    ) -> Result<Connector, NetError> {
        let io = |e: std::io::Error| NetError::Io(e.kind());
        let poll = Poll::new().map_err(io)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER).map_err(io)?);
        let requests = Arc::new(ArrayQueue::new(QUEUE_CAPACITY));
        let answers = Arc::new(ArrayQueue::new(QUEUE_CAPACITY));
        let stop = Arc::new(AtomicBool::new(false));
        let worker = Worker {
            limits: buffers.limits(),
            tls: buffers.tls(),
            plan,
            spare: Some(buffers),
            attempt: None,
            poll,
            requests: Arc::clone(&requests),
            answers: Arc::clone(&answers),
            stop: Arc::clone(&stop),
        };
        std::thread::Builder::new()
            .name("kspin-connect".into())
            .spawn(move || worker.run())
            .map_err(io)?;
        Ok(Connector {
            requests,
            answers,
            waker,
            stop,
        })
    }

    /// Queues a request and wakes the thread. Hands the request back if the queue is full.
    #[allow(clippy::result_large_err)] // the request itself comes back, by value (see `Request`)
    pub(crate) fn request(&self, request: Request) -> Result<(), Request> {
        self.requests.push(request)?;
        // A failed wake leaves the request queued: the thread sees it at its next wake-up.
        let _ = self.waker.wake();
        Ok(())
    }

    /// The next answer, if one is waiting.
    pub(crate) fn answer(&self) -> Option<Answer> {
        self.answers.pop()
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
    }
}

/// The thread's state.
struct Worker {
    plan: ConnectPlan,
    limits: ConnLimits,
    tls: bool,
    spare: Option<ConnectionBuffers>,
    attempt: Option<(u64, Connection)>,
    poll: Poll,
    requests: Arc<ArrayQueue<Request>>,
    answers: Arc<ArrayQueue<Answer>>,
    stop: Arc<AtomicBool>,
}

impl Worker {
    fn run(mut self) {
        let mut events = Events::with_capacity(4);
        while !self.stop.load(Ordering::Acquire) {
            while let Some(request) = self.requests.pop() {
                match request {
                    Request::Connect(n) => {
                        self.abandon();
                        self.start(n);
                    }
                    Request::Cancel(n) => {
                        if matches!(self.attempt, Some((current, _)) if current == n) {
                            self.abandon();
                        }
                    }
                    Request::Recycle(conn) => self.recycle(conn),
                }
            }
            self.drive();
            let timeout = self.attempt.as_ref().map(|_| HANDSHAKE_REPOLL);
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    // The poller is broken: fail the attempt and re-poll on a timer.
                    self.fail_attempt(NetError::Io(e.kind()));
                    std::thread::sleep(HANDSHAKE_REPOLL);
                }
            }
        }
    }

    /// Starts attempt `n` in the spare buffers (new ones if none fit).
    fn start(&mut self, n: u64) {
        let buffers = match self.spare.take() {
            Some(b) if b.fit(self.limits, self.tls) => b,
            _ => match ConnectionBuffers::new(self.limits, self.tls) {
                Ok(b) => b,
                Err(e) => return self.answer(Answer::Failed(n, e)),
            },
        };
        match Connection::connect_with(&mut self.plan, buffers) {
            Ok(mut conn) => match conn.register(self.poll.registry(), STREAM) {
                Ok(()) => self.attempt = Some((n, conn)),
                Err(e) => {
                    self.plan.attempt_failed();
                    self.recycle(conn);
                    self.answer(Answer::Failed(n, e));
                }
            },
            Err((e, buffers)) => {
                self.plan.attempt_failed();
                self.spare = Some(buffers);
                self.answer(Answer::Failed(n, e));
            }
        }
    }

    /// Drives the attempt in progress; hands it over when open.
    fn drive(&mut self) {
        let Some((n, conn)) = self.attempt.as_mut() else {
            return;
        };
        let n = *n;
        match conn.poll_handshake() {
            Ok(HandshakeState::InProgress) => {}
            Ok(HandshakeState::Open) => {
                let Some((_, mut conn)) = self.attempt.take() else {
                    return;
                };
                match conn.deregister(self.poll.registry()) {
                    Ok(()) => {
                        self.plan.attempt_succeeded();
                        self.answer(Answer::Opened(n, conn));
                    }
                    Err(e) => {
                        conn.close();
                        self.plan.attempt_failed();
                        self.recycle(conn);
                        self.answer(Answer::Failed(n, e));
                    }
                }
            }
            Err(e) => self.fail_attempt(e),
        }
    }

    fn fail_attempt(&mut self, error: NetError) {
        if let Some((n, mut conn)) = self.attempt.take() {
            let _ = conn.deregister(self.poll.registry());
            self.plan.attempt_failed();
            self.recycle(conn);
            self.answer(Answer::Failed(n, error));
        }
    }

    /// Ends the attempt in progress without an answer (the core gave up on it).
    fn abandon(&mut self) {
        if let Some((_, mut conn)) = self.attempt.take() {
            conn.close();
            let _ = conn.deregister(self.poll.registry());
            self.plan.attempt_failed();
            self.recycle(conn);
        }
    }

    /// Keeps the buffers of a finished connection (one spare set; an extra one is freed).
    fn recycle(&mut self, conn: Connection) {
        let buffers = conn.into_buffers();
        if self.spare.is_none() && buffers.fit(self.limits, self.tls) {
            self.spare = Some(buffers);
        }
    }

    /// Hands an answer to the core; if the queue is full (the core stopped reading), an opened
    /// connection is recycled instead and the core's connect timeout ends the attempt.
    fn answer(&mut self, answer: Answer) {
        if let Err(Answer::Opened(_, conn)) = self.answers.push(answer) {
            self.recycle(conn);
        }
    }
}
