//! The framework's Rust errors and their one mapping to wire errors.

use mcp_protocol::model::ClientCapabilities;
use mcp_protocol::{ErrorCode, ErrorObject};

use crate::state::StateError;

/// Why a request for client input did not produce an answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InputError {
    /// 2026-07-28: the answer is not in this round; the router returns an
    /// `InputRequiredResult` and the client retries. Handlers propagate it with `?`.
    #[error("input required from the client")]
    Required,
    /// The client did not declare the capability the request needs.
    #[error("client lacks a required capability")]
    MissingCapability(Box<ClientCapabilities>),
    /// The client answered with an error.
    #[error("client answered with an error: {0}")]
    Client(Box<ErrorObject>),
    /// The client's answer does not have the expected shape.
    #[error("malformed answer from the client: {0}")]
    Malformed(String),
    /// No answer before the deadline.
    #[error("client did not answer in time")]
    Timeout,
    /// The request was cancelled or its stream closed while waiting.
    #[error("request cancelled")]
    Cancelled,
    /// The channel to the client is gone.
    #[error("cannot reach the client: {0}")]
    Unreachable(String),
}

/// What a handler can fail with. Tool *execution* errors are not here: they are
/// `CallToolResult::error` results the model can read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HandlerError {
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// A resource URI that names nothing.
    #[error("resource not found: {0}")]
    ResourceNotFound(String),
    #[error(transparent)]
    Input(#[from] InputError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("internal error: {0}")]
    Internal(String),
    /// A wire error chosen by the handler.
    #[error("{0}")]
    Rpc(Box<ErrorObject>),
}

impl HandlerError {
    /// A wire error chosen by the handler.
    pub fn rpc(error: ErrorObject) -> Self {
        HandlerError::Rpc(Box::new(error))
    }

    /// The one mapping from Rust errors to wire errors. `stateless` selects the
    /// 2026-07-28 codes where the eras differ.
    pub fn to_wire(&self, stateless: bool) -> ErrorObject {
        match self {
            HandlerError::InvalidParams(m) => ErrorObject::invalid_params(m.clone()),
            HandlerError::ResourceNotFound(uri) => {
                let code = if stateless { ErrorCode::INVALID_PARAMS } else { ErrorCode::RESOURCE_NOT_FOUND };
                ErrorObject::new(code, "Resource not found").with_data(serde_json::json!({ "uri": uri }))
            }
            HandlerError::Input(InputError::MissingCapability(caps)) => ErrorObject::new(
                if stateless { ErrorCode::MISSING_CLIENT_CAPABILITY } else { ErrorCode::INVALID_REQUEST },
                "the client does not declare a capability this request needs",
            )
            .with_data(serde_json::json!({ "requiredCapabilities": caps })),
            HandlerError::Input(InputError::Client(e)) => (**e).clone(),
            HandlerError::Input(InputError::Cancelled) => {
                ErrorObject::new(ErrorCode::REQUEST_CANCELLED, "request cancelled")
            }
            HandlerError::Input(e) => ErrorObject::internal(e.to_string()),
            HandlerError::State(StateError::Rejected(why)) => ErrorObject::new(ErrorCode::INTERNAL_ERROR, why.clone())
                .with_data(serde_json::json!({ "retryable": false, "reason": "state backend refused the request" })),
            // An internal error the client may retry: the backends already retried with backoff.
            HandlerError::State(e) => ErrorObject::new(ErrorCode::INTERNAL_ERROR, e.to_string())
                .with_data(serde_json::json!({ "retryable": true, "reason": "state backend unavailable" })),
            HandlerError::Internal(m) => ErrorObject::internal(m.clone()),
            HandlerError::Rpc(e) => (**e).clone(),
        }
    }
}

/// A server definition that cannot be built (bad schema, duplicate name).
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    #[error("tool {tool}: invalid {which} schema: {message}")]
    InvalidSchema { tool: String, which: &'static str, message: String },
    #[error("duplicate {kind} name: {name}")]
    Duplicate { kind: &'static str, name: String },
    #[error("resource template {0}: invalid URI template")]
    InvalidTemplate(String),
}
