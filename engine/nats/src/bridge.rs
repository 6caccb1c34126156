//! The bridge thread: reads the bus's tap lane (an SPSC ring like a strategy's) and the tap's
//! order ring (a copy of every order update the strategies get: fills and order state changes),
//! turns what the engine verified into messages ([`Encoder`]) and publishes them to JetStream with the official
//! `async-nats` client on the thread's own current-thread tokio runtime.
//!
//! The engine core never touches NATS and never waits for it: when NATS is slow or down this
//! thread falls behind, the bus conflates the tap's lane (dropping and counting deltas) and
//! hands it a fresh catch-up snapshot once there is room, which the bridge publishes as a
//! snapshot. Publishing is pipelined (a batch of up to `max_in_flight` messages is sent, then
//! its acknowledgements awaited in order). While the client is disconnected nothing is handed
//! to it (it would buffer and flush it after the reconnect). A message whose acknowledgement
//! fails is republished
//! with the same `Nats-Msg-Id` (JetStream de-duplicates it if the first copy was stored) until
//! `give_up_after` has passed for its batch; then it is counted lost and its symbol owes a
//! snapshot, so a consumer sees a gap followed by a snapshot that heals it. A symbol whose
//! message needed a retry also owes one (its messages may now be out of order in the stream).
//! Every `snapshot_interval` each verified book is published again as a snapshot, so late
//! joiners and consumers that lost messages heal within that interval; a consumer that cannot
//! wait asks for one on `kspinctl.<venue>.snapshot.request` (the symbol's name as the body) and
//! the symbol's next message is a snapshot.
//!
//! Owns the NATS connection, the runtime and the encoder. Allocates and formats freely (it is
//! not the engine core). At stop it drains the ring for at most `2 × give_up_after`, then counts
//! what it could not publish.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, context::PublishErrorKind};
use kspin_api::{OrderMessage, OrderRequest, SymbolInfo};
use kspin_host::TapEnds;

use futures_util::{FutureExt, StreamExt};

use crate::encoder::{unix_ns, EncoderCounters, Outgoing};
use crate::format::snapshot_request_subject;
use crate::{Encoder, NatsError};

/// How the bridge connects and publishes (`[nats]` in the configuration).
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// `nats://host:port`.
    pub url: String,
    /// The subjects' venue token (`kspin.<venue>....`).
    pub venue: String,
    /// JetStream stream holding `kspin.>`; created when missing.
    pub stream: String,
    /// Republish every verified book as a snapshot this often (zero: never).
    pub snapshot_interval: Duration,
    /// How long a batch's failed messages are retried before they count as lost.
    pub give_up_after: Duration,
    /// How long to wait for one acknowledgement.
    pub ack_timeout: Duration,
    /// Messages sent before their acknowledgements are awaited.
    pub max_in_flight: usize,
    /// Retention of the stream when the bridge creates it.
    pub max_age: Duration,
    /// Size limit of the stream when the bridge creates it (oldest messages discarded).
    pub max_bytes: i64,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            url: "nats://127.0.0.1:4222".into(),
            venue: "sim".into(),
            stream: "KSPIN".into(),
            snapshot_interval: Duration::from_secs(1),
            give_up_after: Duration::from_secs(2),
            ack_timeout: Duration::from_secs(1),
            max_in_flight: 256,
            max_age: Duration::from_secs(3600),
            max_bytes: 1 << 30,
        }
    }
}

/// What the bridge did, for the run summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BridgeReport {
    /// Messages encoded and handed to NATS (first attempts).
    pub published: u64,
    /// Messages JetStream acknowledged (once each, a duplicate acknowledgement included).
    pub stored: u64,
    /// Acknowledgements that said the message was already stored (a republish de-duplicated).
    pub duplicates: u64,
    /// Republish attempts.
    pub retries: u64,
    /// Messages given up on (their symbols owed a snapshot).
    pub lost: u64,
    /// Messages never sent because the bridge stopped first.
    pub unsent_at_stop: u64,
    /// Fresh snapshots asked of the engine after the bridge's replica diverged.
    pub resnapshot_requests: u64,
    /// Times the stream had to be looked up or created.
    pub stream_setups: u64,
    /// Consumers' snapshot requests for a symbol this bridge carries (each answered by a
    /// snapshot).
    pub snapshot_requests: u64,
    pub encoder: EncoderCounters,
    /// The fill ids published, in order (the first [`crate::verify::FILL_IDS_KEPT`]).
    pub fill_ids: Vec<String>,
}

