//! AWS edge adapters: what the Lambda functions share. Settings from the environment, the
//! deployment's state (DynamoDB for what must last, Redis for signalling, connected lazily so
//! that init makes no network calls), the `@connections` sink over
//! `aws-sdk-apigatewaymanagement`, and the conversion of Function URL requests and responses.
//!
//! Only this crate, `mcp-edge` and `functions/*` know AWS event shapes.

pub mod app;
pub mod authorizer;
pub mod elasticache;
pub mod emf;
pub mod function_url;
mod lazy_redis;
pub mod settings;
pub mod sink;

pub use app::App;
pub use settings::{RedisSettings, Settings, SettingsError};

/// The whole life of a WebSocket route's function: logging, the application built once,
/// then every event handed to it.
pub async fn run_websocket_function() -> Result<(), lambda_runtime::Error> {
    use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
    use lambda_runtime::{LambdaEvent, service_fn};
    init_logging();
    let app = App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
        Ok::<_, lambda_runtime::Error>(app.websocket_event(event.payload).await)
    }))
    .await
}

/// The whole life of the sweeper function, run on a schedule: each event (its content does
/// not matter) closes the connections that have lapsed since the last runs.
pub async fn run_sweeper_function() -> Result<(), lambda_runtime::Error> {
    use lambda_runtime::{LambdaEvent, service_fn};
    init_logging();
    let app = App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |_: LambdaEvent<serde_json::Value>| async move {
        let sweep = app.sweep().await.map_err(lambda_runtime::Error::from)?;
        Ok::<_, lambda_runtime::Error>(serde_json::json!({ "closed": sweep.closed, "failed": sweep.failed }))
    }))
    .await
}

/// The whole life of the `$connect` authorizer function: logging, the validator built once
/// from `MCP_AUTH_*` (keys fetched on first use), then every handshake checked.
pub async fn run_authorizer_function() -> Result<(), lambda_runtime::Error> {
    use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerRequestTypeRequest;
    use lambda_runtime::{LambdaEvent, service_fn};
    init_logging();
    let config =
        mcp_auth::AuthConfig::from_env()?.ok_or("the authorizer needs MCP_AUTH_ISSUER and MCP_AUTH_AUDIENCE")?;
    let validator = mcp_auth::TokenValidator::from_config(config)?;
    let validator = &validator;
    lambda_runtime::run(service_fn(
        move |event: LambdaEvent<ApiGatewayCustomAuthorizerRequestTypeRequest>| async move {
            authorizer::authorize(validator, &event.payload).await.map_err(lambda_runtime::Error::from)
        },
    ))
    .await
}

/// JSON logs to stdout (CloudWatch), filtered by `RUST_LOG` (default `info`), and, whatever
/// `RUST_LOG` says, one EMF line per message served and per fan-out (`emf`): the request log
/// and the metrics in one.
pub fn init_logging() {
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
    let _ = tracing_subscriber::registry().with(logs).with(metrics).try_init();
}
