//! The engine's families of the exposition: the connections (state, connects, disconnects by
//! cause, bytes, frames), the engine core's counters and latency histogram, and the host checks.
//!
//! Owns those names, help texts and labels. Invariants: those of [`super`] (`kspin_` names,
//! `_total` counters, latency in seconds).

use super::*;

pub(super) fn encode_connections(enc: &mut Families, s: &Snapshot) {
    let per = |f: fn(&crate::model::ConnectionView) -> u64| -> Vec<(Labels, u64)> {
        s.connections
            .iter()
            .map(|c| (labels(&[("connection", &c.name)]), f(c)))
            .collect()
    };
    gauge(
        enc,
        "kspin_connection_up",
        "1 while the connection is open and usable (market data streaming; trading ready).",
        &s.connections
            .iter()
            .map(|c| (labels(&[("connection", &c.name)]), c.up.into()))
            .collect::<Vec<_>>(),
    );
    gauge(
        enc,
        "kspin_connection_state",
        "1 for the connection's current state (waiting, connecting, streaming, stopped; trading: fetching_token, reconciling, ready).",
        &s.connections
            .iter()
            .map(|c| {
                (
                    labels(&[("connection", &c.name), ("state", &c.state)]),
                    1u64.into(),
                )
            })
            .collect::<Vec<_>>(),
    );
    counter(
        enc,
        "kspin_connection_connects",
        "Connections opened.",
        &per(|c| c.connects),
    );
    counter(
        enc,
        "kspin_connection_connect_failures",
        "Connection attempts that failed before the connection opened.",
        &per(|c| c.connect_failures),
    );
    counter(
        enc,
        "kspin_connection_disconnects",
        "Open connections that ended.",
        &per(|c| c.disconnects),
    );
    counter(
        enc,
        "kspin_connection_disconnects_by_cause",
        "Open connections that ended, by cause (stall, resync_timeout, subscribe_refused; dropped: the venue closed or a read, write, TLS or WebSocket error).",
        &s.connections
            .iter()
            .flat_map(|c| {
                c.disconnects_by_cause.iter().map(move |(cause, n)| {
                    (labels(&[("connection", &c.name), ("cause", cause)]), *n)
                })
            })
            .collect::<Vec<_>>(),
    );
    counter(
        enc,
        "kspin_connection_reconnects",
        "Connection attempts after the first.",
        &per(|c| c.reconnects),
    );
    counter(
        enc,
        "kspin_connection_frames",
        "WebSocket frames received.",
        &per(|c| c.frames),
    );
    counter(
        enc,
        "kspin_connection_received_bytes",
        "Bytes read from the socket.",
        &s.connections
            .iter()
            .filter_map(|c| {
                c.bytes_read
                    .map(|b| (labels(&[("connection", &c.name)]), b))
            })
            .collect::<Vec<_>>(),
    );
    counter(
        enc,
        "kspin_connection_pings_sent",
        "Application-level pings sent.",
        &per(|c| c.pings_sent),
    )
}

