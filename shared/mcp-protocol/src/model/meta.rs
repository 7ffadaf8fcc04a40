//! `_meta`: the free-form metadata object, and the keys 2026-07-28 gives meaning to.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lifecycle::{ClientCapabilities, Implementation};
use super::logging::LoggingLevel;
use super::notifications::ProgressToken;

/// A `_meta` object as it travels: any keys.
pub type Meta = Map<String, Value>;

/// Request `_meta` key (2026-07-28): the protocol version the request speaks.
pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
/// Request `_meta` key (2026-07-28): the client's capabilities.
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
/// Request `_meta` key (2026-07-28): the client's name and version.
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";
/// Request `_meta` key (2026-07-28): the least severe log level to send; no logs when absent.
pub const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";
/// Result `_meta` key (2026-07-28): the server's name and version.
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";
/// `_meta` key (2026-07-28): the id of the `subscriptions/listen` request a notification belongs to.
pub const SUBSCRIPTION_ID_KEY: &str = "io.modelcontextprotocol/subscriptionId";

/// The request `_meta` members the server reads; other members are skipped unread
/// (no `flatten`: it would buffer the whole object on the hot path).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RequestMeta {
    /// The protocol version the request speaks (2026-07-28); absent in session-era requests.
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    /// The client's capabilities for this request (2026-07-28).
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", default, skip_serializing_if = "Option::is_none")]
    pub client_capabilities: Option<ClientCapabilities>,
    /// The client's name and version (2026-07-28).
    #[serde(rename = "io.modelcontextprotocol/clientInfo", default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<Implementation>,
    /// The least severe log level to send for this request (2026-07-28); absent means no logs.
    #[serde(rename = "io.modelcontextprotocol/logLevel", default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LoggingLevel>,
    /// `progressToken`: the token progress notifications must carry; absent means none are wanted.
    #[serde(rename = "progressToken", default, skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<ProgressToken>,
    /// W3C trace context, propagated to the spans of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// W3C trace state: vendor data that accompanies `traceparent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

/// The only part of any request's params the router looks at before dispatch.
#[derive(Debug, Default, Deserialize)]
pub struct MetaOnly {
    /// The request's `_meta`, when present.
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}
