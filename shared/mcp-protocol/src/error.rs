//! Wire errors: the JSON-RPC error object and the codes JSON-RPC and MCP define.
//!
//! These are data, not Rust errors: they travel to the client. Each crate keeps its own
//! `thiserror` enum and maps it to an [`ErrorObject`] once, at its edge.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A JSON-RPC error code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(pub i32);

impl ErrorCode {
    /// Invalid JSON was received.
    pub const PARSE_ERROR: ErrorCode = ErrorCode(-32700);
    /// The JSON sent is not a valid request object.
    pub const INVALID_REQUEST: ErrorCode = ErrorCode(-32600);
    /// The method does not exist or is not available.
    pub const METHOD_NOT_FOUND: ErrorCode = ErrorCode(-32601);
    /// Invalid method parameters.
    pub const INVALID_PARAMS: ErrorCode = ErrorCode(-32602);
    /// Internal error.
    pub const INTERNAL_ERROR: ErrorCode = ErrorCode(-32603);
    /// MCP: the resource named by a URI does not exist (2025-11-25 and older; 2026-07-28
    /// uses `INVALID_PARAMS` for this, see SEP-2164).
    pub const RESOURCE_NOT_FOUND: ErrorCode = ErrorCode(-32002);
    /// Streamable HTTP (2025-11-25): the session an `Mcp-Session-Id` names is unknown or has
    /// ended (with HTTP 404); also the answer on a WebSocket whose session has ended.
    pub const SESSION_NOT_FOUND: ErrorCode = ErrorCode(-32001);
    /// MCP: the request needs a URL-mode elicitation the client has not completed.
    pub const URL_ELICITATION_REQUIRED: ErrorCode = ErrorCode(-32042);
    /// MCP 2026-07-28: HTTP headers (`Mcp-Method`, `Mcp-Name`, ...) disagree with the body,
    /// or a required header is missing or malformed. Sent with HTTP 400.
    pub const HEADER_MISMATCH: ErrorCode = ErrorCode(-32020);
    /// MCP 2026-07-28: the request needs a client capability the client did not declare;
    /// `data.requiredCapabilities` names it.
    pub const MISSING_CLIENT_CAPABILITY: ErrorCode = ErrorCode(-32021);
    /// MCP 2026-07-28: the protocol version is not one this server speaks;
    /// `data.requested` and `data.supported` say which.
    pub const UNSUPPORTED_PROTOCOL_VERSION: ErrorCode = ErrorCode(-32022);
    /// Implementation-defined server error: a limit was exceeded (size, rate, count).
    pub const LIMIT_EXCEEDED: ErrorCode = ErrorCode(-32010);
    /// Implementation-defined server error: the request was cancelled.
    pub const REQUEST_CANCELLED: ErrorCode = ErrorCode(-32012);
}

/// The `error` member of a JSON-RPC error response.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{message} ({})", code.0)]
pub struct ErrorObject {
    /// The error code (`code`): a JSON-RPC or MCP code from [`ErrorCode`], or an implementation-defined one.
    pub code: ErrorCode,
    /// A short human-readable description of the error (`message`).
    pub message: String,
    /// Extra detail about the error (`data`); omitted from the wire when `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

impl ErrorObject {
    /// An error with `code` and `message` and no `data`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorObject { code, message: message.into(), data: None }
    }

    /// Sets `data`, replacing any already set.
    pub fn with_data(mut self, data: Value) -> Self {
        self.data = Some(data);
        self
    }

    /// A `-32602 Invalid params` error.
    pub fn invalid_params(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INVALID_PARAMS, message)
    }

    /// A `-32600 Invalid Request` error.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INVALID_REQUEST, message)
    }

    /// A `-32601 Method not found` error naming `method`.
    pub fn method_not_found(method: &str) -> Self {
        Self::new(ErrorCode::METHOD_NOT_FOUND, format!("method not found: {method}"))
    }

    /// A `-32603 Internal error` error.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorCode::INTERNAL_ERROR, message)
    }
}
