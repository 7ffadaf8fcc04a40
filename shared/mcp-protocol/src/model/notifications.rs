//! Progress and cancellation, and the method names of every notification.

use serde::{Deserialize, Serialize};

use crate::jsonrpc::RequestId;

/// A progress token: the spec allows a string or an integer, like a request id.
pub type ProgressToken = RequestId;

/// `notifications/progress` params: how far a long-running request has got.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProgressParams {
    /// `progressToken`: the token from the request's `_meta`.
    pub progress_token: ProgressToken,
    /// Progress so far; increases with every notification.
    pub progress: f64,
    /// The total progress expected, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<f64>,
    /// A human-readable description of the current progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// `notifications/cancelled` params: the sender no longer wants the result of a request.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CancelledParams {
    /// `requestId`: the id of the request to cancel (optional in the 2025-11-25 schema).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<RequestId>,
    /// Why the request was cancelled, for logs or display.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Client to server (session era): initialization is done and normal requests may follow.
pub const INITIALIZED: &str = "notifications/initialized";
/// Either direction: the sender cancels a request it sent earlier.
pub const CANCELLED: &str = "notifications/cancelled";
/// Progress of a long-running request that asked for it with a `progressToken`.
pub const PROGRESS: &str = "notifications/progress";
/// Server to client: one log entry.
pub const MESSAGE: &str = "notifications/message";
/// Server to client: a resource the client subscribed to has changed.
pub const RESOURCES_UPDATED: &str = "notifications/resources/updated";
/// Server to client: the list of resources has changed.
pub const RESOURCES_LIST_CHANGED: &str = "notifications/resources/list_changed";
/// Server to client: the list of tools has changed.
pub const TOOLS_LIST_CHANGED: &str = "notifications/tools/list_changed";
/// Server to client: the list of prompts has changed.
pub const PROMPTS_LIST_CHANGED: &str = "notifications/prompts/list_changed";
/// Client to server: the client's roots have changed (removed in 2026-07-28).
pub const ROOTS_LIST_CHANGED: &str = "notifications/roots/list_changed";
/// Server to client (2026-07-28): which notifications a `subscriptions/listen` stream will carry.
pub const SUBSCRIPTIONS_ACKNOWLEDGED: &str = "notifications/subscriptions/acknowledged";
/// Server to client (2025-11-25): a URL-mode elicitation finished (removed in 2026-07-28).
pub const ELICITATION_COMPLETE: &str = "notifications/elicitation/complete";
