//! What an operator sees of each message: one structured event per message served (target
//! [`SERVED`]) and one per fan-out (target [`FAN_OUT`]), with the fields the logs and the
//! metrics need. `mcp-aws` turns both into CloudWatch Embedded Metric Format lines; any other
//! subscriber logs them like other events (`RUST_LOG=mcp::served=info`).

use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::router::{Inbound, ReplyStatus, Transport};
use crate::state::calls::RemoteCalls;
use mcp_protocol::model::Era;

/// The target of the event each message served emits.
pub const SERVED: &str = "mcp::served";
/// The target of the event each fan-out emits.
pub const FAN_OUT: &str = "mcp::fanout";

/// A principal as logs may name it: the first 8 hex digits of its SHA-256, enough to follow
/// one principal through the logs without writing down who it is.
pub fn principal_hash(principal: &str) -> String {
    let digest = Sha256::digest(principal.as_bytes());
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// What one message was and cost.
pub(crate) struct Served<'a> {
    pub method: Option<&'a str>,
    pub era: Option<Era>,
    pub status: ReplyStatus,
    pub error_code: Option<i32>,
    pub calls: RemoteCalls,
    pub latency: Duration,
    /// The caller's trace (`_meta.traceparent`), to find the message in its trace.
    pub trace_id: Option<&'a str>,
}

pub(crate) fn served(inbound: &Inbound, s: &Served<'_>) {
    let transport = match inbound.transport {
        Transport::Http => "http",
        Transport::WebSocket => "websocket",
        Transport::Stdio => "stdio",
    };
    let era = match s.era {
        Some(Era::Stateless) => "2026-07-28",
        Some(Era::Session) => "session",
        None => "",
    };
    tracing::info!(
        target: SERVED,
        method = s.method.unwrap_or(""),
        era,
        transport,
        session = inbound.session_id.as_deref().unwrap_or(""),
        principal_hash = inbound.principal.as_deref().map(principal_hash).unwrap_or_default(),
        status = ?s.status,
        error_code = s.error_code.map_or(0, i64::from),
        latency_us = s.latency.as_micros() as u64,
        dynamodb_calls = u64::from(s.calls.dynamodb),
        redis_calls = u64::from(s.calls.redis),
        trace_id = s.trace_id.unwrap_or(""),
        "served"
    );
}

pub(crate) fn fanned_out(topic: &str, subscribers: usize, reached: usize, took: Duration) {
    tracing::info!(
        target: FAN_OUT,
        topic,
        fanout_size = subscribers as u64,
        reached = reached as u64,
        latency_us = took.as_micros() as u64,
        "fanned out"
    );
}

#[cfg(test)]
mod tests {
    use super::principal_hash;

    #[test]
    fn a_principal_hash_is_short_stable_and_not_the_principal() {
        assert_eq!(principal_hash("alice"), principal_hash("alice"));
        assert_ne!(principal_hash("alice"), principal_hash("bob"));
        assert_eq!(principal_hash("alice").len(), 8);
        assert!(!principal_hash("alice").contains("alice"));
    }
}
