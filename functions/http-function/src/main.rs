//! Streamable HTTP behind a Lambda Function URL with response streaming. Wiring only: the
//! handler is `mcp_aws::function_url::handle` over the same edge the local gateway serves.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_aws::run_http(deployed_server::server).await
}
