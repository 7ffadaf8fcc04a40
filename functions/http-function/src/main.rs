//! Streamable HTTP behind a Lambda Function URL with response streaming. Wiring only: the
//! handler is `mcp_aws::function_url::handle` over the same edge the local gateway serves.

use lambda_http::{Error, Request, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    let telemetry = &mcp_aws::init_logging();
    let app = mcp_aws::App::from_env().await?;
    let app = &app;
    lambda_http::run_with_streaming_response(service_fn(move |request: Request| async move {
        let response = mcp_aws::function_url::handle(app, request).await;
        // Spans of a streamed response that outlive this point go with the next event's.
        telemetry.event_done().await;
        response
    }))
    .await
}
