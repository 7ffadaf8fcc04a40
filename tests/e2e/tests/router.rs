//! Router behaviour that depends on the negotiated version or on configuration: version
//! negotiation, the error form of invalid tool arguments per version, pagination, cache
//! hints and `_meta` of 2026-07-28 results, log levels, progress ordering.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use serde_json::{Value, json};

use e2e::{Collected, http, meta};
use mcp_server::{Inbound, Outbound, RequestStateCodec, Router, RouterConfig, StateHandles, Transport};

fn router(config: RouterConfig) -> Router {
    Router::new(
        Arc::new(reference_server::server().unwrap()),
        StateHandles::in_memory(),
        RequestStateCodec::ephemeral(),
        config,
        None,
    )
}

async fn send(r: &Router, inbound: &mcp_server::Inbound, message: Value) -> (Value, Vec<Value>, Option<String>) {
    let out = Arc::new(Collected::default());
    let reply = r.handle(message.to_string().as_bytes(), inbound, out.clone() as Arc<dyn Outbound>).await;
    let body = reply.body.map(|b| serde_json::from_slice(&b).unwrap()).unwrap_or(Value::Null);
    (body, out.take(), reply.new_session)
}

async fn session(r: &Router, version: &str) -> String {
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":version,"capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let (body, _, session) = send(r, &http(None, None), init).await;
    assert!(body["result"]["protocolVersion"].is_string(), "{body}");
    session.unwrap()
}

#[tokio::test]
async fn initialize_echoes_a_known_version_and_offers_the_latest_otherwise() {
    let r = router(RouterConfig::default());
    for (asked, agreed) in [
        ("2025-06-18", "2025-06-18"),
        ("2024-11-05", "2024-11-05"),
        ("1999-01-01", "2025-11-25"),
        ("2026-07-28", "2025-11-25"),
    ] {
        let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":asked,"capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
        let (body, _, _) = send(&r, &http(None, None), init).await;
        assert_eq!(body["result"]["protocolVersion"], agreed, "asked {asked}");
        assert_eq!(body["result"]["serverInfo"]["name"], "mcp-serverless-reference");
    }
}

#[tokio::test]
async fn invalid_tool_arguments_are_a_tool_error_from_2025_11_25_and_a_protocol_error_before() {
    let r = router(RouterConfig::default());
    let call = json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"text":5}}});
    let new = session(&r, "2025-11-25").await;
    let (body, _, _) = send(&r, &http(Some(&new), Some("2025-11-25")), call.clone()).await;
    assert_eq!(body["result"]["isError"], true, "{body}");
    let old = session(&r, "2025-06-18").await;
    let (body, _, _) = send(&r, &http(Some(&old), Some("2025-06-18")), call).await;
    assert_eq!(body["error"]["code"], -32602, "{body}");
}

#[tokio::test]
async fn lists_are_paginated_with_opaque_cursors() {
    let r = router(RouterConfig { page_size: 2, ..RouterConfig::default() });
    let s = session(&r, "2025-11-25").await;
    let inbound = http(Some(&s), Some("2025-11-25"));
    let (mut names, mut cursor, mut pages) = (Vec::new(), None::<String>, 0);
    loop {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let (body, _, _) =
            send(&r, &inbound, json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":params})).await;
        let result = &body["result"];
        names.extend(result["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()));
        pages += 1;
        match result["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(names.len(), 8);
    assert_eq!(pages, 4);
    let (body, _, _) =
        send(&r, &inbound, json!({"jsonrpc":"2.0","id":2,"method":"tools/list","params":{"cursor":"bogus"}})).await;
    assert_eq!(body["error"]["code"], -32602);
}

#[tokio::test]
async fn stateless_results_carry_result_type_cache_hints_and_server_info() {
    let r = router(RouterConfig::default());
    let inbound = Inbound::new(Transport::Stdio);
    let m = meta(json!({}));
    for method in ["tools/list", "resources/list", "resources/templates/list", "prompts/list", "server/discover"] {
        let (body, _, _) =
            send(&r, &inbound, json!({"jsonrpc":"2.0","id":1,"method":method,"params":{"_meta":m}})).await;
        let result = &body["result"];
        assert_eq!(result["resultType"], "complete", "{method}: {body}");
        assert!(result["ttlMs"].is_u64() && result["cacheScope"].is_string(), "{method}: {body}");
        assert_eq!(result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], "mcp-serverless-reference");
    }
    let (body, _, _) = send(&r, &inbound, json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"},"_meta":m}})).await;
    assert_eq!(body["result"]["resultType"], "complete");
    assert!(body["result"].get("ttlMs").is_none(), "tool results are not cacheable");
}

#[tokio::test]
async fn the_log_level_is_set_per_session_in_the_session_era_only() {
    let r = router(RouterConfig::default());
    let s = session(&r, "2025-11-25").await;
    let inbound = http(Some(&s), Some("2025-11-25"));
    let (body, _, _) =
        send(&r, &inbound, json!({"jsonrpc":"2.0","id":1,"method":"logging/setLevel","params":{"level":"error"}}))
            .await;
    assert_eq!(body["result"], json!({}));
    let (body, _, _) =
        send(&r, &inbound, json!({"jsonrpc":"2.0","id":2,"method":"logging/setLevel","params":{"level":"loud"}})).await;
    assert_eq!(body["error"]["code"], -32602);
    // 2026-07-28 has no logging/setLevel.
    let (body, _, _) = send(
        &r,
        &Inbound::new(Transport::Stdio),
        json!({"jsonrpc":"2.0","id":3,"method":"logging/setLevel","params":{"level":"info","_meta":meta(json!({}))}}),
    )
    .await;
    assert_eq!(body["error"]["code"], -32601);
}

#[tokio::test]
async fn progress_goes_to_the_requests_stream_before_its_response() {
    let r = router(RouterConfig::default());
    let (body, sent, _) = send(&r, &Inbound::new(Transport::Stdio), json!({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"countdown","arguments":{"seconds":1},"_meta":{"progressToken":"p","io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}})).await;
    assert_eq!(body["result"]["content"][0]["text"], "Counted down from 1");
    let progress: Vec<_> = sent
        .iter()
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| m["params"]["progress"].as_f64().unwrap())
        .collect();
    assert_eq!(progress, vec![0.0, 1.0]);
    assert!(sent.iter().all(|m| m["params"]["progressToken"] == "p"));
}
