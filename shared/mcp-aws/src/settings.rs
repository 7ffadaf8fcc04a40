//! Settings of a deployment, from the environment the template sets.

use std::env;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    #[error("environment variable {0}: {1}")]
    Invalid(&'static str, String),
    #[error(transparent)]
    Auth(#[from] mcp_auth::ConfigError),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ServerChoice {
    Reference,
    Conformance,
}

#[derive(Clone, Debug)]
pub struct Settings {
    /// `MCP_TABLE`: the DynamoDB table.
    pub table: String,
    /// Where Redis is; without it the bus is per instance and server-to-client requests,
    /// cancellations and SSE notifications do not cross instances.
    pub redis: Option<RedisSettings>,
    /// `MCP_SERVER`: which server this deployment serves.
    pub server: ServerChoice,
    /// `MCP_REQUEST_STATE_KEY`: the HMAC key of MRTR `requestState` (at least 32 bytes; the
    /// same for every function of the deployment).
    pub request_state_key: Vec<u8>,
    /// `MCP_CONNECTIONS_ENDPOINT`: the `@connections` endpoint; by default derived from the
    /// first WebSocket event (`https://{domainName}/{stage}`).
    pub connections_endpoint: Option<String>,
    /// `MCP_ALLOWED_ORIGINS`: browser origins allowed besides none (comma-separated).
    pub allowed_origins: Vec<String>,
    /// `MCP_ALLOWED_HOSTS`: `Host` names accepted on HTTP (comma-separated; empty: any).
    pub allowed_hosts: Vec<String>,
    /// `MCP_AUTH_ISSUER`, `MCP_AUTH_AUDIENCE`, `MCP_AUTH_JWKS_URL`, `MCP_AUTH_SCOPES`: bearer
    /// tokens required on HTTP (WebSocket connections are checked by the `$connect`
    /// authorizer). Unset issuer: no authentication.
    pub auth: Option<mcp_auth::AuthConfig>,
    /// `MCP_RATE_LIMIT`: requests (HTTP) and messages (WebSocket) each principal may send per
    /// minute, counted in Redis across instances; unset or 0 for no limit.
    pub rate_limit_per_minute: u64,
    /// `MCP_MAX_IN_FLIGHT`: requests one WebSocket connection may have in flight at once;
    /// unset or 0 for no limit.
    pub max_in_flight: u64,
    /// `MCP_REGISTRY_TABLE`: the registry table; the served catalogue is then the code's
    /// plus the entries registered under the server's name. Unset: the code's alone.
    pub registry_table: Option<String>,
    /// `MCP_LAMBDA_ENDPOINT`: the Lambda Invoke API of Lambda-backed tools (for a local
    /// emulator); unset: AWS Lambda.
    pub lambda_endpoint: Option<String>,
}

/// How to reach Redis (ElastiCache).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RedisSettings {
    /// `MCP_REDIS_URL`: `redis://`, `rediss://` (TLS), `redis-cluster://` or
    /// `rediss-cluster://` (cluster mode, as ElastiCache Serverless speaks).
    pub url: Option<String>,
    /// `MCP_REDIS_CACHE`: the ElastiCache cache's name. Without a URL its endpoint is looked up
    /// (`DescribeServerlessCaches`, then `DescribeReplicationGroups`) on first use.
    pub cache: Option<String>,
    /// `MCP_REDIS_IAM_USER`: authenticate as this ElastiCache user with IAM tokens (needs
    /// `MCP_REDIS_CACHE`, which the tokens are signed for).
    pub iam_user: Option<String>,
}

impl RedisSettings {
    fn from_env() -> Result<Option<RedisSettings>, SettingsError> {
        let redis = RedisSettings {
            url: var("MCP_REDIS_URL"),
            cache: var("MCP_REDIS_CACHE"),
            iam_user: var("MCP_REDIS_IAM_USER"),
        };
        if redis.iam_user.is_some() && redis.cache.is_none() {
            return Err(SettingsError::Invalid(
                "MCP_REDIS_IAM_USER",
                "needs MCP_REDIS_CACHE, the cache the tokens are for".into(),
            ));
        }
        Ok((redis.url.is_some() || redis.cache.is_some()).then_some(redis))
    }
}

/// A count from the environment; unset is 0.
fn count(name: &'static str) -> Result<u64, SettingsError> {
    match var(name) {
        None => Ok(0),
        Some(n) => n.parse().map_err(|_| SettingsError::Invalid(name, format!("{n:?} is not a count"))),
    }
}

fn var(name: &str) -> Option<String> {
    env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

fn list(name: &str) -> Vec<String> {
    env::var(name).unwrap_or_default().split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

impl Settings {
    pub fn from_env() -> Result<Settings, SettingsError> {
        let table = env::var("MCP_TABLE").map_err(|_| SettingsError::Missing("MCP_TABLE"))?;
        let server = match env::var("MCP_SERVER").as_deref().unwrap_or("reference") {
            "reference" => ServerChoice::Reference,
            "conformance" => ServerChoice::Conformance,
            other => return Err(SettingsError::Invalid("MCP_SERVER", format!("unknown server {other:?}"))),
        };
        let key = env::var("MCP_REQUEST_STATE_KEY").map_err(|_| SettingsError::Missing("MCP_REQUEST_STATE_KEY"))?;
        if key.len() < 32 {
            return Err(SettingsError::Invalid("MCP_REQUEST_STATE_KEY", "needs at least 32 bytes".into()));
        }
        Ok(Settings {
            table,
            redis: RedisSettings::from_env()?,
            server,
            request_state_key: key.into_bytes(),
            connections_endpoint: var("MCP_CONNECTIONS_ENDPOINT"),
            allowed_origins: list("MCP_ALLOWED_ORIGINS"),
            allowed_hosts: list("MCP_ALLOWED_HOSTS"),
            auth: mcp_auth::AuthConfig::from_env()?,
            rate_limit_per_minute: count("MCP_RATE_LIMIT")?,
            max_in_flight: count("MCP_MAX_IN_FLIGHT")?,
            registry_table: var("MCP_REGISTRY_TABLE"),
            lambda_endpoint: var("MCP_LAMBDA_ENDPOINT"),
        })
    }
}
