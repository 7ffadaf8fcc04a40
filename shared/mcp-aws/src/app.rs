//! One instance of the application: a router per server and the two edges over them.
//! A function builds one in init and hands it every event; the local gateway builds N.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};

use mcp_edge::http::{HttpConfig, HttpEdge, StreamLimits};
use mcp_edge::origin::OriginPolicy;
use mcp_edge::rate::{RateLimit, RateLimits};
use mcp_edge::websocket::WebSocketEdge;
use mcp_server::registry::LiveCatalogue;
use mcp_server::{BoxFuture, ConnectionSink, Router, RouterConfig, Server};

use crate::BoxError;
use crate::compose::Shared;
use crate::settings::{Host, Settings};
use crate::sink::ApiGatewaySink;

/// One instance of the application: the default server's router and the edges that reach it
/// (and, with a registry, the registered servers' routers they build on first use).
pub struct App {
    /// The default server's router, over this instance's view of the stores (with its own L1
    /// when versions are shared).
    pub router: Arc<Router>,
    /// The API Gateway WebSocket edge: `$connect`, `$default` and `$disconnect` events.
    pub websocket: WebSocketEdge,
    /// The Streamable HTTP edge, which Function URL requests are converted for.
    pub http: HttpEdge,
    sink: Arc<dyn ConnectionSink>,
    /// The `@connections` client, when this instance posts through API Gateway's API: it
    /// learns the endpoint from the first WebSocket event unless configured.
    api_gateway: Option<Arc<ApiGatewaySink>>,
}

impl App {
    /// A function's application serving `server`: settings from the environment, AWS
    /// configuration from the usual chain, messages through `@connections` (and replies as
    /// the response, with `MCP_WS_REPLIES=route-response`). No network calls
    /// but the request-state key's read from Secrets Manager, when configured: credentials
    /// resolve and Redis connects on first use.
    pub async fn from_env(server: Server) -> Result<App, BoxError> {
        let settings = Settings::from_env()?;
        let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
        let shared = Shared::build(settings, sdk).await?;
        App::with_api_gateway(&shared, server)
    }

    /// An instance that posts to connections through `@connections`
    /// (`MCP_CONNECTIONS_ENDPOINT`, or learnt from the first WebSocket event).
    pub fn with_api_gateway(shared: &Shared, server: Server) -> Result<App, BoxError> {
        let sink = Arc::new(ApiGatewaySink::new(shared.sdk.clone(), shared.settings.connections_endpoint.clone()));
        let mut app = App::new(shared, server, sink.clone())?;
        app.api_gateway = Some(sink);
        Ok(app)
    }

