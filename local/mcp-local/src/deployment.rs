//! A deployment in one process: shared state standing in for DynamoDB and Redis, and N
//! instances that share nothing else (each its own router and edges, as separate Lambda
//! instances would).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use mcp_auth::{AuthConfig, TokenValidator};
use mcp_aws::lambda_tools::LambdaInvoker;
use mcp_edge::http::{HttpConfig, HttpEdge};
use mcp_edge::origin::OriginPolicy;
use mcp_edge::rate::RateLimit;
use mcp_edge::websocket::WebSocketEdge;
use mcp_server::registry::{LiveCatalogue, RegistryStore, ToolInvoker};
use mcp_server::{ConnectionSink, RequestStateCodec, Router, RouterConfig, Server, StateHandles};
use mcp_state_dynamodb::DynamoState;
use mcp_state_dynamodb::registry::DynamoRegistry;
use mcp_state_redis::RedisState;

use crate::cli::{Args, ServerKind};
use crate::connections::LocalConnections;

pub struct Instance {
    pub router: Arc<Router>,
    pub http: HttpEdge,
    pub websocket: WebSocketEdge,
}

pub struct Deployment {
    instances: Vec<Instance>,
    next: AtomicUsize,
    pub connections: Arc<LocalConnections>,
    /// With `--auth`: what API Gateway's `$connect` authorizer would run.
    pub authorizer: Option<Arc<TokenValidator>>,
    /// The stores every instance shares (without an instance's L1), for the sweeper.
    state: StateHandles,
}

impl Deployment {
    /// `base_url`: this gateway's own address, for `--sdk-connections`.
    pub async fn new(args: &Args, auth: Option<&AuthConfig>, base_url: Option<&str>) -> anyhow::Result<Self> {
        let validator = |config: &AuthConfig| TokenValidator::from_config(config.clone()).map(Arc::new);
        let authorizer = auth.map(validator).transpose().map_err(anyhow::Error::msg)?;
        let state = state(args).await?;
        let connections = Arc::new(LocalConnections::default());
        // Instances share the request-state key, as Lambda instances share it through
        // configuration; a key generated per process is fine for a local gateway.
        let request_states = RequestStateCodec::ephemeral();
        let mut origin = OriginPolicy::loopback();
        origin.allowed_origins.extend(args.allowed_origins.iter().cloned());
        let rate_limit = RateLimit::per_minute(args.rate_limit);
        let http_config = HttpConfig { origin: origin.clone(), rate_limit, ..HttpConfig::default() };
        let auth = auth.cloned();
        let sdk_sink = match (args.sdk_connections, base_url) {
            (true, Some(base)) => Some(sdk_connections(base).await),
            _ => None,
        };
        let registry = registry(args).await?;
        let mut instances = Vec::new();
        for _ in 0..args.instances {
            // Each instance builds its own server definition, as each Lambda instance would.
            let server: Server = match args.server {
                ServerKind::Reference => reference_server::server()?,
                ServerKind::Conformance => conformance_server::server()?,
            };
            let sink: Arc<dyn ConnectionSink> = match &sdk_sink {
                Some(sdk) => sdk.clone(),
                None => connections.clone(),
            };
            // Each instance has its own L1 in front of the shared stores, as Lambda instances do,
            // and its own cached catalogue when a registry backs it.
            let server = Arc::new(server);
            let instance_state = state.clone().with_l1();
            let mut router = Router::new(
                server.clone(),
                instance_state.clone(),
                request_states.clone(),
                RouterConfig::default(),
                Some(sink.clone()),
            );
            if let Some((store, invoker)) = &registry {
                let name = server.info().name.clone();
                // Without Redis the versions are this process's: another process (the CLI)
                // cannot bump them, so revalidation reads the registry's own version.
                let versions = args.redis_url.as_ref().map(|_| instance_state.versions.clone());
                let live = LiveCatalogue::new(server, name, store.clone(), versions, invoker.clone());
                router = router.with_registry(Arc::new(live));
            }
            let router = Arc::new(router);
            // The instance's servers: the default one, and with a registry every registered
            // one, built on first use and shared by both edges.
            let servers = mcp_server::Servers::from(router.clone());
            // Each instance checks tokens with its own key cache, as each Lambda instance does.
            let instance_auth = auth.as_ref().map(validator).transpose().map_err(anyhow::Error::msg)?;
            instances.push(Instance {
                http: HttpEdge::new(servers.clone(), HttpConfig { auth: instance_auth, ..http_config.clone() }),
                websocket: WebSocketEdge::new(servers, sink, origin.clone())
                    .with_rate_limit(rate_limit)
                    .with_max_in_flight(Some(args.max_in_flight)),
                router,
            });
        }
        Ok(Deployment { instances, next: AtomicUsize::new(0), connections, authorizer, state })
    }

