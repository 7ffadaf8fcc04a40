//! AWS edge adapters: what the Lambda functions share. Settings from the environment, the
//! deployment's state (DynamoDB for what must last, Redis for signalling, connected lazily so
//! that init makes no network calls), the `@connections` sink over
//! `aws-sdk-apigatewaymanagement`, and the conversion of Function URL requests and responses.
//!
//! Only this crate, `mcp-edge` and `functions/*` know AWS event shapes.

// The crate is part of the public API a server author reads: every public item says what it is.
#![warn(missing_docs)]

pub mod app;
pub mod authorizer;
pub mod compose;
pub mod elasticache;
pub mod emf;
pub mod function_url;
pub mod lambda_tasks;
pub mod lambda_tools;
mod lazy_redis;
#[cfg(feature = "otel")]
pub mod otel;
pub mod settings;
pub mod sink;

/// The error of building the application: a setting, a store, a key.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub use app::App;
pub use compose::Shared;
pub use settings::{Host, KeySource, RedisSettings, Settings, SettingsError};

use mcp_server::Server;

/// Defines a deployment's server: the user's `fn server() -> Result<Server, E>`, called once
/// when a function starts (or once per instance of the local gateway).
pub trait ServerFn: Fn() -> Result<Server, Self::Error> {
    /// What a definition that does not build says.
    type Error: Into<BoxError>;
}

impl<F, E> ServerFn for F
where
    F: Fn() -> Result<Server, E>,
    E: Into<BoxError>,
{
    type Error = E;
}

/// Builds the application of a function serving `server`.
async fn app_from_env(server: impl ServerFn) -> Result<App, BoxError> {
    App::from_env(server().map_err(Into::into)?).await
}

/// The whole life of a WebSocket route's function (`$connect`, `$default`, `$disconnect`
/// all run it): logging, the application serving `server` built once, then every event
/// handed to it.
///
/// ```no_run
/// # fn server() -> Result<mcp_server::Server, mcp_server::DefinitionError> { unimplemented!() }
/// #[tokio::main]
/// async fn main() -> Result<(), lambda_runtime::Error> {
///     mcp_aws::run_websocket(server).await
/// }
/// ```
pub async fn run_websocket(server: impl ServerFn) -> Result<(), lambda_runtime::Error> {
    use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
    use lambda_runtime::{LambdaEvent, service_fn};
    let telemetry = &init_logging();
    let app = app_from_env(server).await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
        let response = app.websocket_event(event.payload).await;
        // A reply in the response must reach API Gateway within its wait (the edge keeps
        // 3 s of it): a slow span export must not hold the response longer. What is not
        // exported by then goes with the next event's.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), telemetry.event_done()).await;
        Ok::<_, lambda_runtime::Error>(response)
    }))
    .await
}

/// The whole life of the Streamable HTTP function behind a Function URL with response
/// streaming: logging, the application serving `server` built once, then every request.
pub async fn run_http(server: impl ServerFn) -> Result<(), lambda_runtime::Error> {
    use lambda_http::{Request, service_fn};
    let telemetry = &init_logging();
    let app = app_from_env(server).await?;
    let app = &app;
    lambda_http::run_with_streaming_response(service_fn(move |request: Request| async move {
        let response = function_url::handle(app, request).await;
        // Spans of a streamed response that outlive this point go with the next event's.
        telemetry.event_done().await;
        response
    }))
    .await
}

/// The whole life of the sweeper function, run on a schedule: each event (its content does
/// not matter) closes the connections that have lapsed since the last runs, and fails the
/// tasks whose worker stopped.
pub async fn run_sweeper(server: impl ServerFn) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{LambdaEvent, service_fn};
    let telemetry = &init_logging();
    let app = app_from_env(server).await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move {
        let sweep = app.sweep().await;
        telemetry.event_done().await;
        let sweep = sweep.map_err(lambda_runtime::Error::from)?;
        Ok::<_, lambda_runtime::Error>(serde_json::json!({
            "closed": sweep.closed, "failed": sweep.failed, "tasksFailed": sweep.tasks_failed,
        }))
    }))
    .await
}

