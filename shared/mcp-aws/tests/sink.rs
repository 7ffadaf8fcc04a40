//! `PostToConnection` against an endpoint that accepts connections and never answers: the
//! post fails within its deadline instead of holding the invocation (and every fan-out
//! delivery behind it) until the function's timeout.

#![allow(clippy::unwrap_used)]

use mcp_aws::sink::ApiGatewaySink;
use mcp_server::{ConnectionSink, PostError};

#[tokio::test]
async fn a_post_to_an_api_that_never_answers_fails_instead_of_hanging() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    // Accepts every connection and reads nothing back: the request goes out, no reply comes.
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::provider::SharedCredentialsProvider::new(
            aws_credential_types::Credentials::new("k", "s", None, None, "test"),
        ))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let sink = ApiGatewaySink::new(sdk, Some(endpoint));
    // The guard only keeps a regression from hanging the suite; the post's own deadline
    // (seconds) is what ends it.
    let posted = tokio::time::timeout(std::time::Duration::from_secs(60), sink.post("c1", b"{}".to_vec())).await;
    let failed = posted.expect("the post must end by its own deadline");
    assert!(matches!(failed, Err(PostError::Failed(_))), "{failed:?}");
    silent.abort();
}
