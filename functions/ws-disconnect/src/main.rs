//! The `$disconnect` route of the API Gateway WebSocket API. Wiring only: the handler is
//! `mcp_aws::App::websocket_event` (the same one the local gateway runs).

use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;
use lambda_runtime::{Error, LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    mcp_aws::init_logging();
    let app = mcp_aws::App::from_env().await?;
    let app = &app;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<ApiGatewayWebsocketProxyRequest>| async move {
        Ok::<_, Error>(app.websocket_event(event.payload).await)
    }))
    .await
}
