//! Command line and environment, mapped onto the settings the functions read from theirs.

use clap::{Parser, Subcommand};

use mcp_aws::{Host, KeySource, RedisSettings, Settings};

/// The gateway's command line (most flags also read from the environment), which
/// [`Args::settings`] maps onto the settings a function reads.
#[derive(Debug, Parser)]
#[command(name = "mcp-local", version, about = "Local gateway for the serverless MCP function set")]
pub struct Args {
    /// A one-off task to run instead of the gateway; `None` runs the gateway.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Address to bind (loopback by default).
    #[arg(long, env = "MCP_LOCAL_HOST", default_value = "127.0.0.1")]
    pub host: String,
    /// Port to bind (0 picks a free one; the URLs printed at start say which).
    #[arg(long, env = "MCP_LOCAL_PORT", default_value_t = 8787)]
    pub port: u16,
    /// Independent handler instances; messages are spread over them round-robin, so state
    /// kept in one instance by mistake shows up as a failure.
    #[arg(long, env = "MCP_LOCAL_INSTANCES", default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub instances: u16,
    /// Serve one session over stdin/stdout instead of HTTP (for desktop clients).
    #[arg(long)]
    pub stdio: bool,
    /// Keep sessions, connections, subscriptions, nonces and application data in DynamoDB at
    /// this endpoint (any AWS-compatible one: LocalStack, moto) instead of in memory.
    /// Credentials and region come from the usual AWS environment.
    #[arg(long, env = "MCP_DYNAMODB_ENDPOINT")]
    pub dynamodb_endpoint: Option<String>,
    /// Use DynamoDB at the AWS endpoint of the configured region (no endpoint override).
    #[arg(long, env = "MCP_DYNAMODB_AWS", conflicts_with = "dynamodb_endpoint")]
    pub dynamodb_aws: bool,
    /// The DynamoDB table.
    #[arg(long, env = "MCP_TABLE", default_value = "mcp-serverless")]
    pub table: String,
    /// Create the DynamoDB table (with its index and TTL) if it does not exist, then go on.
    #[arg(long, env = "MCP_CREATE_TABLE")]
    pub create_table: bool,
    /// Use Redis (redis://, rediss:// for TLS, redis-cluster://) as the message bus and the
    /// SSE event log instead of in-process ones.
    #[arg(long, env = "MCP_REDIS_URL")]
    pub redis_url: Option<String>,
    /// Require OAuth bearer tokens, issued by a development issuer this gateway runs itself
    /// (keys in --auth-key, JWKS at /.well-known/jwks.json; mint tokens with `mint-token`).
    #[arg(long, env = "MCP_LOCAL_AUTH")]
    pub auth: bool,
    /// The development issuer's private key (PKCS#8 PEM), created if missing.
    #[arg(long, global = true, env = "MCP_LOCAL_AUTH_KEY", default_value = ".mcp-local/dev-issuer.pem")]
    pub auth_key: std::path::PathBuf,
    /// Scopes every request needs with --auth (space- or comma-separated).
    #[arg(long, env = "MCP_LOCAL_AUTH_SCOPES", default_value = "mcp")]
    pub auth_scopes: String,
    /// Requests (HTTP) and messages (WebSocket) each principal may send per minute, counted
    /// across instances in the shared store; 0 for no limit (the default in process; with
    /// --functions the template's default applies unless given). Needs --auth (a principal).
    #[arg(long, env = "MCP_RATE_LIMIT")]
    pub rate_limit: Option<u64>,
    /// Requests and messages without a principal that each source address may send per
    /// minute; 0 for no limit (the default in process; with --functions the template's
    /// default applies unless given).
    #[arg(long, env = "MCP_ANONYMOUS_RATE_LIMIT", overrides_with = "anonymous_rate_limit")]
    pub anonymous_rate_limit: Option<u64>,
    /// A GET or listen stream ends by itself after this many seconds (the client reconnects);
    /// 0: when its client leaves (the default in process; with --functions the template's
    /// default applies unless given).
    #[arg(long, env = "MCP_HTTP_STREAM_SECONDS", overrides_with = "http_stream_seconds")]
    pub http_stream_seconds: Option<u64>,
    /// GET and listen streams one caller (principal, or source address) may hold open at
    /// once; 0 for no limit (the default in process; the template's with --functions).
    #[arg(long, env = "MCP_HTTP_STREAMS_PER_CALLER", overrides_with = "http_streams_per_caller")]
    pub http_streams_per_caller: Option<u64>,
    /// A task's runner renews its lease three times in this many seconds; a task whose runner
    /// stopped fails this long after (default 60; the template's with --functions).
    #[arg(long, env = "MCP_TASK_LEASE_SECONDS", overrides_with = "task_lease_seconds")]
    pub task_lease_seconds: Option<u64>,
    /// GET and listen streams the whole gateway may hold open at once; 0 for no limit (the
    /// default in process; the template's with --functions).
    #[arg(long, env = "MCP_HTTP_STREAMS", overrides_with = "http_streams")]
    pub http_streams: Option<u64>,
    /// Live session-era sessions one principal may hold (with --auth); 0 for no limit. The
    /// default is 100 (the template's with --functions).
    #[arg(long, env = "MCP_SESSIONS_PER_PRINCIPAL", overrides_with = "sessions_per_principal")]
    pub sessions_per_principal: Option<u64>,
    /// Requests one WebSocket connection may have in flight at once (counted across
    /// instances); 0 for no limit (the default in process; with --functions the template's
    /// default applies unless given).
    #[arg(long, env = "MCP_MAX_IN_FLIGHT")]
    pub max_in_flight: Option<u64>,
    /// How a WebSocket message's reply reaches its client: `route-response` (the default, as
    /// the template deploys: the `$default` route has a route response, and a reply ready
    /// within API Gateway's 29 s wait is the integration's response) or `post` (every reply
    /// through `@connections`). With --functions it sets the template's `WebSocketReplies`.
    #[arg(long, env = "MCP_WS_REPLIES")]
    pub ws_replies: Option<mcp_edge::websocket::Replies>,
    /// No console: without this flag the gateway serves `/console` (loopback callers only), a
    /// live view of connections, sessions, subscriptions, servers and every message served.
    #[arg(long, env = "MCP_LOCAL_NO_CONSOLE")]
    pub no_console: bool,
    /// Seconds without a message from its client after which a WebSocket connection is
    /// closed (1001), as API Gateway closes idle connections after 10 minutes.
    #[arg(long, env = "MCP_WS_IDLE_SECONDS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub ws_idle_seconds: u64,
    /// Seconds after which any WebSocket connection is closed (1001), as API Gateway closes
    /// every connection after 2 hours.
    #[arg(long, env = "MCP_WS_LIFETIME_SECONDS", default_value_t = 7200, value_parser = clap::value_parser!(u64).range(1..))]
    pub ws_lifetime_seconds: u64,
    /// Instances post to WebSocket connections through this gateway's own `@connections`
    /// endpoint with the AWS SDK client the functions use (as a deployment does), instead of
    /// handing messages over in process. For measuring fan-out the way it runs on AWS.
    #[arg(long, env = "MCP_LOCAL_SDK_CONNECTIONS")]
    pub sdk_connections: bool,
    /// Extra origins allowed to call the HTTP endpoint (besides loopback ones), comma-separated.
    #[arg(long, env = "MCP_LOCAL_ALLOWED_ORIGINS", value_delimiter = ',')]
    pub allowed_origins: Vec<String>,
    /// A registry table (DynamoDB, with --dynamodb-endpoint or --dynamodb-aws): the served
    /// catalogue is the code's plus the entries registered for this server (`mcp-registry`).
    #[arg(long, env = "MCP_REGISTRY_TABLE")]
    pub registry_table: Option<String>,
    /// The Lambda Invoke API for Lambda-backed tools (e.g. `cargo lambda watch`'s
    /// `http://127.0.0.1:9000`); without it, AWS Lambda in the configured region.
    #[arg(long, env = "MCP_LAMBDA_ENDPOINT")]
    pub lambda_endpoint: Option<String>,
    /// Injects faults into every state call, for trying clients and the service against a
    /// misbehaving backend: e.g. `error_rate=0.05,kinds=throttled+reset+timeout,latency_ms=2,timeout_ms=500`.
    #[arg(long, env = "MCP_LOCAL_FAULTS")]
    pub faults: Option<mcp_server::state::faults::FaultPlan>,
    /// The Lambda lane: run the deployment's functions as their own binaries, found in DIR
    /// (`target/debug`, `target/lambda`, or `sam build`'s `.aws-sam/build`), as Lambda runs
    /// them, with the template's environment and permissions; the gateway plays API Gateway
    /// and the Lambda service. Needs --dynamodb-endpoint (DynamoDB and Secrets Manager).
    #[arg(long, env = "MCP_LOCAL_FUNCTIONS", value_name = "DIR")]
    pub functions: Option<std::path::PathBuf>,
    /// The deployment template the lane deploys (default: infra/template.yaml in the current
    /// directory or the nearest one above it that has one: the workspace's).
    #[arg(long, env = "MCP_LOCAL_TEMPLATE")]
    pub template: Option<std::path::PathBuf>,
    /// A template parameter for the lane, `KEY=VALUE` (repeatable; after the ones the other
    /// flags set).
    #[arg(long = "parameter", value_name = "KEY=VALUE")]
    pub parameters: Vec<String>,
    /// The lane's stack name (resources are named after it).
    #[arg(long, env = "MCP_LOCAL_STACK_NAME", default_value = "mcp-local")]
    pub stack_name: String,
    /// Execution environments per function at most in the lane (its concurrency); more
    /// invocations at once are throttled.
    #[arg(long, env = "MCP_LOCAL_MAX_ENVIRONMENTS", default_value_t = 32)]
    pub max_environments: usize,
    /// Where the lane writes the functions' logs, one record per invocation
    /// (`invocations.jsonl`) and the calls the deployed stack would deny (`denied.jsonl`);
    /// a new temporary directory by default.
    #[arg(long, env = "MCP_LOCAL_LANE_OUT", value_name = "DIR")]
    pub lane_out: Option<std::path::PathBuf>,
}