/// The whole life of the task worker function: each event is one run of a task's work
/// ([`mcp_server::TaskRun`], sent by the function that created or resumed the task), carried
/// out to its end within the invocation, which stops the work in time to record that it did
/// not finish when its deadline comes first.
pub async fn run_task_worker(server: impl ServerFn) -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{LambdaEvent, service_fn};
    let telemetry = &init_logging();
    let app = app_from_env(server).await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<mcp_server::TaskRun>| async move {
        let deadline_ms = event.context.deadline;
        app.router.run_task(&event.payload, Some(deadline_ms)).await;
        telemetry.event_done().await;
        Ok::<_, lambda_runtime::Error>(serde_json::json!({ "taskId": event.payload.task_id }))
    }))
    .await
}

/// The whole life of the `$connect` authorizer function: logging, the validator built once
/// from `MCP_AUTH_*` (keys fetched on first use), then every handshake checked.
pub async fn run_authorizer() -> Result<(), lambda_runtime::Error> {
    use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
    use lambda_runtime::{LambdaEvent, service_fn};
    let telemetry = &init_logging();
    let config =
        mcp_auth::AuthConfig::from_env()?.ok_or("the authorizer needs MCP_AUTH_ISSUER and MCP_AUTH_AUDIENCE")?;
    let validator = mcp_auth::TokenValidator::from_config(config)?;
    let validator = &validator;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest>| async move {
            let verdict = authorizer::authorize(validator, &event.payload).await;
            telemetry.event_done().await;
            verdict.map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}

/// A DynamoDB client of the usual AWS configuration (at `endpoint` if given: LocalStack,
/// moto, ...), with the deployment's deadlines: for the local gateway and the admin CLI.
pub async fn dynamodb_client(endpoint: Option<&str>) -> aws_sdk_dynamodb::Client {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(endpoint) = endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    mcp_state_dynamodb::client::client((&loader.load().await).into())
}

/// What [`init_logging`] set up that a handler acts on after each event.
#[derive(Clone, Default)]
pub struct Telemetry {
    #[cfg(feature = "otel")]
    exporter: Option<otel::Exporter>,
}

impl Telemetry {
    /// After each event: exports the spans it made (feature `otel`, when configured), so
    /// that none wait in a buffer while the environment is frozen. Nothing otherwise.
    pub async fn event_done(&self) {
        #[cfg(feature = "otel")]
        if let Some(exporter) = &self.exporter {
            exporter.flush().await;
        }
    }
}

/// JSON logs to stdout (CloudWatch), filtered by `RUST_LOG` (default `info`), and, whatever
/// `RUST_LOG` says, one EMF line per message served and per fan-out (`emf`): the request log
/// and the metrics in one. With the feature `otel` and an OTLP endpoint in the environment,
/// spans are exported too (module `otel`).
pub fn init_logging() -> Telemetry {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::{EnvFilter, Layer, filter};
    let env = EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let not_emf =
        filter::filter_fn(|m| m.target() != mcp_server::observe::SERVED && m.target() != mcp_server::observe::FAN_OUT);
    let logs = tracing_subscriber::fmt::layer().json().with_target(false).with_filter(env).with_filter(not_emf);
    let metrics = emf::EmfLayer.with_filter(
        filter::Targets::new()
            .with_target(mcp_server::observe::SERVED, tracing::Level::INFO)
            .with_target(mcp_server::observe::FAN_OUT, tracing::Level::INFO),
    );
    let registry = tracing_subscriber::registry().with(logs).with(metrics);
    #[cfg(feature = "otel")]
    {
        let exporter = otel::Exporter::from_env().unwrap_or_else(|e| {
            eprintln!("OpenTelemetry exporter not started: {e}");
            None
        });
        let _ = registry.with(exporter.as_ref().map(otel::Exporter::layer)).try_init();
        Telemetry { exporter }
    }
    #[cfg(not(feature = "otel"))]
    {
        let _ = registry.try_init();
        Telemetry::default()
    }
}
