//! Authentication at the edge. HTTP: every request's bearer token. WebSocket: the token of
//! the handshake, checked once (what API Gateway's `$connect` authorizer does); its principal,
//! expiry and scopes then travel in the authorizer context of every event of the connection.

use std::collections::HashMap;

use http::HeaderMap;
use mcp_auth::{
    AuthError, Challenge, Principal, TokenSource, TokenValidator, bearer_token, challenge, query_has_token,
};
use serde_json::Value;

/// Authorizer-context keys (API Gateway delivers `principalId` and the context's entries).
pub const CONTEXT_PRINCIPAL: &str = "principalId";
/// The token's expiry in seconds since the epoch, which [`token_expiry_ms`] reads back.
pub const CONTEXT_EXPIRES: &str = "exp";
/// The token's scopes, space-separated as in OAuth's `scope`.
pub const CONTEXT_SCOPE: &str = "scope";

/// The principal of a request or handshake, or the challenge to answer it with.
pub async fn authenticate(
    validator: &TokenValidator,
    headers: &HeaderMap,
    query: Option<&str>,
    source: TokenSource,
) -> Result<Principal, Challenge> {
    let refuse = |e: AuthError| {
        tracing::info!(reason = %e, "unauthenticated request refused");
        challenge(validator.config(), &e)
    };
    if query_has_token(query) {
        return Err(refuse(AuthError::TokenInQuery));
    }
    let token = bearer_token(headers, source).map_err(refuse)?;
    validator.validate(&token).await.map_err(refuse)
}

/// The authorizer context of an authenticated connection.
pub fn authorizer_context(principal: &Principal) -> HashMap<String, Value> {
    HashMap::from([
        (CONTEXT_PRINCIPAL.to_owned(), Value::from(principal.subject.clone())),
        (CONTEXT_EXPIRES.to_owned(), Value::from(principal.expires_at_s)),
        (CONTEXT_SCOPE.to_owned(), Value::from(principal.scopes.join(" "))),
    ])
}

/// When the connection's token expires (milliseconds since the epoch), if it had one.
/// API Gateway may pass context numbers as strings.
pub fn token_expiry_ms(context: &HashMap<String, Value>) -> Option<u64> {
    let seconds = match context.get(CONTEXT_EXPIRES)? {
        Value::Number(n) => n.as_u64()?,
        Value::String(s) => s.parse().ok()?,
        _ => return None,
    };
    Some(seconds.saturating_mul(1000))
}