/// The tasks `mcp-local` runs and exits after, instead of serving.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the deployment's DynamoDB table (keys, index and TTL as infra/template.yaml
    /// declares them) at --dynamodb-endpoint (or AWS with --dynamodb-aws) unless it exists, then exit.
    CreateTable,
    /// Print a token from the development issuer of a gateway running with --auth.
    MintToken {
        /// The gateway's base URL: the issuer, and with /mcp the audience.
        #[arg(long, default_value = "http://127.0.0.1:8787")]
        gateway: String,
        /// The principal (`sub`).
        #[arg(long, default_value = "developer")]
        subject: String,
        /// Scopes (space- or comma-separated).
        #[arg(long, default_value = "mcp")]
        scopes: String,
        /// Lifetime in seconds.
        #[arg(long, default_value_t = 3600)]
        ttl: u64,
    },
    /// Create a workspace for a server of your own: the server crate with one tool and its
    /// test, the Lambda functions, a local gateway, infra/template.yaml and samconfig.toml.
    New {
        /// The server's name (lower-case letters, digits and dashes): the crate's and the
        /// directory's.
        name: String,
        /// Where to create it (default: ./NAME); it must not exist yet.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// The framework's checkout, which the workspace depends on by path (default: the one
        /// this gateway was built from).
        #[arg(long)]
        framework: Option<std::path::PathBuf>,
    },
}

