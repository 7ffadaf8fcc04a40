//! MCP servers are OAuth 2.1 resource servers (MCP authorization spec): every request carries
//! a bearer token issued for this server (RFC 8707 audience), which is checked here against
//! the issuer's published keys. What is checked and why:
//!
//! - the signature, with a key from the issuer's JWKS, and the algorithm that key is pinned to
//!   (no `none`, no HMAC, no algorithm chosen by the token);
//! - `iss`, `aud` (the server's canonical URI), `exp` and `nbf` with a small leeway;
//! - the scopes the deployment requires (`403 insufficient_scope` when missing).
//!
//! Errors say which check failed in the `WWW-Authenticate` challenge's code, never what the
//! token contained.

mod bearer;
mod challenge;
mod config;
pub mod dev_issuer;
mod error;
mod keys;
mod metadata;
mod validator;

pub use bearer::{SUBPROTOCOL_TOKEN_PREFIX, TokenSource, bearer_token, query_has_token};
pub use challenge::{Challenge, challenge};
pub use config::{AuthConfig, ConfigError, DEFAULT_LEEWAY, default_jwks_url, scopes};
pub use error::AuthError;
pub use keys::{HttpKeySource, KeySource, KeyStore};
pub use metadata::{METADATA_PATH, protected_resource_metadata};
pub use validator::{Principal, TokenValidator};
