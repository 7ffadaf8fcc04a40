//! The registry through three router instances: an entry registered with the admin API
//! reaches a connection on another instance as `notifications/tools/list_changed`, shows in
//! every instance's `tools/list`, is called through the tool invoker, and goes when removed.
//! With the test command's backends the registry is a DynamoDB table and the versions are in
//! Redis; otherwise both are in memory. The Lambda path itself (aws-sdk-lambda against
//! `cargo lambda watch`) is `tests/node/registry.test.mjs`; here an in-process function
//! stands behind the same `ToolInvoker` contract.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::{Value, json};

use e2e::{Collected, Posts, meta, shared_state, websocket};
use mcp_server::registry::{Admin, Entry, InvokeError, LiveCatalogue, ServerEntry, ToolInvoker, ToolRequest};
use mcp_server::{
    ConnectionSink, HttpHeaders, Inbound, Notifier, Outbound, Reply, RequestStateCodec, Router, RouterConfig, Transport,
};

/// A function that counts words, as `functions/tool-word-count` does, and records requests.
#[derive(Default)]
struct WordCount(Mutex<Vec<ToolRequest>>);

#[async_trait]
impl ToolInvoker for WordCount {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        assert_eq!(function, "mcp-tool-word-count");
        let request: ToolRequest = serde_json::from_slice(&payload).unwrap();
        let words = request.arguments["text"].as_str().unwrap_or_default().split_whitespace().count();
        self.0.lock().unwrap().push(request);
        Ok(serde_json::to_vec(&json!({"content": [{"type": "text", "text": format!("{words} words")}]})).unwrap())
    }
}

async fn send(r: &Router, inbound: &Inbound, message: Value) -> (Reply, Value) {
    let out: Arc<dyn Outbound> = Arc::new(Collected::default());
    let mut reply = r.handle(message.to_string().as_bytes(), inbound, out).await;
    let body = reply.body.take().map_or(Value::Null, |b| serde_json::from_slice(&b).unwrap());
    (reply, body)
}

/// A 2026-07-28 request over HTTP, with the headers that era asks for.
fn stateless(method: &str, name: Option<&str>) -> Inbound {
    let headers = HttpHeaders {
        protocol_version: Some("2026-07-28".into()),
        method: Some(method.into()),
        name: name.map(str::to_owned),
        params: vec![],
    };
    Inbound { http: Some(headers), ..Inbound::new(Transport::Http) }
}

