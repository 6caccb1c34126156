//! The bus as the engine core's [`Publisher`]: the frame's receive stamp, the per-iteration
//! service turn (lag catch-up, then intents for the paper model), link changes as connection
//! events, and — when orders go to a venue ([`Bus::set_orders_live`]) — the strategies' orders
//! handed to the order path and the venue's updates handed back.
//!
//! Owns nothing; it only maps the runtime's hooks onto [`Bus`] calls. Never allocates.

use kspin_api::{ConnectionStatus, Link, LinkState, OrderMessage, OrderUpdate, SystemStatus};

use super::publish::{Bus, IntentRoute};
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
        if !self.orders_live() {
            self.drain_intents(feed);
        }
    }

    #[inline]
    fn take_orders(&mut self, feed: &Feed, take: &mut dyn FnMut(usize, &OrderMessage)) {
        self.drain_intents_with(feed, |strategy, message| {
            take(strategy, message);
            IntentRoute::Taken
        });
    }

    #[inline]
    fn order_update(&mut self, strategy: usize, update: OrderUpdate) -> bool {
        self.publish_order_update(strategy, update)
    }

    fn telemetry(&mut self, _feed: &Feed) {
        self.publish_taps();
    }

    fn order_link(&mut self, ready: bool) {
        self.publish_connection(ConnectionStatus {
            link: Link::Private,
            state: if ready {
                LinkState::Connected
            } else {
                LinkState::Disconnected
            },
            system: SystemStatus::Unknown,
        });
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