pub(super) fn encode_engine(enc: &mut Families, s: &Snapshot) {
    let e = &s.engine;
    let none = Labels::new;
    let one = |v: u64| [(none(), v)];
    counter(
        enc,
        "kspin_engine_book_messages",
        "Book messages applied, all symbols.",
        &one(e.book_messages),
    );
    counter(
        enc,
        "kspin_engine_checksum_ok",
        "Book checksums that matched, all symbols.",
        &one(e.checksum_ok),
    );
    counter(
        enc,
        "kspin_engine_checksum_mismatch",
        "Book checksums that did not match, all symbols.",
        &one(e.checksum_mismatch),
    );
    counter(
        enc,
        "kspin_engine_resyncs",
        "Book resyncs, all symbols.",
        &one(e.resyncs),
    );
    counter(
        enc,
        "kspin_engine_trades",
        "Trades received, all symbols.",
        &one(e.trades),
    );
    counter(
        enc,
        "kspin_engine_tickers",
        "Tickers received, all symbols.",
        &one(e.tickers),
    );
    counter(
        enc,
        "kspin_engine_heartbeats",
        "Heartbeats received.",
        &one(e.heartbeats),
    );
    counter(
        enc,
        "kspin_engine_error_acks",
        "Subscription requests the venue refused.",
        &one(e.error_acks),
    );
    counter(
        enc,
        "kspin_engine_dropped_not_live",
        "Book updates dropped while their book was not live (resyncing, awaiting a snapshot).",
        &one(e.dropped_not_live),
    );
    counter(
        enc,
        "kspin_engine_resync_timeouts",
        "Reconnects forced because a book stayed resyncing too long.",
        &one(e.resync_timeouts),
    );
    counter(
        enc,
        "kspin_engine_requests_dropped",
        "Requests (resyncs) dropped on a full request queue.",
        &one(e.requests_dropped),
    );
    counter(
        enc,
        "kspin_engine_loops",
        "Iterations of the engine core's busy loop.",
        &one(e.loops),
    );
    let mut decode: Vec<(Labels, u64)> = e
        .decode_errors_by_kind
        .iter()
        .map(|(k, n)| (labels(&[("kind", k)]), *n))
        .collect();
    if decode.is_empty() {
        decode.push((labels(&[("kind", "any")]), 0));
    }
    counter(
        enc,
        "kspin_engine_decode_errors",
        "Frames that did not decode, by kind.",
        &decode,
    );
    let mut rejected: Vec<(Labels, u64)> = e
        .rejected_by_reason
        .iter()
        .map(|(k, n)| (labels(&[("reason", k)]), *n))
        .collect();
    if rejected.is_empty() {
        rejected.push((labels(&[("reason", "any")]), 0));
    }
    counter(
        enc,
        "kspin_engine_rejected_messages",
        "Messages the feed rejected, by reason.",
        &rejected,
    );
    gauge(
        enc,
        "kspin_engine_books_live",
        "Books live (verified and streaming).",
        &[(none(), e.books_live.into())],
    );
    gauge(
        enc,
        "kspin_engine_books_resyncing",
        "Books resyncing or awaiting their snapshot.",
        &[(none(), e.books_resyncing.into())],
    );
    gauge(
        enc,
        "kspin_engine_books_subscribed",
        "Symbols subscribed.",
        &[(none(), e.subscribed.into())],
    );
    gauge(
        enc,
        "kspin_engine_frames_per_second",
        "Frames per second over the last stats interval.",
        &[(none(), e.frames_per_s.into())],
    );
    histogram(
        enc,
        "kspin_engine_latency_seconds",
        "Internal latency of every frame: read → decoded, applied, checksum-checked and published to the strategies' rings.",
        &[(none(), &s.latency.read_to_published)],
    );
    let last = &s.latency.last;
    gauge(
        enc,
        "kspin_engine_latency_last_interval_seconds",
        "Internal latency over the last stats interval: its p50, p99 and max.",
        &[
            (
                labels(&[("stat", "p50")]),
                (last.p50_ns as f64 / 1e9).into(),
            ),
            (
                labels(&[("stat", "p99")]),
                (last.p99_ns as f64 / 1e9).into(),
            ),
            (
                labels(&[("stat", "max")]),
                (last.max_ns as f64 / 1e9).into(),
            ),
        ],
    );
    counter(
        enc,
        "kspin_telemetry_dropped",
        "Telemetry records the engine core dropped because the metrics thread was slow (books, trades, lanes, trading; stages: frames left out of the latency figures).",
        &[
            (labels(&[("ring", "books")]), s.taps_dropped.books),
            (labels(&[("ring", "trades")]), s.taps_dropped.trades),
            (labels(&[("ring", "lanes")]), s.taps_dropped.lanes),
            (labels(&[("ring", "trading")]), s.taps_dropped.trading),
            (labels(&[("ring", "stages")]), s.taps_dropped.stages),
        ],
    )
}

pub(super) fn encode_host(enc: &mut Families, s: &Snapshot) {
    let code = |v: &str| match v {
        "ok" => 0u64,
        "warn" => 1,
        "fail" => 2,
        _ => 3,
    };
    gauge(
        enc,
        "kspin_host_check",
        "kspin tune check's verdict per item at start-up: 0 ok, 1 warn, 2 fail, 3 unknown.",
        &s.host_checks
            .iter()
            .map(|c| (labels(&[("check", &c.id)]), code(&c.verdict).into()))
            .collect::<Vec<_>>(),
    );
    let count = |v: &str| s.host_checks.iter().filter(|c| c.verdict == v).count() as u64;
    gauge(
        enc,
        "kspin_host_checks",
        "kspin tune check's items per verdict at start-up.",
        &["ok", "warn", "fail", "unknown"]
            .iter()
            .map(|v| (labels(&[("verdict", v)]), count(v).into()))
            .collect::<Vec<_>>(),
    )
}
