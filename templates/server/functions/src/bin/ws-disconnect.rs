//! The WebSocket API's `$disconnect` route.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_aws::run_websocket(starter_server::server).await
}