impl BridgeReport {
    /// The `nats` object of `kspin run --json`.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "published": self.published,
            "stored": self.stored,
            "duplicates": self.duplicates,
            "retries": self.retries,
            "lost": self.lost,
            "unsent_at_stop": self.unsent_at_stop,
            "resnapshot_requests": self.resnapshot_requests,
            "stream_setups": self.stream_setups,
            "snapshot_requests": self.snapshot_requests,
            "snapshots": self.encoder.snapshots,
            "updates": self.encoder.updates,
            "trades": self.encoder.trades,
            "tickers": self.encoder.tickers,
            "statuses": self.encoder.statuses,
            "diverged": self.encoder.diverged,
            "wire_events": self.encoder.wire_events,
            "fills": self.encoder.fills,
            "fill_ids": self.fill_ids,
            "order_updates": self.encoder.order_updates,
        })
    }
}

/// A running bridge thread.
#[derive(Debug)]
pub struct RunningBridge {
    thread: JoinHandle<Result<BridgeReport, NatsError>>,
}

impl RunningBridge {
    /// Waits for the thread (set its stop flag first, after the engine core stopped).
    pub fn join(self) -> Result<BridgeReport, NatsError> {
        self.thread.join().map_err(|_| NatsError::Panicked)?
    }
}

/// Starts the bridge thread on `tap` (from `Bus::add_tap`) for the bus's `symbols`. It connects
/// in the background: the engine starts whether or not NATS is up.
pub fn spawn_bridge(
    config: BridgeConfig,
    symbols: Vec<SymbolInfo>,
    tap: TapEnds,
    stop: Arc<AtomicBool>,
) -> Result<RunningBridge, NatsError> {
    let thread = std::thread::Builder::new()
        .name("kspin-nats".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(NatsError::Runtime)?;
            rt.block_on(run(config, symbols, tap, stop))
        })
        .map_err(NatsError::Spawn)?;
    Ok(RunningBridge { thread })
}

/// The reconnect delay after `attempts` failed attempts: quick at first, at most one second
/// (a loopback or LAN server restarts in well under that).
pub(crate) fn reconnect_delay(attempts: usize) -> Duration {
    Duration::from_millis((50 * attempts as u64).min(1000))
}

struct Publisher {
    client: async_nats::Client,
    js: jetstream::Context,
    config: BridgeConfig,
    stream_ready: bool,
    next_stream_try: Instant,
    report: BridgeReport,
}

impl Publisher {
    async fn ensure_stream(&mut self) {
        if self.stream_ready || Instant::now() < self.next_stream_try {
            return;
        }
        self.report.stream_setups += 1;
        let cfg = jetstream::stream::Config {
            name: self.config.stream.clone(),
            subjects: vec![format!("{}.>", crate::format::SUBJECT_ROOT)],
            max_age: self.config.max_age,
            max_bytes: self.config.max_bytes,
            duplicate_window: Duration::from_secs(120),
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        };
        let attempt = tokio::time::timeout(self.config.ack_timeout, async {
            self.js.get_or_create_stream(cfg).await
        })
        .await;
        match attempt {
            Ok(Ok(_)) => self.stream_ready = true,
            _ => self.next_stream_try = Instant::now() + Duration::from_millis(200),
        }
    }

    fn connected(&self) -> bool {
        self.client.connection_state() == async_nats::connection::State::Connected
    }

    async fn send_once(&mut self, m: &Outgoing) -> Result<jetstream::publish::PublishAck, bool> {
        if !self.connected() {
            return Err(false);
        }
        let publish = jetstream::context::Publish::build()
            .payload(m.body.clone().into())
            .message_id(m.id.as_str());
        let sent = self.js.send_publish(m.subject.clone(), publish).await;
        let ack = match sent {
            Ok(future) => future.await,
            Err(e) => Err(e),
        };
        ack.map_err(|e| e.kind() == PublishErrorKind::StreamNotFound)
    }

