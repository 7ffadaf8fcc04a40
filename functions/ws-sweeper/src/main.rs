//! The scheduled sweeper: closes WebSocket connections whose token (or API Gateway's 2-hour
//! lifetime) has ended, even when the client never sends another message. Wiring only: the
//! run is `mcp_aws::App::sweep`, which the local gateway also runs.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_aws::run_sweeper(deployed_server::server).await
}
