//! The same-run baseline of `bench/nats_fanout.sh`: the NATS client alone publishing prepared
//! messages (book updates in the bridge's format, bodies encoded before the clock starts; only
//! the `read_ns` digits are stamped in place at publish time) to JetStream with the bridge's
//! pipelining (a window of acknowledgements), paced at `--rate` messages/s or as fast as it
//! goes (`--rate 0`). Prints `{"messages", "seconds", "messages_per_s"}`; run `kspin mirror`
//! beside it for publish → consumer latency.
//!
//! `cargo run --release -p kspin-nats --example nats_baseline -- nats://127.0.0.1:4222 5 0`

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, context::Publish};
use kspin_nats::format::{message_id, subject, Body, BookBody, Kind, Message, FORMAT_VERSION};

/// A 19-digit placeholder for `read_ns` (ns since the epoch have 19 digits until 2286).
const PLACEHOLDER: u64 = 1_000_000_000_000_000_000;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let url = args
        .get(1)
        .cloned()
        .unwrap_or("nats://127.0.0.1:4222".into());
    let seconds: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(5.0);
    let rate: f64 = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let window = 256;
    let symbols = ["BTC/USD", "ETH/USD", "SOL/USD"];
    let epoch = kspin_nats::encoder::unix_ns();
    // Prepared bodies: one update per symbol and sequence, placeholders where read_ns goes.
    let prepare = |i: u64| {
        let symbol = symbols[(i % 3) as usize];
        let seq = i / 3 + 1;
        let m = Message {
            v: FORMAT_VERSION,
            kind: Kind::Book,
            symbol: symbol.into(),
            epoch,
            seq,
            read_ns: PLACEHOLDER,
            time_ns: 0,
            body: Body::Book(BookBody {
                snapshot: false,
                depth: 10,
                price_scale: 1,
                qty_scale: 8,
                bids: vec![[1_000_000 + (i % 50) as i64, 12_345_678]],
                asks: vec![],
                checksum: 0,
                reason: None,
            }),
        };
        let body = m.to_bytes();
        let text = PLACEHOLDER.to_string();
        let at = body
            .windows(text.len())
            .position(|w| w == text.as_bytes())
            .unwrap_or(0);
        (
            subject("bench", Kind::Book, symbol),
            message_id("bench", symbol, epoch, seq),
            body,
            at,
        )
    };
    let total = if rate > 0.0 {
        (rate * seconds) as u64
    } else {
        400_000
    };
    let prepared: Vec<_> = (0..total).map(prepare).collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let (sent, elapsed) = rt.block_on(async move {
        let client = async_nats::connect(url.as_str()).await.expect("connect");
        let js = jetstream::new(client);
        let _ = js
            .get_or_create_stream(jetstream::stream::Config {
                name: "KSPIN".into(),
                subjects: vec!["kspin.>".into()],
                duplicate_window: Duration::from_secs(120),
                storage: jetstream::stream::StorageType::File,
                ..Default::default()
            })
            .await
            .expect("stream");
        let started = Instant::now();
        let deadline = started + Duration::from_secs_f64(seconds);
        let mut sent = 0u64;
        let mut pending = Vec::with_capacity(window);
        for (subject, id, body, at) in prepared {
            if Instant::now() >= deadline {
                break;
            }
            if rate > 0.0 {
                let due = started + Duration::from_secs_f64(sent as f64 / rate);
                if due > Instant::now() {
                    // Idle until due: collect the acknowledgements first (as the bridge does).
                    for ack in pending.drain(..) {
                        let _ = ack.await;
                    }
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        tokio::time::sleep(wait).await;
                    }
                }
            }
            let mut body = body;
            let stamp = kspin_nats::encoder::unix_ns().to_string();
            if stamp.len() == 19 {
                body[at..at + 19].copy_from_slice(stamp.as_bytes());
            }
            let publish = Publish::build().payload(body.into()).message_id(id);
            pending.push(js.send_publish(subject, publish).await.expect("send"));
            sent += 1;
            if pending.len() >= window {
                for ack in pending.drain(..) {
                    let _ = ack.await;
                }
            }
        }
        for ack in pending.drain(..) {
            let _ = ack.await;
        }
        (sent, started.elapsed())
    });
    println!(
        "{{\"messages\":{sent},\"seconds\":{:.3},\"messages_per_s\":{:.0}}}",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64()
    );
}
