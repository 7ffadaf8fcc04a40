//! What an operator sees of each message: one structured event per message served (target
//! [`SERVED`]) and one per fan-out (target [`FAN_OUT`]), with the fields the logs and the
//! metrics need. `mcp-aws` turns both into CloudWatch Embedded Metric Format lines; any other
//! subscriber logs them like other events (`RUST_LOG=mcp::served=info`).

use std::time::Duration;

use std::sync::OnceLock;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::router::{Inbound, ReplyStatus, Transport};
use crate::state::calls::RemoteCalls;
use mcp_protocol::model::Era;

/// The target of the event each message served emits.
pub const SERVED: &str = "mcp::served";
/// The target of the event each fan-out emits.
pub const FAN_OUT: &str = "mcp::fanout";

/// The key principal hashes are made with: the deployment's, once [`key_principal_hashes`]
/// has set it, else one random to this process.
static HASH_KEY: OnceLock<Vec<u8>> = OnceLock::new();

/// Keys the principal hashes of this process with a deployment secret, so that every instance
/// writes the same hash for one principal and nobody without the secret can test a guess
/// (`alice`, an e-mail address) against the logs. Only the first call counts.
pub fn key_principal_hashes(key: Vec<u8>) {
    let _ = HASH_KEY.set(key);
}

/// A principal as logs may name it: the first 8 hex digits of its HMAC-SHA256 under the
/// deployment's key, enough to follow one principal through the logs without writing down
/// who it is.
pub fn principal_hash(principal: &str) -> String {
    let key = HASH_KEY.get_or_init(|| crate::ids::random_id().into_bytes());
    keyed_hash(key, principal)
}

fn keyed_hash(key: &[u8], principal: &str) -> String {
    // HMAC accepts keys of any length.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(principal.as_bytes());
    mac.finalize().into_bytes().iter().take(4).map(|b| format!("{b:02x}")).collect()
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
        method = s.method.map_or("", mcp_protocol::methods::metric_name),
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
    use super::{keyed_hash, principal_hash};
    use sha2::{Digest, Sha256};

    #[test]
    fn a_principal_hash_is_short_stable_and_not_the_principal() {
        assert_eq!(principal_hash("alice"), principal_hash("alice"));
        assert_ne!(principal_hash("alice"), principal_hash("bob"));
        assert_eq!(principal_hash("alice").len(), 8);
        assert!(!principal_hash("alice").contains("alice"));
    }

    #[test]
    fn a_principal_hash_cannot_be_recomputed_without_the_key() {
        // Before, the hash was SHA-256's first four bytes: anyone could hash a guess and
        // look for it in the logs.
        let unkeyed: String = Sha256::digest(b"alice").iter().take(4).map(|b| format!("{b:02x}")).collect();
        assert_ne!(principal_hash("alice"), unkeyed);
        assert_ne!(keyed_hash(b"deployment one", "alice"), keyed_hash(b"deployment two", "alice"));
        assert_eq!(keyed_hash(b"deployment one", "alice"), keyed_hash(b"deployment one", "alice"));
    }
}
