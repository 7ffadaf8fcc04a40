//! A real Function URL event (payload 2.0) through the `http` function's handler. A
//! stateless tools/list touches no store, so the AWS clients are built but never called.

#![allow(clippy::unwrap_used)]

use http_body_util::BodyExt;

use mcp_aws::{App, Host, KeySource, Settings, Shared};

/// The SDK's configuration of a function, for clients that are built but not called.
fn sdk() -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build()
}

/// A function's settings with a table that is never called.
fn settings() -> Settings {
    Settings {
        table: Some("unused".into()),
        request_state_key: KeySource::Value(b"k".repeat(32)),
        ..Settings::new(Host::Lambda)
    }
}

#[tokio::test]
async fn a_function_url_event_is_served() {
    let sdk = sdk();
    let shared = Shared::build(settings(), sdk).await.unwrap();
    let app = App::with_api_gateway(&shared, reference_server::server().unwrap()).unwrap();
    let json =
        std::fs::read_to_string(format!("{}/tests/fixtures/function-url-tools-list.json", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    let request = lambda_http::request::from_str(&json).unwrap();
    assert_eq!(request.uri().path(), "/mcp");
    let response = mcp_aws::function_url::handle(&app, request).await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    let reply: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(reply["result"]["resultType"], "complete");
    assert!(reply["result"]["tools"].as_array().unwrap().iter().any(|t| t["name"] == "echo"));
}

/// A Function URL event for `body`, with `headers` added to the fixture's.
fn event(body: &serde_json::Value, headers: &[(&str, &str)]) -> lambda_http::Request {
    let json =
        std::fs::read_to_string(format!("{}/tests/fixtures/function-url-tools-list.json", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    let mut event: serde_json::Value = serde_json::from_str(&json).unwrap();
    let h = event["headers"].as_object_mut().unwrap();
    h.remove("mcp-protocol-version");
    h.remove("mcp-method");
    h.remove("content-length");
    for (k, v) in headers {
        h.insert((*k).to_owned(), serde_json::Value::from(*v));
    }
    event["body"] = serde_json::Value::from(body.to_string());
    lambda_http::request::from_str(&event.to_string()).unwrap()
}

/// The conformance server's `test_reconnection` (it detaches from its stream, SEP-1699, then
/// replies): whether its reply reaches the POST stream, on a host of `kind`.
async fn reply_on_the_post_stream(host: Host) -> bool {
    let sdk = sdk();
    let shared = Shared::build(Settings::new(host), sdk).await.unwrap();
    let app = App::with_api_gateway(&shared, conformance_server::server().unwrap()).unwrap();
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}});
    let response = mcp_aws::function_url::handle(&app, event(&init, &[])).await.unwrap();
    let session = response.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let session_headers = [("mcp-session-id", session.as_str()), ("mcp-protocol-version", "2025-11-25")];
    let initialized = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    mcp_aws::function_url::handle(&app, event(&initialized, &session_headers)).await.unwrap();
    let call = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "test_reconnection", "arguments": {}}});
    let response = mcp_aws::function_url::handle(&app, event(&call, &session_headers)).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8_lossy(&body).contains("Reconnection test completed")
}

#[tokio::test]
async fn on_lambda_a_request_keeps_its_stream_until_its_reply() {
    // A frozen environment would never send what follows a detach: on Lambda the request
    // declines to detach and its reply comes on the stream it started.
    assert!(reply_on_the_post_stream(Host::Lambda).await);
    // A long-running host detaches (the client resumes with Last-Event-ID for the reply).
    assert!(!reply_on_the_post_stream(Host::LongRunning).await);
}

/// An app of the reference server on `host`, without Redis.
async fn reference_without_redis(host: Host) -> App {
    let shared = Shared::build(Settings::new(host), sdk()).await.unwrap();
    App::with_api_gateway(&shared, reference_server::server().unwrap()).unwrap()
}

async fn text_of(response: http::Response<mcp_aws::function_url::ResponseBody>) -> (u16, String) {
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn on_lambda_without_redis_what_needs_a_shared_bus_is_refused_and_says_so() {
    // Before, a session-era elicitation waited its whole timeout (120 s) for an answer that
    // reached another instance, and a GET stream waited for notifications that never came.
    let app = reference_without_redis(Host::Lambda).await;
    let init = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {"elicitation": {}}, "clientInfo": {"name": "t", "version": "1"}}});
    let response = mcp_aws::function_url::handle(&app, event(&init, &[])).await.unwrap();
    let session = response.headers()["mcp-session-id"].to_str().unwrap().to_owned();
    let session_headers = [("mcp-session-id", session.as_str()), ("mcp-protocol-version", "2025-11-25")];
    let write = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "note_write", "arguments": {"name": "n", "text": "t"}}});
    mcp_aws::function_url::handle(&app, event(&write, &session_headers)).await.unwrap();
    let delete = serde_json::json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "note_delete", "arguments": {"name": "n"}}});
    let (_, body) = text_of(mcp_aws::function_url::handle(&app, event(&delete, &session_headers)).await.unwrap()).await;
    assert!(body.contains("RedisTier=none"), "the elicitation is refused at once, naming the tier: {body}");

    let mut get = event(&serde_json::Value::Null, &session_headers);
    *get.method_mut() = http::Method::GET;
    let (status, body) = text_of(mcp_aws::function_url::handle(&app, get).await.unwrap()).await;
    assert_eq!(status, 405, "{body}");
    assert!(body.contains("RedisTier=none"), "{body}");

    let listen = serde_json::json!({"jsonrpc": "2.0", "id": 4, "method": "subscriptions/listen", "params": {
        "notifications": {"toolsListChanged": true},
        "_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}}});
    let headers = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "subscriptions/listen")];
    let (status, body) = text_of(mcp_aws::function_url::handle(&app, event(&listen, &headers)).await.unwrap()).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("RedisTier=none"), "{body}");
}
