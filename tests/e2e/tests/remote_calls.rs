//! Remote calls per request type, warm and cold, with the real backends (DynamoDB on moto,
//! redis-server): the hot-path targets are 0 DynamoDB calls and at most 1 Redis call for a
//! 2026-07-28 `tools/call` and for a session-era request whose session is in L1. Run by
//! `tests/run` (`--nocapture` prints the table); ignored by plain `cargo test`.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use serde_json::{Value, json};

use e2e::{Collected, meta};
use mcp_server::state::calls::RemoteCalls;
use mcp_server::{HttpHeaders, Inbound, Outbound, RequestStateCodec, Router, RouterConfig, StateHandles, Transport};

async fn backends() -> StateHandles {
    let endpoint = std::env::var("MCP_TEST_DYNAMODB_ENDPOINT").expect("MCP_TEST_DYNAMODB_ENDPOINT");
    let redis_url = std::env::var("MCP_TEST_REDIS_URL").expect("MCP_TEST_REDIS_URL");
    e2e::backends(&endpoint, &redis_url, "remote-calls").await
}

fn stateless_http(method: &str, name: Option<&str>) -> Inbound {
    let headers = HttpHeaders {
        protocol_version: Some("2026-07-28".into()),
        method: Some(method.into()),
        name: name.map(str::to_owned),
        params: Vec::new(),
    };
    Inbound { http: Some(headers), ..Inbound::new(Transport::Http) }
}

fn session_http(session: &str) -> Inbound {
    let headers = HttpHeaders { protocol_version: Some("2025-11-25".into()), ..Default::default() };
    Inbound { session_id: Some(session.into()), http: Some(headers), ..Inbound::new(Transport::Http) }
}

async fn send(r: &Router, inbound: &Inbound, message: Value) -> (Value, RemoteCalls, Option<String>) {
    let out: Arc<dyn Outbound> = Arc::new(Collected::default());
    let reply = r.handle(message.to_string().as_bytes(), inbound, out).await;
    (reply.body.map(|b| serde_json::from_slice(&b).unwrap()).unwrap_or(Value::Null), reply.calls, reply.new_session)
}

#[tokio::test]
#[ignore = "needs DynamoDB and Redis: run through tests/run"]
async fn remote_calls_per_request_type() {
    let state = backends().await;
    let codec = RequestStateCodec::ephemeral();
    let instance = || {
        let server = reference_server::server().unwrap();
        Router::new(Arc::new(server), state.clone().with_l1(), codec.clone(), RouterConfig::default(), None)
    };
    let (a, b) = (instance(), instance());
    let m = meta(json!({}));
    let mut table = Vec::new();
    let mut row = |label: &str, cold: RemoteCalls, warm: RemoteCalls| {
        table.push(format!("| {label} | {} / {} | {} / {} |", cold.dynamodb, cold.redis, warm.dynamodb, warm.redis));
        warm
    };

    let list = json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":m}});
    let (_, cold, _) = send(&b, &stateless_http("tools/list", None), list.clone()).await;
    let (body, warm, _) = send(&b, &stateless_http("tools/list", None), list).await;
    assert!(body["result"]["tools"].is_array());
    row("2026 tools/list", cold, warm);

    let call = json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"hi"},"_meta":m}});
    let (_, cold, _) = send(&b, &stateless_http("tools/call", Some("echo")), call.clone()).await;
    let (body, warm, _) = send(&b, &stateless_http("tools/call", Some("echo")), call).await;
    assert_eq!(body["result"]["content"][0]["text"], "hi");
    let stateless_call = row("2026 tools/call (echo)", cold, warm);

    let discover = json!({"jsonrpc":"2.0","id":3,"method":"server/discover","params":{"_meta":m}});
    let (_, cold, _) = send(&b, &stateless_http("server/discover", None), discover.clone()).await;
    let (_, warm, _) = send(&b, &stateless_http("server/discover", None), discover).await;
    row("2026 server/discover", cold, warm);

    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}});
    let headers = Inbound { http: Some(HttpHeaders::default()), ..session_http("") };
    let (_, init_calls, session) = send(&a, &Inbound { session_id: None, ..headers }, init).await;
    let session = session.unwrap();
    row("session initialize (instance A)", init_calls, init_calls);

    let call = json!({"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"echo","arguments":{"text":"x"}}});
    let (_, cold, _) = send(&b, &session_http(&session), call.clone()).await;
    let (body, warm, _) = send(&b, &session_http(&session), call).await;
    assert_eq!(body["result"]["content"][0]["text"], "x");
    let session_call = row("session tools/call (instance B; cold = L1 miss)", cold, warm);

    let ping = json!({"jsonrpc":"2.0","id":5,"method":"ping"});
    let (_, cold, _) = send(&a, &session_http(&session), ping.clone()).await;
    let (_, warm, _) = send(&a, &session_http(&session), ping).await;
    row("session ping (instance A)", cold, warm);

    println!("| request | cold DynamoDB / Redis | warm DynamoDB / Redis |\n|---|---|---|\n{}", table.join("\n"));
    assert_eq!(stateless_call.dynamodb, 0, "2026 tools/call, warm: no DynamoDB call");
    assert!(stateless_call.redis <= 1, "2026 tools/call, warm: at most one Redis call");
    assert_eq!(session_call.dynamodb, 0, "session-era request with its session in L1: no DynamoDB call");
    assert!(session_call.redis <= 1, "session-era request with its session in L1: at most one Redis call");
}
