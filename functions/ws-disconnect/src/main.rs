//! The `$disconnect` route of the API Gateway WebSocket API. Wiring only: the three WebSocket
//! functions run the same handler (`mcp_aws::App::websocket_event`, also what the local
//! gateway runs); they are separate so that each route has its own permissions and limits.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_aws::run_websocket(deployed_server::server).await
}
