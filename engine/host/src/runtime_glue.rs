//! The bus as the engine core's [`Publisher`]: the frame's receive stamp, the per-iteration
//! service turn (lag catch-up, then intents), and link changes as connection events.
//!
//! Owns nothing; it only maps the runtime's hooks onto [`Bus`] calls. Never allocates.

use kspin_api::{ConnectionStatus, Link, LinkState, SystemStatus};

use super::publish::Bus;
use kspin_core::feed::Feed;
use kspin_runtime::Publisher;

impl Publisher for Bus {
    #[inline]
    fn on_frame(&mut self, recv_tsc: u64, _payload: &[u8]) {
        self.set_frame_tsc(recv_tsc);
    }

    #[inline]
    fn service(&mut self, feed: &Feed) {
        Bus::service(self, feed);
        self.drain_intents(feed);
    }

    fn link(&mut self, up: bool) {
        self.publish_connection(ConnectionStatus {
            link: Link::Public,
            state: if up {
                LinkState::Connected
            } else {
                LinkState::Disconnected
            },
            system: SystemStatus::Unknown,
        });
    }
}
