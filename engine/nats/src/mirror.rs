//! The mirror: a remote consumer of the bridge's stream. It reads the JetStream stream through
//! an ordered consumer (which re-creates itself after a reconnect, resuming after the last
//! stream sequence it delivered) and feeds every message to a [`Verifier`], which rebuilds the
//! books, verifies each Kraken checksum and follows each symbol's sequence (gaps heal at the
//! next snapshot, which the bridge publishes at least every `snapshot_interval`; with
//! `ask_snapshots` the mirror asks for one on `kspinctl.<venue>.snapshot.request` as soon as a
//! symbol's book is not trusted, at most every 250 ms per symbol).
//!
//! With a [`MirrorFeed`], every message's outcome also goes to local strategies (hosted as in
//! `kspin run`), and the feed gets a turn at least every millisecond.
//!
//! Owns its own current-thread tokio runtime and connection; `kspin mirror` calls
//! [`run_mirror`] / [`run_mirror_with`]. It stops after `duration`, or, with `drain`, as soon as it has read everything
//! the stream held (nothing pending for its consumer).

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, consumer::pull::OrderedConfig, consumer::DeliverPolicy};
use futures_util::StreamExt;

use crate::encoder::unix_ns;
use std::collections::HashMap;

use crate::format::{filter, snapshot_request_subject, venue_of, Message};
use crate::{MirrorFeed, NatsError, Verifier};

/// What `kspin mirror` was asked for.
#[derive(Debug, Clone)]
pub struct MirrorConfig {
    pub url: String,
    pub stream: String,
    /// Symbols to follow (every symbol when empty).
    pub symbols: Vec<String>,
    /// Stop after this long.
    pub duration: Duration,
    /// Stop as soon as the stream has been read to its end.
    pub drain: bool,
    /// Start at the stream's first message (`true`) or at new messages only.
    pub from_start: bool,
    /// Ask the bridge for a snapshot of a symbol whose book is not trusted (at start, after a
    /// gap or a mismatch) instead of only waiting for the periodic one.
    pub ask_snapshots: bool,
}

/// How often one symbol's snapshot is asked for while its book stays untrusted.
const ASK_EVERY: Duration = Duration::from_millis(250);

/// Runs the mirror on the calling thread; returns the verifier with everything it saw.
pub fn run_mirror(config: &MirrorConfig) -> Result<Verifier, NatsError> {
    run_mirror_with(config, None)
}

/// [`run_mirror`], handing every message's outcome to `feed` (local strategies), which also
/// gets a turn at least every millisecond while no message arrives.
pub fn run_mirror_with(
    config: &MirrorConfig,
    feed: Option<&mut MirrorFeed<'_>>,
) -> Result<Verifier, NatsError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(NatsError::Runtime)?;
    rt.block_on(mirror(config, feed))
}

/// How long the mirror waits for a message before giving local strategies a turn.
const FEED_TURN: Duration = Duration::from_millis(1);

async fn mirror(
    config: &MirrorConfig,
    mut feed: Option<&mut MirrorFeed<'_>>,
) -> Result<Verifier, NatsError> {
    let started = Instant::now();
    let deadline = started + config.duration;
    let client = async_nats::ConnectOptions::new()
        .name("kspin-mirror")
        .connection_timeout(Duration::from_secs(5))
        .reconnect_delay_callback(crate::bridge::reconnect_delay)
        .connect(config.url.as_str())
        .await
        .map_err(|e| NatsError::Connect(e.to_string()))?;
    let js = jetstream::new(client.clone());
    let mut asked: HashMap<String, Instant> = HashMap::new();
    let mut verifier = Verifier::new();
    // The bridge creates the stream; wait for it within the run's time.
    let stream = loop {
        match js.get_stream(&config.stream).await {
            Ok(s) => break s,
            Err(e) if Instant::now() + Duration::from_millis(200) >= deadline => {
                return Err(NatsError::Stream(e.to_string()));
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let one = (config.symbols.len() == 1).then(|| config.symbols[0].as_str());
    let consumer = stream
        .create_consumer(OrderedConfig {
            filter_subject: filter(one),
            deliver_policy: if config.from_start {
                DeliverPolicy::All
            } else {
                DeliverPolicy::New
            },
            ..Default::default()
        })
        .await
        .map_err(|e| NatsError::Stream(e.to_string()))?;
    let mut stream_info = stream;
    let empty = stream_info
        .info()
        .await
        .map(|i| i.state.messages == 0)
        .unwrap_or(false);
    if config.drain && config.from_start && empty {
        return Ok(verifier);
    }
    let mut messages = consumer
        .messages()
        .await
        .map_err(|e| NatsError::Stream(e.to_string()))?;
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        if let Some(feed) = feed.as_deref_mut() {
            if feed.error().is_some() {
                break;
            }
            feed.poll(&verifier);
        }
        let wait = match feed {
            Some(_) => FEED_TURN.min(deadline - now),
            None => deadline - now,
        };
        let next = match tokio::time::timeout(wait, messages.next()).await {
            Err(_) if feed.is_some() => continue,
            Err(_) | Ok(None) => break,
            Ok(Some(next)) => next,
        };
        let Ok(message) = next else {
            // The ordered consumer reports what it recovers from (a reset, missed heartbeats)
            // and goes on.
            continue;
        };
        let pending = message.info().map(|i| i.pending).unwrap_or(1);
        let venue = venue_of(message.subject.as_str()).map(str::to_owned);
        match Message::parse(&message.payload) {
            Some(m) => {
                if config.symbols.is_empty()
                    || config.symbols.contains(&m.symbol)
                    || m.symbol == crate::format::ENGINE_KEY
                {
                    let outcome = verifier.on_message(&m, unix_ns());
                    if let Some(feed) = feed.as_deref_mut() {
                        feed.on_message(&verifier, &m, outcome);
                    }
                    let untrusted = outcome.taken
                        && m.symbol != crate::format::ENGINE_KEY
                        && !verifier.synced(&m.symbol);
                    if config.ask_snapshots && untrusted {
                        let due = asked
                            .get(&m.symbol)
                            .is_none_or(|at| at.elapsed() >= ASK_EVERY);
                        if let (true, Some(venue)) = (due, venue.as_deref()) {
                            asked.insert(m.symbol.clone(), Instant::now());
                            // Fire and forget: the snapshot itself, on the stream, is the answer.
                            let subject = snapshot_request_subject(venue);
                            if client
                                .publish(subject, m.symbol.clone().into())
                                .await
                                .is_ok()
                            {
                                verifier.snapshot_requested(&m.symbol);
                            }
                        }
                    }
                }
            }
            None => verifier.unparsable(),
        }
        if config.drain && pending == 0 {
            break;
        }
    }
    Ok(verifier)
}
