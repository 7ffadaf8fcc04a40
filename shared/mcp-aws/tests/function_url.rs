//! A real Function URL event (payload 2.0) through the `http` function's handler. A
//! stateless tools/list touches no store, so the AWS clients are built but never called.

#![allow(clippy::unwrap_used)]

use http_body_util::BodyExt;

use mcp_aws::{App, Host, KeySource, ServerChoice, Settings, Shared};

/// A function's settings with a table that is never called.
fn settings() -> Settings {
    Settings {
        table: Some("unused".into()),
        request_state_key: KeySource::Value(b"k".repeat(32)),
        ..Settings::new(Host::Lambda, ServerChoice::Reference)
    }
}

#[tokio::test]
async fn a_function_url_event_is_served() {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let shared = Shared::build(settings(), sdk).await.unwrap();
    let app = App::with_api_gateway(&shared).unwrap();
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
