//! A real Function URL event (payload 2.0) through the `http` function's handler. A
//! stateless tools/list touches no store, so the AWS clients are built but never called.

#![allow(clippy::unwrap_used)]

use http_body_util::BodyExt;

use mcp_aws::settings::{ServerChoice, Settings};

fn settings() -> Settings {
    Settings {
        table: "unused".into(),
        redis: None,
        auth: None,
        rate_limit_per_minute: 0,
        max_in_flight: 0,
        server: ServerChoice::Reference,
        request_state_key: b"k".repeat(32),
        connections_endpoint: None,
        allowed_origins: vec![],
        allowed_hosts: vec![],
        registry_table: None,
        lambda_endpoint: None,
    }
}

#[tokio::test]
async fn a_function_url_event_is_served() {
    let sdk = aws_config::SdkConfig::builder()
        .region(aws_config::Region::new("us-east-1"))
        .behavior_version(aws_config::BehaviorVersion::latest())
        .build();
    let app = mcp_aws::App::new(settings(), sdk).unwrap();
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
