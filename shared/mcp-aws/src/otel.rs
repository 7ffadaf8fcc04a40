//! The OpenTelemetry exporter (feature `otel`): spans over OTLP/HTTP (protobuf) to a
//! collector, normally the one a Lambda layer runs beside the function (ADOT, or any OTLP
//! collector extension) at `http://localhost:4318`. On when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set; off otherwise.
//!
//! Exported: each message's `mcp.request` span (named by its method, in the caller's trace
//! when its `_meta` has a `traceparent`), and under it the AWS SDK's DynamoDB spans and the
//! Redis commands. `MCP_OTEL_FILTER` chooses the spans (an `EnvFilter`; default below).
//! A Lambda environment freezes between events, so each handler flushes after its event.

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{SpanExporter, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer};

/// Which spans go out unless `MCP_OTEL_FILTER` says otherwise: the request spans, DynamoDB
/// operations (the SDK's spans at debug), Redis commands (`fred`, debug).
pub const DEFAULT_FILTER: &str = "mcp::request=debug,aws_sdk_dynamodb=debug,fred=debug,off";

/// The exporter of this process; flush it after each event.
#[derive(Clone)]
pub struct Exporter {
    provider: SdkTracerProvider,
}

impl Exporter {
    /// The exporter the environment asks for, if any.
    pub fn from_env() -> Result<Option<Exporter>, crate::BoxError> {
        let traces = std::env::var("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT").ok().filter(|v| !v.is_empty());
        let base = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|v| !v.is_empty());
        let Some(endpoint) = traces.or_else(|| base.map(|b| format!("{}/v1/traces", b.trim_end_matches('/')))) else {
            return Ok(None);
        };
        let service = std::env::var("AWS_LAMBDA_FUNCTION_NAME").unwrap_or_else(|_| "mcp".into());
        Exporter::new(&endpoint, &service).map(Some)
    }

    /// Spans to `endpoint` (the full URL, `.../v1/traces`), as service `service`.
    pub fn new(endpoint: &str, service: &str) -> Result<Exporter, crate::BoxError> {
        let exporter = SpanExporter::builder().with_http().with_endpoint(endpoint).build()?;
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter)
            .with_resource(Resource::builder().with_service_name(service.to_owned()).build())
            .build();
        Ok(Exporter { provider })
    }

    /// The layer that turns spans into OpenTelemetry spans, filtered by `MCP_OTEL_FILTER`.
    pub fn layer<S>(&self) -> impl Layer<S> + use<S>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let filter = EnvFilter::try_from_env("MCP_OTEL_FILTER").unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
        tracing_opentelemetry::layer().with_tracer(self.provider.tracer("mcp")).with_filter(filter)
    }

    /// Sends every finished span now (blocking: the HTTP client waits), so that nothing waits
    /// in the batch while the environment is frozen.
    pub async fn flush(&self) {
        let provider = self.provider.clone();
        match tokio::task::spawn_blocking(move || provider.force_flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "spans not exported"),
            Err(e) => tracing::warn!(error = %e, "span export did not finish"),
        }
    }
}
