//! The WebSocket API's `$default` route.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_aws::run_websocket(starter_server::server).await
}
