//! Asking the client for input: elicitation, sampling and roots.
//!
//! The session era sends these as server-to-client JSON-RPC requests; 2026-07-28 returns
//! them inside an [`InputRequiredResult`] (MRTR) and the client retries the original
//! request with `inputResponses` and the echoed `requestState`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::content::Role;
use super::meta::Meta;

/// `elicitation/create`: asks the user for input through the client (a form or a URL).
pub const ELICITATION_CREATE: &str = "elicitation/create";
/// `sampling/createMessage`: asks the client to sample an LLM completion for the server.
pub const SAMPLING_CREATE_MESSAGE: &str = "sampling/createMessage";
/// `roots/list`: asks the client for the roots (directories, files) the server may work in.
pub const ROOTS_LIST: &str = "roots/list";

/// One request for input: the method and params a server-to-client request would carry.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct InputRequest {
    /// The method the request stands for, such as `elicitation/create`.
    pub method: String,
    /// The params that request would carry; `None` when it takes none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Value>,
}

/// Answers keyed like the requests they answer. Values stay JSON until a handler reads them.
pub type InputResponses = BTreeMap<String, Value>;

/// The interim result of a request that needs input (`resultType: "input_required"`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputRequiredResult {
    /// `inputRequests`: what the client must answer before retrying, keyed by server-chosen ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<BTreeMap<String, InputRequest>>,
    /// `requestState`: opaque server state the client must echo unchanged on the retry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_state: Option<String>,
}

/// `elicitation/create` params: form mode (a flat schema) or URL mode.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElicitRequestParams {
    /// `mode`: `"form"` or `"url"`; absent means form (the only mode before 2025-11-25).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// The message shown to the user: what is asked and why.
    pub message: String,
    /// `requestedSchema` (form mode): a flat object schema of primitive-typed properties.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_schema: Option<Value>,
    /// `url` (URL mode): the page the user is sent to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// URL mode in 2025-11-25 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub elicitation_id: Option<String>,
}

impl ElicitRequestParams {
    /// A form-mode elicitation with a flat object schema.
    pub fn form(message: impl Into<String>, requested_schema: Value) -> Self {
        ElicitRequestParams { message: message.into(), requested_schema: Some(requested_schema), ..Default::default() }
    }

    /// Whether this is a URL-mode elicitation (`mode: "url"`).
    pub fn is_url_mode(&self) -> bool {
        self.mode.as_deref() == Some("url")
    }
}

/// What the user did with an elicitation (`action`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ElicitAction {
    /// `"accept"`: the user submitted; in form mode `content` holds the data.
    Accept,
    /// `"decline"`: the user explicitly refused.
    Decline,
    /// `"cancel"`: the user dismissed the request without choosing.
    Cancel,
}

/// The result of `elicitation/create`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ElicitResult {
    /// What the user did.
    pub action: ElicitAction,
    /// The submitted values, for an accepted form-mode elicitation; `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Map<String, Value>>,
}

/// One message of a sampling conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplingMessage {
    /// Who sent the message.
    pub role: Role,
    /// One content block or an array of them.
    pub content: Value,
}

/// `sampling/createMessage` params.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMessageParams {
    /// The conversation to complete.
    pub messages: Vec<SamplingMessage>,
    /// `maxTokens`: the most tokens the client may sample.
    pub max_tokens: u32,
    /// `systemPrompt`: a system prompt the server asks for; the client may change or drop it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// The sampling temperature the server asks for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// `stopSequences`: sequences that end sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// `modelPreferences`: hints and priorities for the client's choice of model, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_preferences: Option<Value>,
    /// `includeContext`: `"none"`, `"thisServer"` or `"allServers"` (the last two deprecated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_context: Option<String>,
    /// Provider-specific metadata passed through to the model, kept as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// The result of `sampling/createMessage`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateMessageResult {
    /// Who wrote the sampled message (normally the assistant).
    pub role: Role,
    /// The sampled content: one content block or an array of them.
    pub content: Value,
    /// The name of the model that produced the message.
    pub model: String,
    /// `stopReason`: why sampling stopped, such as `"endTurn"` or `"maxTokens"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_reason: Option<String>,
}

/// A root: a directory or file the client lets the server work within.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Root {
    /// The root's URI (a `file://` URI).
    pub uri: String,
    /// A human-readable name for the root.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `_meta`: metadata attached to the root.
    #[serde(rename = "_meta", default, skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
}

/// The result of `roots/list`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ListRootsResult {
    /// The client's roots.
    pub roots: Vec<Root>,
}

/// `notifications/elicitation/complete` params (2025-11-25, URL mode): the out-of-band
/// interaction of an earlier URL elicitation finished.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElicitationCompleteParams {
    /// `elicitationId`: the id of the URL elicitation that finished.
    pub elicitation_id: String,
}

/// `data` of the `-32042` error (2025-11-25): URL elicitations the client must complete
/// before retrying the request.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UrlElicitationRequired {
    /// The URL-mode elicitations, each with its `elicitationId`.
    pub elicitations: Vec<ElicitRequestParams>,
}
