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
    /// The request's params are wrong (`-32602`): a missing argument, an unknown name, a bad key.
    #[error("invalid params: {0}")]
    InvalidParams(String),
    /// A resource URI that names nothing.
    #[error("resource not found: {0}")]
    ResourceNotFound(String),
    /// Asking the client for input failed; [`InputError::Required`] is how a 2026-07-28 handler
    /// ends its round.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A state store failed: an internal error, retryable unless the backend rejected the request.
    #[error(transparent)]
    State(#[from] StateError),
    /// Anything else that went wrong in the handler (`-32603`); a handler that panics ends here too.
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
    /// A tool's input or output schema does not compile as JSON Schema.
    #[error("tool {tool}: invalid {which} schema: {message}")]
    InvalidSchema {
        /// The tool's name.
        tool: String,
        /// `input` or `output`.
        which: &'static str,
        /// What the schema compiler reported.
        message: String,
    },
    /// Two tools, resources or prompts of one server have the same name (a resource's is its URI).
    #[error("duplicate {kind} name: {name}")]
    Duplicate {
        /// `tool`, `resource` or `prompt`.
        kind: &'static str,
        /// The name given twice.
        name: String,
    },
    /// A resource template outside the supported subset of RFC 6570
    /// ([`UriTemplate`](crate::uri_template::UriTemplate)).
    #[error("resource template {0}: invalid URI template")]
    InvalidTemplate(String),
}
