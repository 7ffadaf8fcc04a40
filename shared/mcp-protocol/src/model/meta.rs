//! `_meta`: the free-form metadata object, and the keys 2026-07-28 gives meaning to.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::lifecycle::{ClientCapabilities, Implementation};
use super::logging::LoggingLevel;
use super::notifications::ProgressToken;

/// A `_meta` object as it travels: any keys.
pub type Meta = Map<String, Value>;

pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";
pub const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";
pub const SUBSCRIPTION_ID_KEY: &str = "io.modelcontextprotocol/subscriptionId";

/// The request `_meta` members the server reads; other members are skipped unread
/// (no `flatten`: it would buffer the whole object on the hot path).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RequestMeta {
    #[serde(rename = "io.modelcontextprotocol/protocolVersion", default, skip_serializing_if = "Option::is_none")]
    pub protocol_version: Option<String>,
    #[serde(rename = "io.modelcontextprotocol/clientCapabilities", default, skip_serializing_if = "Option::is_none")]
    pub client_capabilities: Option<ClientCapabilities>,
    #[serde(rename = "io.modelcontextprotocol/clientInfo", default, skip_serializing_if = "Option::is_none")]
    pub client_info: Option<Implementation>,
    #[serde(rename = "io.modelcontextprotocol/logLevel", default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<LoggingLevel>,
    #[serde(rename = "progressToken", default, skip_serializing_if = "Option::is_none")]
    pub progress_token: Option<ProgressToken>,
    /// W3C trace context, propagated to the spans of the request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
}

/// The only part of any request's params the router looks at before dispatch.
#[derive(Debug, Default, Deserialize)]
pub struct MetaOnly {
    #[serde(rename = "_meta", default)]
    pub meta: Option<RequestMeta>,
}
