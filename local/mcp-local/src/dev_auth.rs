//! `--auth`: the gateway as an OAuth resource server, with a development issuer of its own
//! (its key in a file, its JWKS served on the same loopback port) so that the whole flow,
//! token validation included, runs on one machine. The gateway fetches its own JWKS over
//! HTTP, as a deployment fetches its issuer's.

use std::sync::Arc;

use mcp_auth::dev_issuer::DevIssuer;
use mcp_auth::{AuthConfig, DEFAULT_LEEWAY, default_jwks_url, scopes};

use crate::cli::Args;

pub struct DevAuth {
    pub issuer: Arc<DevIssuer>,
    pub config: AuthConfig,
}

impl DevAuth {
    /// The issuer is the gateway's base URL, the audience its `/mcp` endpoint.
    pub fn new(args: &Args, base_url: &str) -> anyhow::Result<DevAuth> {
        let issuer = Arc::new(DevIssuer::load_or_create(&args.auth_key, base_url)?);
        let config = AuthConfig {
            issuer: base_url.to_owned(),
            audience: format!("{base_url}/mcp"),
            jwks_url: default_jwks_url(base_url),
            required_scopes: scopes(&args.auth_scopes),
            leeway: DEFAULT_LEEWAY,
        };
        Ok(DevAuth { issuer, config })
    }
}

/// `mcp-local mint-token`: a token for the gateway at `gateway`, signed with the key its
/// development issuer uses.
pub fn mint(args: &Args, gateway: &str, subject: &str, scope_list: &str, ttl: u64) -> anyhow::Result<String> {
    let gateway = gateway.trim_end_matches('/');
    let issuer = DevIssuer::load_or_create(&args.auth_key, gateway)?;
    issuer.mint(subject, &format!("{gateway}/mcp"), &scopes(scope_list), ttl).map_err(anyhow::Error::msg)
}