    /// The next instance, round-robin.
    pub fn pick(&self) -> &Instance {
        let i = self.next.fetch_add(1, Ordering::Relaxed) % self.instances.len();
        &self.instances[i]
    }

    pub fn len(&self) -> usize {
        self.instances.len()
    }

    /// Runs the sweeper every `every`, as the deployment's schedule runs the sweeper function
    /// every minute: connections whose token has expired are closed even if they stay silent.
    pub fn spawn_sweeper(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let state = self.state.clone();
        let sink: Arc<dyn ConnectionSink> = self.connections.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(why) = mcp_edge::sweeper::close_lapsed(&state, &sink).await {
                    tracing::warn!(%why, "sweeper run failed; the next one retries");
                }
            }
        })
    }
}

/// `@connections` through `aws-sdk-apigatewaymanagement` at this gateway's own endpoint.
/// The endpoint checks no signature, so the credentials are placeholders.
async fn sdk_connections(base_url: &str) -> Arc<dyn ConnectionSink> {
    let credentials = aws_credential_types::Credentials::new("local", "local", None, None, "mcp-local");
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(credentials)
        .load()
        .await;
    Arc::new(mcp_aws::sink::ApiGatewaySink::new(sdk, Some(base_url.to_owned())))
}

/// The registry (`--registry-table`, in DynamoDB) and the Lambda client of Lambda-backed
/// tools (`--lambda-endpoint` overrides AWS's endpoint), if configured.
async fn registry(args: &Args) -> anyhow::Result<Option<(Arc<dyn RegistryStore>, Option<Arc<dyn ToolInvoker>>)>> {
    let Some(table) = &args.registry_table else { return Ok(None) };
    let client = dynamodb_client(args)
        .await
        .ok_or_else(|| anyhow::anyhow!("--registry-table needs --dynamodb-endpoint URL or --dynamodb-aws"))?;
    if args.create_table {
        mcp_state_dynamodb::schema::ensure_registry_table(&client, table).await?;
    }
    let store: Arc<dyn RegistryStore> = Arc::new(DynamoRegistry::new(client, table.clone()));
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let invoker: Arc<dyn ToolInvoker> = Arc::new(LambdaInvoker::new(&sdk, args.lambda_endpoint.clone()));
    Ok(Some((store, Some(invoker))))
}

/// The DynamoDB client the flags ask for (an endpoint override, or AWS itself), with the
/// credentials and region of the usual AWS environment and the deployment's deadlines.
pub async fn dynamodb_client(args: &Args) -> Option<aws_sdk_dynamodb::Client> {
    if args.dynamodb_endpoint.is_none() && !args.dynamodb_aws {
        return None;
    }
    Some(mcp_aws::dynamodb_client(args.dynamodb_endpoint.as_deref()).await)
}

/// The stores: in memory (one process, shared by its instances) unless configured: DynamoDB
/// for everything durable, Redis for the bus and the event log.
async fn state(args: &Args) -> anyhow::Result<StateHandles> {
    let mut state = StateHandles::in_memory();
    if let Some(url) = &args.redis_url {
        let redis = RedisState::connect(url).await?;
        state = StateHandles {
            bus: redis.bus(),
            events: redis.events(),
            versions: redis.versions(),
            rates: redis.rates(),
            ..state
        };
    }
    if let Some(client) = dynamodb_client(args).await {
        if args.create_table {
            mcp_state_dynamodb::schema::ensure_table(&client, &args.table).await?;
        }
        let d = Arc::new(DynamoState::new(client, args.table.clone()));
        state = StateHandles {
            sessions: d.sessions(),
            connections: d.connections(),
            subscriptions: d.subscriptions(),
            nonces: d.nonces(),
            kv: d.kv(),
            ..state
        };
    }
    if let Some(plan) = &args.faults {
        tracing::warn!(?plan, "injecting faults into every state call");
        state = mcp_server::state::faults::Faults::new(plan.clone()).wrap(state);
    }
    Ok(state)
}
