//! Runs every minute: closes WebSocket connections whose token or lifetime has ended.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_aws::run_sweeper(starter_server::server).await
}
