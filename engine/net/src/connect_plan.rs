//! [`ConnectPlan`]: what every connection attempt to one endpoint needs, prepared once at
//! start-up (the resolved addresses and the TLS client configuration), so that reconnecting
//! performs no DNS lookup and no file read while a cached address remains.
//!
//! Owns the endpoint, the address list and its rotation, and the shared rustls `ClientConfig`.
//! Invariants: attempts rotate through the cached addresses; DNS (which may block) is asked again
//! only after every cached address has failed in a row, and only where the plan lives: a
//! [`crate::WsTransport`] moves its plan to its connector thread, so the engine core never
//! resolves a name. It never opens a socket itself ([`crate::Connection::connect_with`] does).

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use rustls::pki_types::ServerName;
use rustls::ClientConfig;

use super::endpoint::Endpoint;
use super::error::{NetError, TlsFailure};
use super::tls_config::{client_config, TlsSettings};

/// What every connection attempt to one endpoint needs, prepared once: the resolved addresses
/// and the TLS client configuration (trusted roots parsed, extra PEM read). Reconnecting through
/// a plan performs no DNS lookup and no file read while a cached address remains; attempts rotate
/// through the addresses, and DNS is asked again (which may block) only after every cached
/// address has failed in a row.
pub struct ConnectPlan {
    pub(crate) endpoint: Endpoint,
    addrs: Vec<SocketAddr>,
    next: usize,
    failures_in_a_row: usize,
    pub(crate) config: Option<Arc<ClientConfig>>,
    pub(crate) server_name: Option<ServerName<'static>>,
}

impl ConnectPlan {
    /// Resolves the endpoint (may block: call at start-up) and builds the TLS configuration.
    /// A failed resolution is not an error here: the first attempt resolves again.
    pub fn new(endpoint: &Endpoint, tls: &TlsSettings) -> Result<ConnectPlan, NetError> {
        let (config, server_name) = if endpoint.tls {
            let name = tls
                .server_name_override
                .clone()
                .unwrap_or_else(|| endpoint.host.clone());
            let name = ServerName::try_from(name)
                .map_err(|_| NetError::Tls(TlsFailure::Config("invalid server name")))?;
            (Some(client_config(tls)?), Some(name))
        } else {
            (None, None)
        };
        let mut plan = ConnectPlan {
            endpoint: endpoint.clone(),
            addrs: Vec::new(),
            next: 0,
            failures_in_a_row: 0,
            config,
            server_name,
        };
        let _ = plan.resolve();
        Ok(plan)
    }

    fn resolve(&mut self) -> Result<(), NetError> {
        let addrs: Vec<SocketAddr> = (self.endpoint.host.as_str(), self.endpoint.port)
            .to_socket_addrs()
            .map_err(|_| NetError::Resolve)?
            .collect();
        if addrs.is_empty() {
            return Err(NetError::Resolve);
        }
        self.addrs = addrs;
        self.next = 0;
        self.failures_in_a_row = 0;
        Ok(())
    }

    /// The address for the next attempt.
    pub(crate) fn next_addr(&mut self) -> Result<SocketAddr, NetError> {
        if self.addrs.is_empty() || self.failures_in_a_row >= self.addrs.len() {
            self.resolve()?;
        }
        let addr = self.addrs[self.next % self.addrs.len()];
        self.next = self.next.wrapping_add(1);
        Ok(addr)
    }

    /// The last attempt failed before the connection opened (the next one tries another
    /// address; after all of them failed, DNS is asked again).
    pub fn attempt_failed(&mut self) {
        self.failures_in_a_row = self.failures_in_a_row.saturating_add(1);
    }

    /// A connection opened: the current addresses are good.
    pub fn attempt_succeeded(&mut self) {
        self.failures_in_a_row = 0;
    }

    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }
}
