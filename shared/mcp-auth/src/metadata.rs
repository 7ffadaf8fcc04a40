//! RFC 9728 protected resource metadata: how a client that got a 401 finds the
//! authorization server to get a token from.

use serde_json::json;

use crate::AuthConfig;

pub const METADATA_PATH: &str = "/.well-known/oauth-protected-resource";

pub fn protected_resource_metadata(config: &AuthConfig) -> Vec<u8> {
    let document = json!({
        "resource": config.audience,
        "authorization_servers": [config.issuer],
        "scopes_supported": config.required_scopes,
        // Tokens are accepted in the Authorization header only (and, on a WebSocket
        // handshake, as a subprotocol, which RFC 6750 has no name for).
        "bearer_methods_supported": ["header"],
    });
    serde_json::to_vec(&document).unwrap_or_default()
}
