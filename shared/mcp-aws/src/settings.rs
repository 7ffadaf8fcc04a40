//! Settings of a deployment: one set, read from the environment the template sets (the
//! functions) or mapped from the local gateway's flags. [`crate::compose`] builds the
//! application from them, in one place, for both.

use std::env;

use mcp_server::state::faults::FaultPlan;

/// Why the settings could not be read from the environment: a function fails its init on it.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A variable the functions cannot run without (`MCP_TABLE`) is unset or empty.
    #[error("environment variable {0} is required")]
    Missing(&'static str),
    /// A variable's value is not one it accepts, or it needs another that is unset: the
    /// variable, and why.
    #[error("environment variable {0}: {1}")]
    Invalid(&'static str, String),
    /// The `MCP_AUTH_*` variables do not make an authorization configuration.
    #[error(transparent)]
    Auth(#[from] mcp_auth::ConfigError),
}

/// What runs the application, which decides whether work may outlive a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Host {
    /// A Lambda function: the environment is frozen once the handler returns or the streamed
    /// response ends, so a request's work finishes before its response does.
    Lambda,
    /// A process that keeps running between requests (the local gateway in process, stdio).
    LongRunning,
}

/// Where the HMAC key of MRTR `requestState` comes from.
#[derive(Clone, PartialEq, Eq)]
pub enum KeySource {
    /// `MCP_REQUEST_STATE_SECRET`: a Secrets Manager secret (its ARN or name), read once at
    /// init. What the template configures: the key is never in a function's configuration.
    Secret(String),
    /// `MCP_REQUEST_STATE_KEY`: the key itself (at least 32 bytes), for deployments that
    /// manage it themselves.
    Value(Vec<u8>),
    /// A random key of this process: states verify only on the instances of this process.
    /// The local gateway's in-process instances, and functions that issue no `requestState`.
    Ephemeral,
}

/// Everything the application is built from; [`Settings::new`] is the all-off default the
/// local gateway's flags are mapped onto, [`Settings::from_env`] a function's.
#[derive(Clone, Debug)]
pub struct Settings {
    /// What runs the application: a Lambda function (from the environment) or a long-running
    /// process. It decides whether a request may detach from its stream, and without Redis
    /// whether signals and session versions are shared by every instance.
    pub host: Host,
    /// `MCP_TABLE`: the DynamoDB table of sessions, connections, subscriptions, nonces and
    /// application data. `None` keeps them in this process's memory, which is correct only
    /// when every instance is in this process (the local gateway).
    pub table: Option<String>,
    /// `MCP_DYNAMODB_ENDPOINT`: DynamoDB at this endpoint (an emulator) instead of AWS's.
    /// The functions leave it unset and take the SDK's own `AWS_ENDPOINT_URL*` variables.
    pub dynamodb_endpoint: Option<String>,
    /// Create the tables (from the template's definitions) when they are missing.
    pub create_tables: bool,
    /// Where Redis is; without it the bus is per process and server-to-client requests,
    /// cancellations and SSE notifications do not cross processes.
    pub redis: Option<RedisSettings>,
    /// `MCP_REQUEST_STATE_SECRET` or `MCP_REQUEST_STATE_KEY`: the HMAC key of MRTR
    /// `requestState`, which every instance must share to verify another's states.
    pub request_state_key: KeySource,
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
    /// `MCP_ANONYMOUS_RATE_LIMIT`: requests and messages without a principal that each source
    /// address may send per minute; unset or 0 for no limit.
    pub anonymous_rate_limit_per_minute: u64,
    /// `MCP_HTTP_STREAM_SECONDS`: a GET or listen stream ends by itself after this long (the
    /// client reconnects); unset or 0: no bound of its own (on Lambda the function's timeout
    /// ends it).
    pub http_stream_seconds: u64,
    /// `MCP_HTTP_STREAMS_PER_CALLER`: GET and listen streams one caller may hold open at once;
    /// unset or 0 for no limit.
    pub http_streams_per_caller: u64,
    /// `MCP_HTTP_STREAMS`: GET and listen streams the deployment may hold open at once; unset
    /// or 0 for no limit.
    pub http_streams: u64,
    /// `MCP_SESSIONS_PER_PRINCIPAL`: live session-era sessions one principal may hold; unset:
    /// the router's default (100), 0: no limit.
    pub sessions_per_principal: Option<u64>,
    /// `MCP_MAX_IN_FLIGHT`: requests one WebSocket connection may have in flight at once;
    /// unset or 0 for no limit.
    pub max_in_flight: u64,
    /// `MCP_WS_REPLIES`: how a WebSocket message's reply reaches its client: `route-response`
    /// (the template's default: the `$default` route has a route response, and a reply ready
    /// within API Gateway's wait is the integration's response) or `post` (unset: every reply
    /// through `@connections`).
    pub ws_replies: mcp_edge::websocket::Replies,
    /// `MCP_REGISTRY_TABLE`: the registry table; the served catalogue is then the code's
    /// plus the entries registered under the server's name. Unset: the code's alone.
    pub registry_table: Option<String>,
    /// `MCP_LAMBDA_ENDPOINT`: the Lambda Invoke API of Lambda-backed tools (for a local
    /// emulator); unset: AWS Lambda (or the SDK's `AWS_ENDPOINT_URL*`).
    pub lambda_endpoint: Option<String>,
    /// `MCP_TASK_WORKER`: the function that runs tasks' work (an asynchronous invoke per
    /// run). Unset on Lambda: calls never become tasks. Ignored in a long-running process,
    /// which runs the work itself.
    pub task_worker: Option<String>,
    /// `MCP_TASK_LEASE_SECONDS`: how long a task's worker may go unheard of before its task
    /// fails; unset or 0: the router's default (60 s).
    pub task_lease_seconds: u64,
    /// `MCP_FAULTS`: faults injected into every state call (for trying clients against a
    /// misbehaving backend; never in a deployment).
    pub faults: Option<FaultPlan>,
}

impl Settings {
    /// Settings with everything off: in-memory state, no authorization, no limits.
    pub fn new(host: Host) -> Settings {
        Settings {
            host,
            table: None,
            dynamodb_endpoint: None,
            create_tables: false,
            redis: None,
            request_state_key: KeySource::Ephemeral,
            connections_endpoint: None,
            allowed_origins: Vec::new(),
            allowed_hosts: Vec::new(),
            auth: None,
            rate_limit_per_minute: 0,
            anonymous_rate_limit_per_minute: 0,
            http_stream_seconds: 0,
            http_streams_per_caller: 0,
            http_streams: 0,
            sessions_per_principal: None,
            max_in_flight: 0,
            ws_replies: mcp_edge::websocket::Replies::Post,
            registry_table: None,
            lambda_endpoint: None,
            task_worker: None,
            task_lease_seconds: 0,
            faults: None,
        }
    }

    /// A function's settings, from the environment the template gives it.
    pub fn from_env() -> Result<Settings, SettingsError> {
        let table = var("MCP_TABLE").ok_or(SettingsError::Missing("MCP_TABLE"))?;
        let faults = match var("MCP_FAULTS") {
            None => None,
            Some(plan) => Some(plan.parse().map_err(|e| SettingsError::Invalid("MCP_FAULTS", format!("{e}")))?),
        };
        Ok(Settings {
            table: Some(table),
            dynamodb_endpoint: var("MCP_DYNAMODB_ENDPOINT"),
            redis: RedisSettings::from_env()?,
            request_state_key: KeySource::from_env()?,
            connections_endpoint: var("MCP_CONNECTIONS_ENDPOINT"),
            allowed_origins: list("MCP_ALLOWED_ORIGINS"),
            allowed_hosts: list("MCP_ALLOWED_HOSTS"),
            auth: mcp_auth::AuthConfig::from_env()?,
            rate_limit_per_minute: count("MCP_RATE_LIMIT")?,
            anonymous_rate_limit_per_minute: count("MCP_ANONYMOUS_RATE_LIMIT")?,
            http_stream_seconds: count("MCP_HTTP_STREAM_SECONDS")?,
            http_streams_per_caller: count("MCP_HTTP_STREAMS_PER_CALLER")?,
            http_streams: count("MCP_HTTP_STREAMS")?,
            sessions_per_principal: var("MCP_SESSIONS_PER_PRINCIPAL")
                .map(|_| count("MCP_SESSIONS_PER_PRINCIPAL"))
                .transpose()?,
            max_in_flight: count("MCP_MAX_IN_FLIGHT")?,
            ws_replies: var("MCP_WS_REPLIES")
                .map(|v| v.parse().map_err(|e| SettingsError::Invalid("MCP_WS_REPLIES", e)))
                .transpose()?
                .unwrap_or_default(),
            registry_table: var("MCP_REGISTRY_TABLE"),
            lambda_endpoint: var("MCP_LAMBDA_ENDPOINT"),
            task_worker: var("MCP_TASK_WORKER"),
            task_lease_seconds: count("MCP_TASK_LEASE_SECONDS")?,
            faults,
            ..Settings::new(Host::Lambda)
        })
    }
}

impl KeySource {
    /// The secret if named, else the key if given (at least 32 bytes), else an ephemeral key
    /// (a function that issues no `requestState`: `$connect`, `$disconnect`, the sweeper).
    fn from_env() -> Result<KeySource, SettingsError> {
        if let Some(secret) = var("MCP_REQUEST_STATE_SECRET") {
            return Ok(KeySource::Secret(secret));
        }
        match env::var("MCP_REQUEST_STATE_KEY") {
            Ok(key) => KeySource::value(key.into_bytes()),
            Err(_) => Ok(KeySource::Ephemeral),
        }
    }

    /// A key given as such: at least 32 bytes.
    pub fn value(key: Vec<u8>) -> Result<KeySource, SettingsError> {
        if key.len() < MIN_KEY_BYTES {
            return Err(SettingsError::Invalid(
                "MCP_REQUEST_STATE_KEY",
                format!("needs at least {MIN_KEY_BYTES} bytes"),
            ));
        }
        Ok(KeySource::Value(key))
    }
}

/// Never the key itself: settings get logged.
impl std::fmt::Debug for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::Secret(id) => f.debug_tuple("Secret").field(id).finish(),
            KeySource::Value(key) => write!(f, "Value(<{} bytes>)", key.len()),
            KeySource::Ephemeral => f.write_str("Ephemeral"),
        }
    }
}

/// The shortest `requestState` key accepted (HMAC-SHA256's block of entropy).
pub const MIN_KEY_BYTES: usize = 32;

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
    /// Redis at a URL, nothing else (the local gateway's `--redis-url`).
    pub fn url(url: &str) -> RedisSettings {
        RedisSettings { url: Some(url.to_owned()), ..RedisSettings::default() }
    }

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
