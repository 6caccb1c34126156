//! An in-memory [`Transport`] for driving the runtime in tests, on virtual time: the test holds a
//! [`MemoryPeer`] (the exchange's end) and decides what each connection attempt does, what
//! arrives, and when the connection breaks; it reads back every attempt and every message sent.
//!
//! Owns the shared script of one simulated exchange endpoint. Invariants: no method blocks,
//! reads a clock or panics (a re-entrant use of the shared state is an `Err`, never a panic);
//! messages arrive in the order they were pushed and only on the connection they were pushed to
//! (a message pushed before a reconnect never reaches the next connection). It allocates freely:
//! it is a test tool, not on a measured path.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

use crate::connection::{FlushState, HandshakeState, ReadReport};
use crate::error::NetError;
use crate::transport::Transport;

/// What a connection attempt does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptOutcome {
    /// The handshake completes at the first poll.
    Open,
    /// The connect fails at once (`Connect(ConnectionRefused)`).
    Refuse,
    /// The handshake never completes (the runtime's connect timeout must end it).
    Hang,
    /// The handshake fails with this error (a TLS failure, for example).
    Fail(NetError),
}

/// One message the engine sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The connection it was sent on (1 = the first attempt).
    pub connection: u32,
    pub text: String,
}

#[derive(Debug)]
enum Inbound {
    Text(Vec<u8>),
    End(NetError),
}

#[derive(Debug)]
struct Script {
    next_outcome: AttemptOutcome,
    attempts: u32,
    /// The attempt that is connected (handshake done) or handshaking, if any.
    current: Option<u32>,
    open: bool,
    inbound: VecDeque<Inbound>,
    sent: Vec<Sent>,
    closes: u32,
}

/// The exchange's end of a [`MemoryTransport`]; cheap to clone (all clones share one script).
#[derive(Debug, Clone)]
pub struct MemoryPeer {
    script: Rc<RefCell<Script>>,
}

/// The engine's end; see the module docs.
#[derive(Debug)]
pub struct MemoryTransport {
    script: Rc<RefCell<Script>>,
}

/// A transport and the peer that scripts it.
pub fn memory_transport() -> (MemoryTransport, MemoryPeer) {
    let script = Rc::new(RefCell::new(Script {
        next_outcome: AttemptOutcome::Open,
        attempts: 0,
        current: None,
        open: false,
        inbound: VecDeque::new(),
        sent: Vec::new(),
        closes: 0,
    }));
    (
        MemoryTransport {
            script: Rc::clone(&script),
        },
        MemoryPeer { script },
    )
}

const BUSY: NetError = NetError::State("memory transport state in use");

impl MemoryTransport {
    fn with<R>(&self, f: impl FnOnce(&mut Script) -> Result<R, NetError>) -> Result<R, NetError> {
        let mut script = self.script.try_borrow_mut().map_err(|_| BUSY)?;
        f(&mut script)
    }
}

impl Transport for MemoryTransport {
    fn connect(&mut self) -> Result<(), NetError> {
        self.with(|s| {
            s.attempts += 1;
            s.current = None;
            s.open = false;
            s.inbound.clear();
            match s.next_outcome {
                AttemptOutcome::Refuse => {
                    Err(NetError::Connect(std::io::ErrorKind::ConnectionRefused))
                }
                _ => {
                    s.current = Some(s.attempts);
                    Ok(())
                }
            }
        })
    }

    fn poll_handshake(&mut self) -> Result<HandshakeState, NetError> {
        self.with(|s| {
            if s.current.is_none() {
                return Err(NetError::State("no connection"));
            }
            match s.next_outcome {
                AttemptOutcome::Open | AttemptOutcome::Refuse => {
                    s.open = true;
                    Ok(HandshakeState::Open)
                }
                AttemptOutcome::Hang => Ok(HandshakeState::InProgress),
                AttemptOutcome::Fail(e) => {
                    s.current = None;
                    Err(e)
                }
            }
        })
    }

    fn read_frames(&mut self, mut on_text: impl FnMut(&[u8])) -> Result<ReadReport, NetError> {
        // Take the queue out first: `on_text` runs the engine, which may send (and so borrow).
        let queued = self.with(|s| {
            if !s.open {
                return Err(NetError::State("read_frames before Open or after close"));
            }
            Ok(std::mem::take(&mut s.inbound))
        })?;
        let mut report = ReadReport::default();
        let mut queued = queued.into_iter();
        for item in queued.by_ref() {
            match item {
                Inbound::Text(text) => {
                    report.frames += 1;
                    report.bytes += text.len();
                    on_text(&text);
                }
                Inbound::End(e) => {
                    self.with(|s| {
                        s.open = false;
                        s.current = None;
                        Ok(())
                    })?;
                    return Err(e);
                }
            }
        }
        Ok(report)
    }