    /// Publishes `out` (pipelined), retrying failures until the batch's deadline.
    async fn publish_batch(&mut self, out: &mut Vec<Outgoing>, encoder: &mut Encoder) {
        let deadline = Instant::now() + self.config.give_up_after;
        let mut pending = Vec::with_capacity(out.len());
        for m in out.iter() {
            self.report.published += 1;
            // Disconnected: nothing is handed to the client (it would buffer it and flush it
            // after the reconnect, behind what the lane delivers meanwhile); the message is
            // retried until the deadline like any failure.
            if !self.connected() {
                pending.push(None);
                continue;
            }
            let publish = jetstream::context::Publish::build()
                .payload(m.body.clone().into())
                .message_id(m.id.as_str());
            pending.push(Some(self.js.send_publish(m.subject.clone(), publish).await));
        }
        for (m, sent) in out.drain(..).zip(pending) {
            let mut result = match sent {
                Some(Ok(future)) => future
                    .await
                    .map_err(|e| e.kind() == PublishErrorKind::StreamNotFound),
                Some(Err(e)) => Err(e.kind() == PublishErrorKind::StreamNotFound),
                None => Err(false),
            };
            loop {
                match result {
                    Ok(ack) => {
                        self.report.stored += 1;
                        self.report.duplicates += u64::from(ack.duplicate);
                        break;
                    }
                    Err(no_stream) => {
                        if let Some(s) = m.symbol {
                            encoder.owe_snapshot(s);
                        }
                        if no_stream {
                            self.stream_ready = false;
                        }
                        if Instant::now() >= deadline {
                            self.report.lost += 1;
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        self.ensure_stream().await;
                        self.report.retries += 1;
                        result = self.send_once(&m).await;
                    }
                }
            }
        }
    }
}

async fn run(
    config: BridgeConfig,
    symbols: Vec<SymbolInfo>,
    tap: TapEnds,
    stop: Arc<AtomicBool>,
) -> Result<BridgeReport, NatsError> {
    let TapEnds {
        mut events,
        mut intents,
        mut orders,
        strategies,
        ..
    } = tap;
    let client = async_nats::ConnectOptions::new()
        .name("kspin-bridge")
        .retry_on_initial_connect()
        .reconnect_delay_callback(reconnect_delay)
        .connect(config.url.as_str())
        .await
        .map_err(|e| NatsError::Connect(e.to_string()))?;
    // Queued until connected, like everything else; re-subscribed by the client on reconnect.
    let mut requests = client
        .subscribe(snapshot_request_subject(&config.venue))
        .await
        .map_err(|e| NatsError::Connect(e.to_string()))?;
    let mut js = jetstream::new(client.clone());
    js.set_timeout(config.ack_timeout);
    let clock = quanta::Clock::new();
    let mut encoder = Encoder::new(&config.venue, unix_ns(), &symbols, clock.clone());
    encoder.set_strategies(strategies);
    let mut publisher = Publisher {
        client: client.clone(),
        js,
        stream_ready: false,
        next_stream_try: Instant::now(),
        report: BridgeReport::default(),
        config,
    };
    let batch = publisher.config.max_in_flight.max(1);
    let interval = publisher.config.snapshot_interval;
    let mut next_periodic = Instant::now() + interval;
    let mut owed_resnapshots: Vec<kspin_api::SymbolId> = Vec::new();
    let mut out: Vec<Outgoing> = Vec::with_capacity(batch + symbols.len());
    let mut stop_deadline: Option<Instant> = None;
    loop {
        while out.len() < batch {
            let Some(order) = orders.try_pop() else { break };
            encoder.on_order(&order, &mut out);
        }
        while out.len() < batch {
            let Some(wire) = events.try_pop() else { break };
            if let Some(symbol) = encoder.on_wire(&wire, &mut out) {
                owed_resnapshots.push(symbol);
            }
        }
        while let Some(Some(request)) = requests.next().now_or_never() {
            let name = String::from_utf8_lossy(&request.payload);
            if encoder.request_snapshot(name.trim()) {
                publisher.report.snapshot_requests += 1;
                if let Some(reply) = request.reply {
                    let _ = client.publish(reply, "ok".into()).await;
                }
            }
        }
        owed_resnapshots.retain(|&symbol| {
            let request = OrderMessage::new(clock.raw(), OrderRequest::Resnapshot { symbol });
            let sent = intents.try_push(request).is_ok();
            publisher.report.resnapshot_requests += u64::from(sent);
            !sent
        });
        let periodic = !interval.is_zero() && Instant::now() >= next_periodic;
        if periodic {
            next_periodic = Instant::now() + interval;
            encoder.owe_all_snapshots();
        }
        let reason = if periodic { "periodic" } else { "recovery" };
        encoder.pay_snapshot_debts(reason, clock.raw(), &mut out);

        if stop_deadline.is_none() && stop.load(Ordering::Acquire) {
            stop_deadline = Some(Instant::now() + 2 * publisher.config.give_up_after);
        }
        if let Some(deadline) = stop_deadline {
            if Instant::now() >= deadline {
                publisher.report.unsent_at_stop += out.len() as u64;
                while events.try_pop().is_some() || orders.try_pop().is_some() {
                    publisher.report.unsent_at_stop += 1;
                }
                break;
            }
        }
        if out.is_empty() {
            if stop_deadline.is_some() && events.is_empty() && orders.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_micros(200)).await;
            continue;
        }
        publisher.ensure_stream().await;
        publisher.publish_batch(&mut out, &mut encoder).await;
    }
    let _ = tokio::time::timeout(publisher.config.ack_timeout, client.flush()).await;
    publisher.report.encoder = encoder.counters();
    publisher.report.fill_ids = encoder.take_fill_ids();
    Ok(publisher.report)
}
