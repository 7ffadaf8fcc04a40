//! What a deployment trusts: one issuer, one audience (this server's canonical URI), the
//! issuer's key set, and the scopes every request needs.

use std::env;
use std::time::Duration;

use crate::metadata::METADATA_PATH;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is required when MCP_AUTH_ISSUER is set")]
    Missing(&'static str),
    #[error("{0}: {1}")]
    Invalid(&'static str, String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthConfig {
    /// `MCP_AUTH_ISSUER`: the authorization server; tokens must carry it as `iss`.
    pub issuer: String,
    /// `MCP_AUTH_AUDIENCE`: this server's canonical resource URI (RFC 8707), e.g.
    /// `https://mcp.example.com/mcp`; tokens must carry it in `aud`.
    pub audience: String,
    /// `MCP_AUTH_JWKS_URL`: the issuer's key set (default `{issuer}/.well-known/jwks.json`).
    pub jwks_url: String,
    /// `MCP_AUTH_SCOPES`: scopes every request needs (space- or comma-separated).
    pub required_scopes: Vec<String>,
    /// Clock skew allowed on `exp` and `nbf`.
    pub leeway: Duration,
}

/// The default leeway: small, as the spec asks, but enough for unsynchronised clocks.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(60);

impl AuthConfig {
    /// `None` when `MCP_AUTH_ISSUER` is unset: authorization is off.
    pub fn from_env() -> Result<Option<AuthConfig>, ConfigError> {
        let var = |name: &str| env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let Some(issuer) = var("MCP_AUTH_ISSUER") else { return Ok(None) };
        let audience = var("MCP_AUTH_AUDIENCE").ok_or(ConfigError::Missing("MCP_AUTH_AUDIENCE"))?;
        let config = AuthConfig {
            jwks_url: var("MCP_AUTH_JWKS_URL").unwrap_or_else(|| default_jwks_url(&issuer)),
            required_scopes: scopes(var("MCP_AUTH_SCOPES").as_deref().unwrap_or("")),
            issuer,
            audience,
            leeway: DEFAULT_LEEWAY,
        };
        config.check()?;
        Ok(Some(config))
    }

    pub fn check(&self) -> Result<(), ConfigError> {
        if !(self.audience.starts_with("https://") || self.audience.starts_with("http://")) {
            let why = format!("{:?} is not an http(s) URL", self.audience);
            return Err(ConfigError::Invalid("MCP_AUTH_AUDIENCE", why));
        }
        // The keys decide who may call: anyone on the path of a plain-HTTP fetch could swap
        // them. Plain HTTP only for an issuer on this machine (the development issuer).
        if !(self.jwks_url.starts_with("https://") || is_loopback_http(&self.jwks_url)) {
            let why = format!("{:?} must be https (http only on loopback)", self.jwks_url);
            return Err(ConfigError::Invalid("MCP_AUTH_JWKS_URL", why));
        }
        Ok(())
    }

    /// Where this resource's metadata is served (RFC 9728 section 3.1: the well-known path
    /// inserted between the host and the resource's path).
    pub fn resource_metadata_url(&self) -> String {
        let (origin, path) = split_origin(&self.audience);
        format!("{origin}{METADATA_PATH}{}", path.trim_end_matches('/'))
    }
}

pub fn default_jwks_url(issuer: &str) -> String {
    format!("{}/.well-known/jwks.json", issuer.trim_end_matches('/'))
}

/// Scopes from a space- or comma-separated list.
pub fn scopes(list: &str) -> Vec<String> {
    list.split([' ', ',']).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// `http://` to 127.0.0.1, `[::1]` or localhost. The authority ends where a URL parser
/// ends it (`/`, `?`, `#`, or `\`, which parsers read as `/`), and one with userinfo is
/// refused: in `http://127.0.0.1:1@evil.example/` the host is `evil.example`.
fn is_loopback_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let authority = rest.split(['/', '?', '#', '\\']).next().unwrap_or("");
    if authority.contains('@') {
        return false;
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    matches!(host, "127.0.0.1" | "::1" | "localhost")
}

/// `https://host:port` and `/path` of a URL.
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    match url[after_scheme..].find('/') {
        Some(i) => url.split_at(after_scheme + i),
        None => (url, ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_url_inserts_the_well_known_path_before_the_resource_path() {
        let c = AuthConfig {
            issuer: "https://auth.example.com".into(),
            audience: "https://mcp.example.com/mcp".into(),
            jwks_url: default_jwks_url("https://auth.example.com/"),
            required_scopes: scopes("mcp:tools, mcp:resources"),
            leeway: DEFAULT_LEEWAY,
        };
        assert_eq!(c.resource_metadata_url(), "https://mcp.example.com/.well-known/oauth-protected-resource/mcp");
        assert_eq!(c.jwks_url, "https://auth.example.com/.well-known/jwks.json");
        assert_eq!(c.required_scopes, ["mcp:tools", "mcp:resources"]);
        let root = AuthConfig { audience: "https://mcp.example.com".into(), ..c.clone() };
        assert_eq!(root.resource_metadata_url(), "https://mcp.example.com/.well-known/oauth-protected-resource");
    }

    #[test]
    fn keys_come_over_https_or_from_this_machine() {
        let with = |jwks: &str| AuthConfig {
            issuer: "https://auth.example.com".into(),
            audience: "https://mcp.example.com/mcp".into(),
            jwks_url: jwks.into(),
            required_scopes: Vec::new(),
            leeway: DEFAULT_LEEWAY,
        };
        assert!(with("https://auth.example.com/jwks").check().is_ok());
        assert!(with("http://127.0.0.1:8787/.well-known/jwks.json").check().is_ok());
        assert!(with("http://localhost/jwks").check().is_ok());
        assert!(with("http://[::1]:9/jwks").check().is_ok());
        assert!(with("http://auth.example.com/jwks").check().is_err());
        assert!(with("http://127.0.0.1.evil.example/jwks").check().is_err());
        assert!(with("http://127.0.0.1:1@evil.example/jwks").check().is_err());
        assert!(with("http://localhost@evil.example/jwks").check().is_err());
        assert!(with("http://evil.example?@127.0.0.1/jwks").check().is_err());
        assert!(with("http://evil.example\\@127.0.0.1/jwks").check().is_err());
    }
}
