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
    /// The session id: random over HTTP (`Mcp-Session-Id`), the connection's id over WebSocket,
    /// the process's one session on stdio.
    pub id: String,
    /// The protocol version agreed at `initialize`.
    pub protocol_version: String,
    /// What the client declared at `initialize`; input requests are checked against it.
    pub client_capabilities: ClientCapabilities,
    /// The client's `clientInfo` from `initialize`.
    pub client_info: Implementation,
    /// The level set by `logging/setLevel`; `None` until then, which sends every level.
    pub log_level: Option<LoggingLevel>,
    /// Whether `notifications/initialized` has arrived.
    pub initialized: bool,
    /// The principal that opened the session: messages of any other are not served in it.
    pub principal: Option<String>,
    /// The server of the deployment the session was opened with: only that server serves
    /// it. (`None` in records written before servers were named; no server accepts those,
    /// and their clients initialize again.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    /// Where unsolicited messages (GET stream, WebSocket) for this session go.
    pub delivery: DeliveryTarget,
    /// When the session was created: with its id, it names this incarnation (a re-initialize
    /// on a WebSocket connection makes a new session under the same id).
    pub created_at_ms: u64,
    /// When the session lapses: its lifetime, cut to the credential's expiry.
    pub expires_at_ms: u64,
}

/// A WebSocket connection.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRecord {
    /// The API Gateway connection id.
    pub id: String,
    /// The principal the `$connect` authorizer admitted, if the deployment authenticates.
    pub principal: Option<String>,
    /// The server selected at `$connect`.
    pub server: String,
    /// When the connection was made (`$connect`).
    pub created_at_ms: u64,
    /// When the connection's lifetime ends: its token's expiry or API Gateway's 2 hours, whichever
    /// comes first; set to now when its cleanup starts.
    pub expires_at_ms: u64,
}

/// One row of a topic's subscriber list.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Subscriber {
    /// Unique per subscriber (session id, or listen-stream id).
    pub id: String,
    /// Where the topic's notifications for this subscriber go.
    pub target: DeliveryTarget,
    /// For 2026-07-28 `subscriptions/listen`: the listen request's id, put in every
    /// notification's `_meta`.
    pub subscription_id: Option<RequestId>,
    /// The principal that subscribed: a notification for one principal, and the server's
    /// access rules, are checked against it.
    pub principal: Option<String>,
    /// When the row lapses: with its session, or at the listen stream's lifetime unless the
    /// stream renews it.
    pub expires_at_ms: u64,
}
