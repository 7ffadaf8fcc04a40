//! Posts one message to a connection through `ApiGatewaySink` (the functions' `@connections`
//! client) at a given endpoint, and prints `ok`, `gone` or `failed: ...`. The local gateway's
//! tests use it against `/@connections`.
//!
//! `post_to_connection ENDPOINT CONNECTION_ID MESSAGE`

use mcp_aws::sink::ApiGatewaySink;
use mcp_server::{ConnectionSink, PostError};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [endpoint, connection, message] = args.as_slice() else {
        eprintln!("usage: post_to_connection ENDPOINT CONNECTION_ID MESSAGE");
        std::process::exit(2);
    };
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let sink = ApiGatewaySink::new(sdk, Some(endpoint.clone()));
    match sink.post(connection, message.clone().into_bytes()).await {
        Ok(()) => println!("ok"),
        Err(PostError::Gone(_)) => println!("gone"),
        Err(PostError::Failed(why)) => println!("failed: {why}"),
    }
}