    /// An instance over `shared` serving `server` (each instance has its own definition, as
    /// each Lambda instance does), posting to WebSocket connections through `sink`.
    pub fn new(shared: &Shared, server: Server, sink: Arc<dyn ConnectionSink>) -> Result<App, BoxError> {
        let settings = &shared.settings;
        let server = Arc::new(server);
        let state = shared.instance_state();
        let shared_signals = shared.signals_shared();
        let mut router = Router::new(
            server.clone(),
            state.clone(),
            shared.request_states.clone(),
            router_config(settings, shared_signals, shared.task_launcher.clone()),
            Some(sink.clone()),
        );
        if let Some(registry) = &shared.registry {
            let name = server.info().name.clone();
            // The registry is changed by another process (the admin): only Redis carries its
            // version bumps. Without Redis every revalidation reads the registry's own version.
            let versions = settings.redis.as_ref().map(|_| state.versions.clone());
            let live =
                LiveCatalogue::new(server, name, registry.store.clone(), versions, Some(registry.invoker.clone()));
            router = router.with_registry(Arc::new(live));
        }
        let router = Arc::new(router);
        // One set of servers for both edges: a registered server's router is built once.
        let servers = mcp_server::Servers::from(router.clone());
        let origin = OriginPolicy {
            allowed_hosts: settings.allowed_hosts.clone(),
            allowed_origins: settings.allowed_origins.clone(),
        };
        // Each instance checks tokens with its own key cache, as each Lambda instance does.
        let auth = match &settings.auth {
            Some(config) => Some(Arc::new(mcp_auth::TokenValidator::from_config(config.clone())?)),
            None => None,
        };
        let rate_limits = RateLimits {
            principal: RateLimit::per_minute(settings.rate_limit_per_minute),
            anonymous: RateLimit::per_minute(settings.anonymous_rate_limit_per_minute),
        };
        let http_config = HttpConfig {
            origin: origin.clone(),
            auth,
            rate_limits,
            streams: StreamLimits {
                lifetime: (settings.http_stream_seconds > 0)
                    .then(|| std::time::Duration::from_secs(settings.http_stream_seconds)),
                per_caller: (settings.http_streams_per_caller > 0).then_some(settings.http_streams_per_caller),
                total: (settings.http_streams > 0).then_some(settings.http_streams),
            },
            shared_signals,
            // A frozen environment runs nothing after its response: a request keeps its
            // stream until it is done instead of detaching from it.
            detach: settings.host == Host::LongRunning,
            ..HttpConfig::default()
        };
        let http = HttpEdge::new(servers.clone(), http_config);
        let websocket = WebSocketEdge::new(servers, sink.clone(), origin)
            .with_rate_limits(rate_limits)
            .with_max_in_flight(Some(settings.max_in_flight))
            .with_replies(settings.ws_replies);
        Ok(App { router, websocket, http, sink, api_gateway: None })
    }

    /// Handles one API Gateway WebSocket event (`$connect`, `$default`, `$disconnect`). The
    /// request's future is large (a whole dispatch): it lives on the heap, not the stack.
    pub fn websocket_event(&self, event: ApiGatewayWebsocketProxyRequest) -> BoxFuture<'_, ApiGatewayProxyResponse> {
        let ctx = &event.request_context;
        if let (Some(api_gateway), Some(domain), Some(stage)) = (&self.api_gateway, &ctx.domain_name, &ctx.stage) {
            api_gateway.use_endpoint(&format!("https://{domain}/{stage}"));
        }
        Box::pin(self.websocket.handle(event))
    }

    /// One run of the sweeper: closes the connections whose token or lifetime has ended
    /// (through `MCP_CONNECTIONS_ENDPOINT`; the sweeper sees no API Gateway events).
    pub async fn sweep(&self) -> Result<mcp_edge::sweeper::Sweep, String> {
        mcp_edge::sweeper::sweep(&self.router, &self.sink).await
    }
}

/// The router's limits from the settings (the router's own defaults where they say nothing).
fn router_config(
    settings: &Settings,
    shared_signals: bool,
    task_launcher: Option<Arc<dyn mcp_server::TaskLauncher>>,
) -> RouterConfig {
    let defaults = RouterConfig::default();
    let max_sessions_per_principal = match settings.sessions_per_principal {
        // Without shared counters a session's place would be given back on another
        // instance than the one that counted it: the cap would only ever grow.
        _ if !shared_signals => None,
        None => defaults.max_sessions_per_principal,
        Some(0) => None,
        Some(n) => Some(n),
    };
    // A task's work runs on after the response that returns its handle: where the process
    // runs on too, or in the worker function's own invocations.
    let run_tasks = settings.host == Host::LongRunning || task_launcher.is_some();
    let task_lease = match settings.task_lease_seconds {
        0 => defaults.task_lease,
        seconds => std::time::Duration::from_secs(seconds),
    };
    // Without shared counters a task's place would be given back where it was not taken (the
    // worker, the sweeper, another instance): the cap would only ever grow.
    let max_tasks_per_principal = if shared_signals { defaults.max_tasks_per_principal } else { None };
    RouterConfig {
        shared_signals,
        max_sessions_per_principal,
        run_tasks,
        task_launcher,
        task_lease,
        max_tasks_per_principal,
        ..defaults
    }
}