fn tools_list() -> Value {
    json!({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta": meta(json!({}))}})
}

fn call(name: &str, arguments: Value) -> Value {
    json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":name,"arguments":arguments,"_meta": meta(json!({}))}})
}

async fn names(r: &Router) -> Vec<String> {
    let (_, body) = send(r, &stateless("tools/list", None), tools_list()).await;
    body["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
async fn a_registered_tool_is_announced_listed_called_and_removed_across_instances() {
    let state = shared_state().await;
    let store = e2e::registry_store("e2e-registry").await;
    let posts = Arc::new(Posts::default());
    let function = Arc::new(WordCount::default());
    let server_name = format!("e2e-{}", mcp_server::ids::random_id().replace(['-', '_'], ""));
    let routers: Vec<Router> = (0..3)
        .map(|_| {
            let code = Arc::new(reference_server::server().unwrap());
            let instance = state.clone().with_l1();
            let sink: Arc<dyn ConnectionSink> = posts.clone();
            let invoker: Arc<dyn ToolInvoker> = function.clone();
            let live = LiveCatalogue::new(
                code.clone(),
                &server_name,
                store.clone(),
                Some(instance.versions.clone()),
                Some(invoker),
            );
            Router::new(code, instance, RequestStateCodec::ephemeral(), RouterConfig::default(), Some(sink))
                .with_registry(Arc::new(live))
        })
        .collect();
    let sink: Arc<dyn ConnectionSink> = posts.clone();
    let admin =
        Admin::new(store.clone(), Some(state.versions.clone()), Notifier::new(state.clone(), Some(sink), "admin"))
            .with_code(&server_name, Arc::new(reference_server::server().unwrap()));

    // A WebSocket session on instance 0 follows the tool list.
    let connection = format!("reg-{}", mcp_server::ids::random_id());
    let init = json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"r","version":"1"}}});
    send(&routers[0], &websocket(&connection), init).await;
    assert!(!names(&routers[1]).await.contains(&"word_count".to_owned()));

    admin.put_server(&ServerEntry { name: server_name.clone(), ..Default::default() }).await.unwrap();
    let entry: Entry = serde_json::from_value(json!({
        "kind": "tool", "name": "word_count", "description": "Counts words",
        "inputSchema": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        "implementation": {"type": "lambda", "function": "mcp-tool-word-count", "timeoutMs": 2000},
    }))
    .unwrap();
    let change = admin.put(&server_name, &entry).await.unwrap();
    assert!(change.notified >= 1 && change.warnings.is_empty(), "{change:?}");
    let announced = posts
        .0
        .lock()
        .unwrap()
        .iter()
        .any(|(c, m)| c == &connection && m["method"] == "notifications/tools/list_changed");
    assert!(announced, "the connection got list_changed");

    for r in &routers {
        assert!(names(r).await.contains(&"word_count".to_owned()), "every instance lists it");
    }
    // Warm: a list costs at most the version check (one Redis call), no DynamoDB call.
    let (reply, _) = send(&routers[1], &stateless("tools/list", None), tools_list()).await;
    assert!(reply.calls.redis <= 1 && reply.calls.dynamodb == 0, "{:?}", reply.calls);
    // A code tool's call never waits on the registry.
    let (reply, body) =
        send(&routers[2], &stateless("tools/call", Some("echo")), call("echo", json!({"text": "code"}))).await;
    assert_eq!(body["result"]["content"][0]["text"], "code");
    assert_eq!((reply.calls.redis, reply.calls.dynamodb), (0, 0));

    let traced = {
        let mut c = call("word_count", json!({"text": "one two three"}));
        c["params"]["_meta"]["traceparent"] = json!("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
        c
    };
    let (_, body) = send(&routers[2], &stateless("tools/call", Some("word_count")), traced).await;
    assert_eq!(body["result"]["content"][0]["text"], "3 words", "{body}");
    let seen = function.0.lock().unwrap().pop().unwrap();
    assert_eq!((seen.tool.as_str(), seen.server.as_str()), ("word_count", server_name.as_str()));
    assert_eq!(seen.traceparent.as_deref(), Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"));
    // Arguments are checked against the schema before the function is invoked.
    let (_, body) =
        send(&routers[0], &stateless("tools/call", Some("word_count")), call("word_count", json!({}))).await;
    assert_eq!(body["result"]["isError"], true);
    assert!(function.0.lock().unwrap().is_empty());

    let clash: Entry = serde_json::from_value(json!({
        "kind": "tool", "name": "echo", "inputSchema": {"type": "object"},
        "implementation": {"type": "lambda", "function": "mcp-tool-word-count"},
    }))
    .unwrap();
    let change = admin.put(&server_name, &clash).await.unwrap();
    assert!(change.warnings[0].contains("defined in code"), "{change:?}");
    let (_, body) =
        send(&routers[1], &stateless("tools/call", Some("echo")), call("echo", json!({"text": "still code"}))).await;
    assert_eq!(body["result"]["content"][0]["text"], "still code");

    admin.remove(&server_name, mcp_server::registry::EntryKind::Tool, "word_count").await.unwrap();
    for r in &routers {
        assert!(!names(r).await.contains(&"word_count".to_owned()), "gone from every instance");
    }
    let (_, body) =
        send(&routers[0], &stateless("tools/call", Some("word_count")), call("word_count", json!({"text": "x"}))).await;
    assert!(body["error"]["message"].as_str().unwrap().contains("Unknown tool"), "{body}");
    admin.remove_server(&server_name).await.unwrap();
}
