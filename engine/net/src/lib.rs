//! kspin-net: the engine's exchange connection: non-blocking TCP (mio) → TLS 1.3 → WebSocket,
//! busy-polled from the engine core with no blocking, no locks and no allocation once open, behind
//! the [`Transport`] trait the runtime drives ([`WsTransport`] for real, [`memory`] in tests).
//!
//! Owns everything between the socket and complete text messages: [`Connection`] (socket, TLS
//! session, WebSocket codec, preallocated buffers), the URL parser ([`Endpoint`]), the trust
//! configuration ([`TlsSettings`]) and the error type ([`NetError`]). It never parses JSON, never
//! reconnects (the runtime does, on any `Err`), never sleeps and exposes nothing that waits.
//!
//! # Calling it
//! The engine core uses [`WsTransport`]: `connect` asks its connector thread for a connection
//! (name resolution, TCP connect, TLS handshake and WebSocket upgrade all run there, in buffers
//! recycled from the previous connection) → `poll_handshake` until `Open` (the runtime's timers
//! bound it) → busy loop of `read_frames(|payload| ..)`, `send_text` + `flush`. Any `Err` ends the
//! connection; `close()` is best effort and gives the connection back to the connector. Across a
//! reconnect the core's thread allocates, frees and resolves nothing
//! (`tests/net_reconnect_alloc.rs`). `Connection::connect` does everything on the calling thread
//! (DNS may block): start-up tools and tests.
//!
//! # Trust
//! Certificates are always verified (rustls + webpki). The real endpoint uses the Mozilla roots
//! from `webpki-roots`; the simulator is trusted by adding its self-signed certificate as an
//! extra root (`TlsSettings::extra_root_pem`, PEM text or a file path), with
//! `server_name_override` when connecting by IP. There is no switch that disables verification.
//!
//! # Why these APIs (measured, then chosen — developer guide: "a different API of the same
//! library, or a small well-tested component of our own, with the reason written down")
//! - **TLS.** rustls 0.23's buffered `ClientConnection` allocates one `Vec` per received record
//!   (`received_plaintext` is a queue of `Vec<u8>`) and one per sent record. The unbuffered API
//!   (`UnbufferedClientConnection::process_tls_records`) works in caller buffers during the
//!   handshake, but its `ReadTraffic::next_record` still pops a `Vec` per record (0.23.46:
//!   `take_received_plaintext(payload.into_vec())`; in-place decryption is a TODO in rustls).
//!   So we use the unbuffered API for the handshake only, then
//!   `dangerous_into_kernel_connection()` (rustls's kTLS hand-over) and protect records ourselves
//!   with `ring` AEADs, in place (`tls_record.rs` — RFC 8446 §5.2, TLS 1.3 only; rustls's
//!   `KernelConnection` still processes session tickets and key updates). Result:
//!   `engine/net/tests/net_zero_alloc.rs` counts **0 allocations over 100 000 frames** through TLS
//!   (and plain), receive and send, with a per-thread counting `#[global_allocator]`.
//!   TLS 1.2 is therefore not offered; Kraken's endpoint speaks TLS 1.3.
//! - **WebSocket.** tungstenite's `WebSocket` owns a `BytesMut` read buffer and returns owned
//!   `Message`s (an allocation per message; a large read buffer is also zero-filled per read).
//!   We use tungstenite for the upgrade (request generation, response parsing, accept key) and for
//!   the frame header codec (`FrameHeader::parse`/`format`, allocation-free on slices); payloads,
//!   masking (xorshift64* keys, no syscall per frame), fragmentation and control frames are
//!   handled in `ws_decoder.rs` / `ws_encoder.rs` over our bounded buffers. A frame that lies whole inside one TLS
//!   record (or one plain read) is handed to `on_text` without any copy.
//! - **Readiness.** No `mio::Poll` by default: the busy loop calls `read` directly. Measured
//!   (`bench/benches/net_idle.rs`, 2-core shared VM, loopback, p50 per call): an idle `read`
//!   returning WouldBlock costs 155–159 ns, a zero-timeout `Poll::poll` (`epoll_wait`) 109–111 ns
//!   (0.70×), an idle `read_frames` 186–187 ns. Polling first is cheaper while idle, but when data
//!   arrives it adds a whole syscall (~110 ns) before the read, while direct reads only lengthen
//!   the idle loop by ~45 ns (≈ 23 ns of extra detection delay on average). Latency on arrival is
//!   what we optimise, so one socket is read directly. A runtime watching several idle sockets can
//!   instead `register` them on one `Poll` and read the ready ones. `read_frames` also stops
//!   after a short read (the kernel buffer was empty at that instant), saving the WouldBlock
//!   syscall whenever data arrived. Figures: `bench/results/net.md`.
//!
//! # Policies
//! Binary frames are a protocol error (Kraken sends text only). Text is not UTF-8-validated here
//! (the JSON decoder rejects bad input). Pings are answered during `read_frames`; a server close
//! is echoed and reported as `Err(Closed { code })`; TCP EOF is `Eof` (plain, or after TLS
//! close_notify) or `TlsNoCloseNotify` (TLS without close_notify: possible truncation). Every end
//! says goodbye as RFC 8446 §6 asks: the matching fatal alert after a TLS failure (bad_record_mac,
//! decode_error, unexpected_message, ...; nothing after the peer's own fatal alert), close_notify
//! after every orderly end (ours, the peer's close, EOF), a WebSocket close 1002 / 1009 first
//! after a protocol error or an oversized frame.

#![forbid(unsafe_code)]

mod buffers;
mod byte_queue;
mod connect_plan;
mod connection;
mod connector;
mod endpoint;
mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub mod memory;
mod pump;
mod tls_config;
mod tls_record;
mod transport;
mod ws_decoder;
mod ws_encoder;
mod ws_handshake;

pub use buffers::ConnectionBuffers;
pub use connect_plan::ConnectPlan;
pub use connection::{ConnLimits, Connection, FlushState, HandshakeState, ReadReport};
pub use endpoint::Endpoint;
pub use error::{alert, HandshakeFailure, NetError, TlsFailure};
pub use tls_config::TlsSettings;
pub use tls_record::TlsCounters;
pub use transport::{Transport, WsTransport};
