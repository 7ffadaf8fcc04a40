//! The REQUEST authorizer of the WebSocket API's `$connect` route. Wiring only: the check is
//! `mcp_aws::authorizer::authorize`, the one the local gateway runs on its handshakes.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_aws::run_authorizer().await
}
