//! The application a function runs: built once in init, then handed every event.

use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};

use mcp_edge::http::{HttpConfig, HttpEdge};
use mcp_edge::origin::OriginPolicy;
use mcp_edge::rate::RateLimit;
use mcp_edge::websocket::WebSocketEdge;
use mcp_server::registry::{LiveCatalogue, ToolInvoker};
use mcp_server::{BoxFuture, ConnectionSink, RequestStateCodec, Router, RouterConfig, Server, StateHandles};
use mcp_state_dynamodb::DynamoState;
use mcp_state_dynamodb::registry::DynamoRegistry;

use crate::lambda_tools::LambdaInvoker;
use crate::lazy_redis::LazyRedis;
use crate::settings::{ServerChoice, Settings};
use crate::sink::ApiGatewaySink;

/// How long a `requestState` stays valid.
const REQUEST_STATE_TTL: Duration = Duration::from_secs(10 * 60);

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub struct App {
    pub router: Arc<Router>,
    pub websocket: WebSocketEdge,
    pub http: HttpEdge,
    sink: Arc<ApiGatewaySink>,
}

impl App {
    /// Settings from the environment, AWS configuration from the usual chain. No network
    /// calls: credentials resolve and Redis connects on first use.
    pub async fn from_env() -> Result<App, BoxError> {
        let settings = Settings::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        App::new(settings, sdk)
    }

    pub fn new(settings: Settings, sdk: aws_config::SdkConfig) -> Result<App, BoxError> {
        let dynamo =
            Arc::new(DynamoState::new(mcp_state_dynamodb::client::client((&sdk).into()), settings.table.clone()));
        // Redis for the signalling stores; without it, per-instance memory (and no L1).
        let signals = match &settings.redis {
            Some(redis) => {
                let redis = Arc::new(LazyRedis::new(redis.clone(), &sdk)?);
                let memory = StateHandles::in_memory();
                StateHandles {
                    bus: redis.clone(),
                    events: redis.clone(),
                    versions: redis.clone(),
                    rates: redis,
                    ..memory
                }
            }
            None => {
                tracing::warn!(
                    "neither MCP_REDIS_URL nor MCP_REDIS_CACHE is set: signals do not cross instances, and L1 is off"
                );
                StateHandles::in_memory()
            }
        };
        let with_l1 = settings.redis.is_some();
        let state = StateHandles {
            sessions: dynamo.sessions(),
            connections: dynamo.connections(),
            subscriptions: dynamo.subscriptions(),
            nonces: dynamo.nonces(),
            kv: dynamo.kv(),
            ..signals
        };
        // Without shared versions an instance could not tell that its copy went stale.
        let state = if with_l1 { state.with_l1() } else { state };
        let server: Server = match settings.server {
            ServerChoice::Reference => reference_server::server()?,
            ServerChoice::Conformance => conformance_server::server()?,
        };
        let sink = Arc::new(ApiGatewaySink::new(sdk.clone(), settings.connections_endpoint.clone()));
        let codec = RequestStateCodec::new(settings.request_state_key.clone(), REQUEST_STATE_TTL.as_millis() as u64);
        let connection_sink: Arc<dyn ConnectionSink> = sink.clone();
        let server = Arc::new(server);
        let mut router =
            Router::new(server.clone(), state.clone(), codec, RouterConfig::default(), Some(connection_sink.clone()));
        if let Some(table) = &settings.registry_table {
            let store = Arc::new(DynamoRegistry::new(dynamo.client().clone(), table.clone()));
            let invoker: Arc<dyn ToolInvoker> = Arc::new(LambdaInvoker::new(&sdk, settings.lambda_endpoint.clone()));
            let name = server.info().name.clone();
            // Without Redis the versions are this instance's own: revalidate in DynamoDB.
            let versions = with_l1.then(|| state.versions.clone());
            router = router.with_registry(Arc::new(LiveCatalogue::new(server, name, store, versions, Some(invoker))));
        }
        let router = Arc::new(router);
        // One set of servers for both edges: a registered server's router is built once.
        let servers = mcp_server::Servers::from(router.clone());
        let origin = OriginPolicy { allowed_hosts: settings.allowed_hosts, allowed_origins: settings.allowed_origins };
        let auth = match settings.auth {
            Some(config) => Some(Arc::new(mcp_auth::TokenValidator::from_config(config)?)),
            None => None,
        };
        let rate_limit = RateLimit::per_minute(settings.rate_limit_per_minute);
        let http = HttpEdge::new(
            servers.clone(),
            HttpConfig { origin: origin.clone(), auth, rate_limit, ..HttpConfig::default() },
        );
        let websocket = WebSocketEdge::new(servers, connection_sink, origin)
            .with_rate_limit(rate_limit)
            .with_max_in_flight(Some(settings.max_in_flight));
        Ok(App { router, websocket, http, sink })
    }

    /// Handles one API Gateway WebSocket event (`$connect`, `$default`, `$disconnect`). The
    /// request's future is large (a whole dispatch): it lives on the heap, not the stack.
    pub fn websocket_event(&self, event: ApiGatewayWebsocketProxyRequest) -> BoxFuture<'_, ApiGatewayProxyResponse> {
        let ctx = &event.request_context;
        if let (Some(domain), Some(stage)) = (&ctx.domain_name, &ctx.stage) {
            self.sink.use_endpoint(&format!("https://{domain}/{stage}"));
        }
        Box::pin(self.websocket.handle(event))
    }

    /// One run of the sweeper: closes the connections whose token or lifetime has ended
    /// (through `MCP_CONNECTIONS_ENDPOINT`; the sweeper sees no API Gateway events).
    pub async fn sweep(&self) -> Result<mcp_edge::sweeper::Sweep, String> {
        let sink: Arc<dyn ConnectionSink> = self.sink.clone();
        mcp_edge::sweeper::close_lapsed(self.router.state(), &sink).await
    }
}
