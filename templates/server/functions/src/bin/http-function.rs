//! Streamable HTTP behind the Function URL (response streaming).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_aws::run_http(starter_server::server).await
}