    fn send_text(&mut self, text: &[u8]) -> Result<(), NetError> {
        self.with(|s| match (s.open, s.current) {
            (true, Some(connection)) => {
                s.sent.push(Sent {
                    connection,
                    text: String::from_utf8_lossy(text).into_owned(),
                });
                Ok(())
            }
            _ => Err(NetError::State("send_text before Open or after close")),
        })
    }

    fn flush(&mut self) -> Result<FlushState, NetError> {
        self.with(|s| {
            if s.open {
                Ok(FlushState::Done)
            } else {
                Err(NetError::State("flush before Open or after close"))
            }
        })
    }

    fn close(&mut self) {
        let _ = self.with(|s| {
            if s.current.take().is_some() {
                s.closes += 1;
            }
            s.open = false;
            s.inbound.clear();
            Ok(())
        });
    }
}

impl MemoryPeer {
    fn with<R>(&self, f: impl FnOnce(&mut Script) -> R) -> Option<R> {
        self.script.try_borrow_mut().ok().map(|mut s| f(&mut s))
    }

    /// What the next connection attempts do (until changed).
    pub fn set_outcome(&self, outcome: AttemptOutcome) {
        self.with(|s| s.next_outcome = outcome);
    }

    /// Connection attempts so far.
    pub fn attempts(&self) -> u32 {
        self.with(|s| s.attempts).unwrap_or(0)
    }

    /// Connections the engine ended (orderly or abandoned).
    pub fn closes(&self) -> u32 {
        self.with(|s| s.closes).unwrap_or(0)
    }

    /// The connection that is open now, if any.
    pub fn open_connection(&self) -> Option<u32> {
        self.with(|s| s.current.filter(|_| s.open)).flatten()
    }

    /// Queues a text message on the open connection; `false` (and nothing queued) if none is
    /// open.
    pub fn push_text(&self, text: impl AsRef<[u8]>) -> bool {
        self.with(|s| {
            if s.open {
                s.inbound.push_back(Inbound::Text(text.as_ref().to_vec()));
            }
            s.open
        })
        .unwrap_or(false)
    }

    /// Ends the open connection with `error` once the messages queued before it are read.
    pub fn end_connection(&self, error: NetError) {
        self.with(|s| {
            if s.open {
                s.inbound.push_back(Inbound::End(error));
            }
        });
    }

    /// Every message sent so far, in order.
    pub fn sent(&self) -> Vec<Sent> {
        self.with(|s| s.sent.clone()).unwrap_or_default()
    }

    /// The messages sent since the last call, in order.
    pub fn take_sent(&self) -> Vec<Sent> {
        self.with(|s| std::mem::take(&mut s.sent))
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_reach_only_the_connection_they_were_pushed_to() {
        let (mut t, peer) = memory_transport();
        assert!(!peer.push_text("early"));
        t.connect().unwrap();
        assert_eq!(t.poll_handshake(), Ok(HandshakeState::Open));
        assert_eq!(peer.open_connection(), Some(1));
        assert!(peer.push_text("a"));
        assert!(peer.push_text("b"));
        let mut got = Vec::new();
        let report = t.read_frames(|m| got.push(m.to_vec())).unwrap();
        assert_eq!(
            (report.frames, got),
            (2, vec![b"a".to_vec(), b"b".to_vec()])
        );
        t.send_text(b"hello").unwrap();
        peer.push_text("stale");
        t.close();
        t.connect().unwrap();
        t.poll_handshake().unwrap();
        let mut got = 0;
        t.read_frames(|_| got += 1).unwrap();
        assert_eq!(got, 0, "nothing of connection 1 reaches connection 2");
        assert_eq!(
            peer.sent(),
            [Sent {
                connection: 1,
                text: "hello".into()
            }]
        );
        assert_eq!((peer.attempts(), peer.closes()), (2, 1));
    }

    #[test]
    fn attempts_refuse_hang_fail_and_end() {
        let (mut t, peer) = memory_transport();
        peer.set_outcome(AttemptOutcome::Refuse);
        assert!(matches!(t.connect(), Err(NetError::Connect(_))));
        peer.set_outcome(AttemptOutcome::Hang);
        t.connect().unwrap();
        assert_eq!(t.poll_handshake(), Ok(HandshakeState::InProgress));
        peer.set_outcome(AttemptOutcome::Fail(NetError::Eof));
        assert_eq!(t.poll_handshake(), Err(NetError::Eof));
        peer.set_outcome(AttemptOutcome::Open);
        t.connect().unwrap();
        t.poll_handshake().unwrap();
        peer.push_text("x");
        peer.end_connection(NetError::Eof);
        let mut got = 0;
        assert_eq!(t.read_frames(|_| got += 1), Err(NetError::Eof));
        assert_eq!(got, 1);
        assert!(t.send_text(b"late").is_err());
        assert_eq!(peer.attempts(), 3);
    }
}
