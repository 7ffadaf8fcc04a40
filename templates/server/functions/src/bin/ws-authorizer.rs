//! The WebSocket API's `$connect` authorizer: checks the bearer token (MCP_AUTH_*).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_aws::run_authorizer().await
}
