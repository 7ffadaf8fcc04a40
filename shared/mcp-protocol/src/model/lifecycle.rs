//! Who is talking and what each side can do: `initialize` (session era) and
//! `server/discover` (2026-07-28).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::content::Icon;

/// Name and version of a client or server implementation.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Implementation {
    /// `name`: a programmatic identifier of the implementation.
    pub name: String,
    /// The implementation's version; empty when absent.
    #[serde(default)]
    pub version: String,
    /// `title`: a human-readable name for display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the implementation does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `websiteUrl`: the implementation's website.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    /// Icons a client may show for the implementation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icons: Option<Vec<Icon>>,
}

/// What the client can do. Sub-objects are kept as JSON: the server only asks "is it there".
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ClientCapabilities {
    /// `roots`: the client can list roots; present means supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roots: Option<Value>,
    /// `sampling`: the client can sample LLM completions for the server.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampling: Option<Value>,
    /// `elicitation`: the client can ask the user for input; `form` and `url` name the modes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elicitation: Option<Value>,
    /// Non-standard experimental capabilities, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<Map<String, Value>>,
    /// `extensions` (2026-07-28): the extensions the client supports, by identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
    /// `tasks` (2025-11-25): the client's support for task-augmented requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tasks: Option<Value>,
}

impl ClientCapabilities {
    /// Form-mode elicitation: declared as `elicitation: {}` (2025-06-18) or
    /// `elicitation: { form: {} }` (2025-11-25 and later).
    pub fn elicitation_form(&self) -> bool {
        match &self.elicitation {
            Some(Value::Object(m)) => m.is_empty() || m.contains_key("form"),
            _ => false,
        }
    }

    /// URL-mode elicitation: declared as `elicitation: { url: {} }` (2025-11-25 and later).
    pub fn elicitation_url(&self) -> bool {
        matches!(&self.elicitation, Some(Value::Object(m)) if m.contains_key("url"))
    }
}

/// A server capability whose only option is `listChanged` (`tools`, `prompts`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListChangedCapability {
    /// `listChanged`: the server notifies the client when the list changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
}

/// The server's `resources` capability.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesCapability {
    /// `subscribe`: the client may subscribe to changes of single resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subscribe: Option<bool>,
    /// `listChanged`: the server notifies the client when the resource list changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list_changed: Option<bool>,
}

/// What the server offers.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServerCapabilities {
    /// `tools`: the server offers tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<ListChangedCapability>,
    /// `resources`: the server offers resources.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourcesCapability>,
    /// `prompts`: the server offers prompts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<ListChangedCapability>,
    /// `completions`: the server answers `completion/complete`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completions: Option<Map<String, Value>>,
    /// `logging`: the server sends log messages (`notifications/message`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logging: Option<Map<String, Value>>,
    /// Non-standard experimental capabilities, by name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experimental: Option<Map<String, Value>>,
    /// `extensions` (2026-07-28): the extensions the server supports, by identifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extensions: Option<Map<String, Value>>,
}

/// `initialize` params (session era).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeParams {
    /// `protocolVersion`: the version the client asks for, normally its newest.
    pub protocol_version: String,
    /// What the client can do; none when absent.
    #[serde(default)]
    pub capabilities: ClientCapabilities,
    /// `clientInfo`: the client's name and version.
    pub client_info: Implementation,
}

/// `initialize` result (session era).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InitializeResult {
    /// `protocolVersion`: the version the session speaks, chosen by the server.
    pub protocol_version: String,
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// `serverInfo`: the server's name and version.
    pub server_info: Implementation,
    /// How to use the server, text a client may add to the model's context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}

/// `server/discover` result (2026-07-28); server info travels in `_meta`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DiscoverResult {
    /// `supportedVersions`: the protocol versions the server speaks, newest first.
    pub supported_versions: Vec<String>,
    /// What the server offers.
    pub capabilities: ServerCapabilities,
    /// How to use the server, text a client may add to the model's context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
}
