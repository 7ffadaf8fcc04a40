//! The records the stores keep. Each carries its expiry: backends filter expired records on
//! read (DynamoDB's TTL deletion is lazy).

use serde::{Deserialize, Serialize};

use mcp_protocol::jsonrpc::RequestId;
use mcp_protocol::model::{ClientCapabilities, Implementation, LoggingLevel};

/// Where notifications for a subscriber or session go.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "snake_case")]
pub enum DeliveryTarget {
    /// A bus channel that some instance's open stream (SSE, stdio) is subscribed to.
    Channel(String),
    /// A WebSocket connection, reachable from any instance through `@connections`.
    Connection(String),
}

/// A session-era session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SessionRecord {
    pub id: String,
    pub protocol_version: String,
    pub client_capabilities: ClientCapabilities,
    pub client_info: Implementation,
    pub log_level: Option<LoggingLevel>,
    pub initialized: bool,
    pub principal: Option<String>,
    /// The server of the deployment the session was opened with: only that server serves
    /// it. (`None` in records written before servers were named; no server accepts those,
    /// and their clients initialize again.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Where unsolicited messages (GET stream, WebSocket) for this session go.
    pub delivery: DeliveryTarget,
    pub created_at_ms: u64,
    pub expires_at_ms: u64,
}

/// A WebSocket connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    pub id: String,
    pub principal: Option<String>,
    /// The server selected at `$connect`.
    pub server: String,
    pub created_at_ms: u64,
    pub expires_at_ms: u64,
}

/// One row of a topic's subscriber list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscriber {
    /// Unique per subscriber (session id, or listen-stream id).
    pub id: String,
    pub target: DeliveryTarget,
    /// For 2026-07-28 `subscriptions/listen`: the listen request's id, put in every
    /// notification's `_meta`.
    pub subscription_id: Option<RequestId>,
    pub principal: Option<String>,
    pub expires_at_ms: u64,
}