impl Args {
    /// The template the lane deploys: `--template`, or the workspace's.
    pub fn template(&self) -> anyhow::Result<std::path::PathBuf> {
        if let Some(template) = &self.template {
            return Ok(template.clone());
        }
        let here = std::env::current_dir()?;
        here.ancestors().map(|dir| dir.join("infra/template.yaml")).find(|t| t.is_file()).ok_or_else(|| {
            anyhow::anyhow!("no infra/template.yaml in {} or above it: give one with --template", here.display())
        })
    }

    /// The deployment's settings these flags describe: what a function reads from its
    /// environment, for instances in this process (a request-state key of the process's
    /// own, loopback hosts and origins besides the allowed ones).
    pub fn settings(&self, auth: Option<&mcp_auth::AuthConfig>) -> anyhow::Result<Settings> {
        let dynamodb = self.dynamodb_endpoint.is_some() || self.dynamodb_aws;
        if self.registry_table.is_some() && !dynamodb {
            anyhow::bail!("--registry-table needs --dynamodb-endpoint URL or --dynamodb-aws");
        }
        let loopback = mcp_edge::origin::OriginPolicy::loopback();
        Ok(Settings {
            table: dynamodb.then(|| self.table.clone()),
            dynamodb_endpoint: self.dynamodb_endpoint.clone(),
            create_tables: self.create_table,
            redis: self.redis_url.as_deref().map(RedisSettings::url),
            request_state_key: KeySource::Ephemeral,
            allowed_hosts: loopback.allowed_hosts,
            allowed_origins: self.allowed_origins.clone(),
            auth: auth.cloned(),
            rate_limit_per_minute: self.rate_limit.unwrap_or(0),
            anonymous_rate_limit_per_minute: self.anonymous_rate_limit.unwrap_or(0),
            http_stream_seconds: self.http_stream_seconds.unwrap_or(0),
            http_streams_per_caller: self.http_streams_per_caller.unwrap_or(0),
            http_streams: self.http_streams.unwrap_or(0),
            sessions_per_principal: self.sessions_per_principal,
            max_in_flight: self.max_in_flight.unwrap_or(0),
            ws_replies: self.ws_replies.unwrap_or(mcp_edge::websocket::Replies::RouteResponse),
            registry_table: self.registry_table.clone(),
            lambda_endpoint: self.lambda_endpoint.clone(),
            task_lease_seconds: self.task_lease_seconds.unwrap_or(0),
            faults: self.faults.clone(),
            ..Settings::new(Host::LongRunning)
        })
    }
}
