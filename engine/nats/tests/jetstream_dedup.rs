//! JetStream de-duplication as the bridge relies on it, against a real `nats-server -js`: a
//! message republished with the same `Nats-Msg-Id` (what the bridge does after a failed
//! acknowledgement) is acknowledged as a duplicate and stored once, also across a server crash
//! and restart on the same store. Skips only when `nats-server` is not installed.

use std::time::Duration;

use async_nats::jetstream::{self, context::Publish};
use kspin_testkit::NatsServer;

fn publish(id: &str, seq: u64) -> Publish {
    Publish::build()
        .payload(format!("{{\"seq\":{seq}}}").into_bytes().into())
        .message_id(id)
}

async fn stream_messages(js: &jetstream::Context) -> u64 {
    let mut s = js.get_stream("DEDUP").await.expect("stream");
    s.info().await.expect("info").state.messages
}

#[test]
fn a_republish_with_the_same_id_is_stored_once_even_across_a_restart() {
    let Some(mut server) = NatsServer::start("dedup") else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let url = server.url();
    let connect = |url: String| async move {
        let client = async_nats::ConnectOptions::new()
            .connection_timeout(Duration::from_secs(5))
            .connect(url.as_str())
            .await
            .expect("connects");
        let js = jetstream::new(client);
        js.get_or_create_stream(jetstream::stream::Config {
            name: "DEDUP".into(),
            subjects: vec!["kspin.>".into()],
            duplicate_window: Duration::from_secs(120),
            storage: jetstream::stream::StorageType::File,
            ..Default::default()
        })
        .await
        .expect("stream");
        js
    };
    let subject = kspin_nats::format::subject("sim", kspin_nats::format::Kind::Book, "BTC/USD");
    let id = kspin_nats::format::message_id("sim", "BTC/USD", 1, 1);
    rt.block_on(async {
        let js = connect(url.clone()).await;
        for expect_duplicate in [false, true] {
            let ack = js
                .send_publish(subject.clone(), publish(&id, 1))
                .await
                .expect("sent")
                .await
                .expect("acknowledged");
            assert_eq!(ack.duplicate, expect_duplicate);
            assert_eq!(ack.sequence, 1);
        }
        assert_eq!(stream_messages(&js).await, 1);
    });
    server.restart();
    rt.block_on(async {
        let js = connect(url.clone()).await;
        let ack = js
            .send_publish(subject.clone(), publish(&id, 1))
            .await
            .expect("sent")
            .await
            .expect("acknowledged");
        assert!(ack.duplicate, "the window survives the restart");
        let next = kspin_nats::format::message_id("sim", "BTC/USD", 1, 2);
        let ack = js
            .send_publish(subject.clone(), publish(&next, 2))
            .await
            .expect("sent")
            .await
            .expect("acknowledged");
        assert_eq!((ack.duplicate, ack.sequence), (false, 2));
        assert_eq!(stream_messages(&js).await, 2);
    });
}
