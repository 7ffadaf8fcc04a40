//! The answer to an unauthenticated request: its HTTP status and `WWW-Authenticate`
//! challenge (RFC 6750 section 3, with RFC 9728's `resource_metadata`).

use http::StatusCode;

use crate::{AuthConfig, AuthError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Challenge {
    pub status: StatusCode,
    /// The `WWW-Authenticate` header's value.
    pub header: String,
    /// A message for the JSON-RPC error body; names the failed check, nothing the token said.
    pub message: String,
}

pub fn challenge(config: &AuthConfig, error: &AuthError) -> Challenge {
    let metadata = config.resource_metadata_url();
    let (status, code) = match error {
        // No credentials at all: no error code (RFC 6750 section 3.1).
        AuthError::Missing => (StatusCode::UNAUTHORIZED, None),
        AuthError::TokenInQuery => (StatusCode::BAD_REQUEST, Some("invalid_request")),
        AuthError::InsufficientScope => (StatusCode::FORBIDDEN, Some("insufficient_scope")),
        AuthError::KeysUnavailable => (StatusCode::SERVICE_UNAVAILABLE, None),
        _ => (StatusCode::UNAUTHORIZED, Some("invalid_token")),
    };
    let mut header = format!("Bearer resource_metadata=\"{metadata}\"");
    if let Some(code) = code {
        header.push_str(&format!(", error=\"{code}\", error_description=\"{error}\""));
    }
    if matches!(error, AuthError::InsufficientScope | AuthError::Missing) && !config.required_scopes.is_empty() {
        header.push_str(&format!(", scope=\"{}\"", config.required_scopes.join(" ")));
    }
    Challenge { status, header, message: format!("Unauthorized: {error}") }
}
