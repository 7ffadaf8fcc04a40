//! Several servers on one deployment, through the edges of three instances: `/mcp/{name}`
//! on HTTP and `?server=name` at `$connect` on WebSocket select a registered server; each
//! serves its own catalogue, its sessions only, and its allowed principals within its rate
//! limit; a name the registry does not know is a 404. With the test command's backends the
//! state and the registry are DynamoDB (moto) and Redis; otherwise memory.

#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayWebsocketProxyRequest, ApiGatewayWebsocketProxyRequestContext};
use aws_lambda_events::query_map::QueryMap;
use bytes::Bytes;
use serde_json::{Value, json};

use e2e::{Posts, shared_state};
use mcp_edge::http::{HttpBody, HttpConfig, HttpEdge};
use mcp_edge::origin::OriginPolicy;
use mcp_edge::websocket::WebSocketEdge;
use mcp_server::registry::{
    Admin, Entry, InvokeError, LiveCatalogue, RegistryStore, ServerEntry, ToolInvoker, ToolRequest,
};
use mcp_server::{ConnectionSink, Notifier, RequestStateCodec, Router, RouterConfig, Servers, StateHandles};

/// A function that answers with the tool's and the server's names.
struct Echo;

#[async_trait]
impl ToolInvoker for Echo {
    async fn invoke(&self, _function: &str, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let r: ToolRequest = serde_json::from_slice(&payload).unwrap();
        let text = format!("{} of {}", r.tool, r.server);
        Ok(serde_json::to_vec(&json!({"content": [{"type": "text", "text": text}]})).unwrap())
    }
}

struct Deployment {
    servers: Vec<Servers>,
    http: Vec<HttpEdge>,
    websocket: Vec<WebSocketEdge>,
    posts: Arc<Posts>,
    admin: Admin,
    /// Names made unique per run (the backends outlive it).
    alpha: String,
    beta: String,
    gamma: String,
}

fn tool(name: &str) -> Entry {
    serde_json::from_value(json!({
        "kind": "tool", "name": name, "inputSchema": {"type": "object"},
        "implementation": {"type": "lambda", "function": "mcp-tool-echo", "timeoutMs": 2000},
    }))
    .unwrap()
}

/// Three instances of the reference server as the default, with a registry in which
/// alpha and beta each have their own tool, and gamma admits only alice and dave, 4 requests
/// a minute each.
async fn deployment() -> Deployment {
    let state = shared_state().await;
    let store = e2e::registry_store("e2e-servers").await;
    let posts = Arc::new(Posts::default());
    let mut servers = Vec::new();
    let mut http = Vec::new();
    let mut websocket = Vec::new();
    for _ in 0..3 {
        let (s, h, w) = instance(&state, &store, &posts);
        servers.push(s);
        http.push(h);
        websocket.push(w);
    }
    let sink: Arc<dyn ConnectionSink> = posts.clone();
    let admin = Admin::new(store, Some(state.versions.clone()), Notifier::new(state.clone(), Some(sink), "admin"));
    let run = mcp_server::ids::random_id().replace(['-', '_'], "");
    let [alpha, beta, gamma] = ["alpha", "beta", "gamma"].map(|n| format!("{n}{}", &run[..8]));
    for name in [&alpha, &beta] {
        admin.put_server(&ServerEntry { name: name.clone(), ..Default::default() }).await.unwrap();
        admin.put(name, &tool(&format!("{name}_tool"))).await.unwrap();
    }
    let limited = ServerEntry {
        name: gamma.clone(),
        allowed_principals: Some(vec!["alice".into(), "dave".into()]),
        rate_limit: Some(4),
        ..Default::default()
    };
    admin.put_server(&limited).await.unwrap();
    Deployment { servers, http, websocket, posts, admin, alpha, beta, gamma }
}

fn instance(
    state: &StateHandles,
    store: &Arc<dyn RegistryStore>,
    posts: &Arc<Posts>,
) -> (Servers, HttpEdge, WebSocketEdge) {
    let code = Arc::new(reference_server::server().unwrap());
    let instance = state.clone().with_l1();
    let sink: Arc<dyn ConnectionSink> = posts.clone();
    let invoker: Arc<dyn ToolInvoker> = Arc::new(Echo);
    let name = code.info().name.clone();
    let live = LiveCatalogue::new(code.clone(), name, store.clone(), Some(instance.versions.clone()), Some(invoker));
    let router =
        Router::new(code, instance, RequestStateCodec::ephemeral(), RouterConfig::default(), Some(sink.clone()))
            .with_registry(Arc::new(live));
    let servers = Servers::from(Arc::new(router));
    let origin = OriginPolicy::loopback();
    let http = HttpEdge::new(servers.clone(), HttpConfig { origin: origin.clone(), ..HttpConfig::default() });
    (servers.clone(), http, WebSocketEdge::new(servers, sink, origin))
}

const SESSION_VERSION: &str = "2025-11-25";

/// A POST to `path`: its status, body and `Mcp-Session-Id`.
async fn post(edge: &HttpEdge, path: &str, session: Option<&str>, message: Value) -> (u16, Value, Option<String>) {
    let mut req = http::Request::post(path).header("mcp-protocol-version", SESSION_VERSION);
    if let Some(s) = session {
        req = req.header("mcp-session-id", s);
    }
    exchange(edge, req, message).await
}

/// A 2026-07-28 (stateless) request to `path`.
async fn post_stateless(edge: &HttpEdge, path: &str, method: &str) -> (u16, Value) {
    let req = http::Request::post(path).header("mcp-protocol-version", "2026-07-28").header("mcp-method", method);
    let message = request(9, method, json!({"_meta": e2e::meta(json!({}))}));
    let (status, body, _) = exchange(edge, req, message).await;
    (status, body)
}

/// A `DELETE` of a session at `path`: its status.
async fn delete(edge: &HttpEdge, path: &str, session: &str) -> u16 {
    let req = http::Request::delete(path).header("mcp-session-id", session);
    exchange(edge, req, Value::Null).await.0
}

async fn exchange(edge: &HttpEdge, req: http::request::Builder, message: Value) -> (u16, Value, Option<String>) {
    let req = req
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream");
    let body = if message.is_null() { Bytes::new() } else { Bytes::from(message.to_string()) };
    let response = edge.handle(req.body(body).unwrap()).await;
    let status = response.status().as_u16();
    let session = response.headers().get("mcp-session-id").map(|v| v.to_str().unwrap().to_owned());
    let body = match response.into_body() {
        HttpBody::Full(b) => serde_json::from_slice(&b).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    (status, body, session)
}

fn initialize() -> Value {
    json!({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":SESSION_VERSION,"capabilities":{},"clientInfo":{"name":"servers","version":"1"}}})
}

fn request(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc":"2.0","id":id,"method":method,"params":params})
}

fn tool_names(body: &Value) -> Vec<String> {
    body["result"]["tools"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
}

/// Opens an HTTP session with the server at `path` (on instance `on`) and lists its tools.
async fn http_session(d: &Deployment, path: &str) -> (String, Vec<String>) {
    let (status, body, session) = post(&d.http[0], path, None, initialize()).await;
    assert_eq!(status, 200, "{body}");
    let session = session.unwrap();
    let (status, body, _) = post(&d.http[1], path, Some(&session), request(1, "tools/list", json!({}))).await;
    assert_eq!(status, 200, "{body}");
    (session, tool_names(&body))
}

fn ws_event(
    route: &str,
    connection: &str,
    server: Option<&str>,
    principal: Option<&str>,
    body: Option<Value>,
) -> ApiGatewayWebsocketProxyRequest {
    let mut context = ApiGatewayWebsocketProxyRequestContext::default();
    context.route_key = Some(route.to_owned());
    context.connection_id = Some(connection.to_owned());
    if let Some(p) = principal {
        context.authorizer.fields.insert(mcp_edge::auth::CONTEXT_PRINCIPAL.to_owned(), json!(p));
    }
    let mut event = ApiGatewayWebsocketProxyRequest::default();
    event.request_context = context;
    event.headers.insert("sec-websocket-protocol", "mcp".parse().unwrap());
    event.headers.insert("host", "127.0.0.1".parse().unwrap());
    if let Some(s) = server {
        event.query_string_parameters = QueryMap::from(HashMap::from([("server".to_owned(), s.to_owned())]));
    }
    event.body = body.map(|b| b.to_string());
    event
}

/// Sends one message on a connection through instance `on`; what was posted back to it.
async fn ws_send(d: &Deployment, on: usize, connection: &str, principal: Option<&str>, message: Value) -> Value {
    let id = message["id"].clone();
    let event = ws_event("$default", connection, None, principal, Some(message));
    assert_eq!(d.websocket[on].handle(event).await.status_code, 200);
    let posts = d.posts.0.lock().unwrap();
    posts.iter().rev().find(|(c, m)| c == connection && m["id"] == id).map(|(_, m)| m.clone()).unwrap_or(Value::Null)
}

async fn ws_connect(d: &Deployment, connection: &str, server: Option<&str>, principal: Option<&str>) -> i64 {
    d.websocket[2].handle(ws_event("$connect", connection, server, principal, None)).await.status_code
}

#[tokio::test]
async fn each_server_serves_its_own_catalogue_and_sessions() {
    let d = deployment().await;
    let (alpha, beta) = (format!("/mcp/{}", d.alpha), format!("/mcp/{}", d.beta));
    let (alpha_session, alpha_tools) = http_session(&d, &alpha).await;
    let (_, beta_tools) = http_session(&d, &beta).await;
    let (default_session, default_tools) = http_session(&d, "/mcp").await;
    assert_eq!(alpha_tools, [format!("{}_tool", d.alpha)]);
    assert_eq!(beta_tools, [format!("{}_tool", d.beta)]);
    assert!(default_tools.contains(&"echo".to_owned()), "the default server is the code's");
    assert!(!default_tools.iter().any(|t| t.ends_with("_tool")), "and none of the registered servers' tools");

    // A server's tools are called on it, and not found on another.
    let call = |name: &str| request(2, "tools/call", json!({"name": name, "arguments": {}}));
    let (_, body, _) = post(&d.http[2], &alpha, Some(&alpha_session), call(&format!("{}_tool", d.alpha))).await;
    assert_eq!(body["result"]["content"][0]["text"], format!("{0}_tool of {0}", d.alpha), "{body}");
    let (_, body, _) = post(&d.http[2], &alpha, Some(&alpha_session), call(&format!("{}_tool", d.beta))).await;
    let text = body["result"]["content"][0]["text"].as_str().or(body["error"]["message"].as_str()).unwrap().to_owned();
    assert!(text.contains("Unknown tool"), "{body}");

    // A session is its server's only: elsewhere it does not exist.
    for path in [beta.as_str(), "/mcp"] {
        let (status, body, _) = post(&d.http[0], path, Some(&alpha_session), request(3, "tools/list", json!({}))).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, _, _) = post(&d.http[0], &alpha, Some(&default_session), request(4, "ping", json!({}))).await;
    assert_eq!(status, 404);

    // Nor can it be ended elsewhere.
    assert_eq!(delete(&d.http[1], &beta, &alpha_session).await, 404);
    let (status, _, _) = post(&d.http[2], &alpha, Some(&alpha_session), request(5, "ping", json!({}))).await;
    assert_eq!(status, 200, "still alpha's");
    // The default server answers to its own name too, with its own sessions.
    let by_name = format!("/mcp/{}", e2e::REFERENCE);
    let (status, _, _) = post(&d.http[1], &by_name, Some(&default_session), request(6, "ping", json!({}))).await;
    assert_eq!(status, 200);
    // 2026-07-28 requests, stateless, go to the server of their path too.
    let (status, body) = post_stateless(&d.http[0], &beta, "tools/list").await;
    assert_eq!((status, tool_names(&body)), (200, vec![format!("{}_tool", d.beta)]));

    // A name nobody registered, or that cannot be a name, is a 404, as is its handshake.
    for path in ["/mcp/nobody-here", "/mcp/not%20a%20name"] {
        let (status, body, _) = post(&d.http[1], path, None, initialize()).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    assert_eq!(ws_connect(&d, "c-nobody", Some("nobody-here"), None).await, 404);

    // A WebSocket connection chooses at `$connect`; its messages, on any instance, go there.
    let connection = format!("c-{}", mcp_server::ids::random_id());
    assert_eq!(ws_connect(&d, &connection, Some(&d.beta), None).await, 200);
    let reply = ws_send(&d, 0, &connection, None, initialize()).await;
    assert_eq!(reply["result"]["serverInfo"]["name"], d.beta.as_str());
    let reply = ws_send(&d, 1, &connection, None, request(5, "tools/list", json!({}))).await;
    assert_eq!(tool_names(&reply), [format!("{}_tool", d.beta)]);

    // A connection without a record (swept, or never connected) is told so.
    let reply = ws_send(&d, 1, "c-never-connected", None, request(7, "ping", json!({}))).await;
    assert!(reply["error"]["message"].as_str().unwrap().contains("unknown connection"), "{reply}");

    // A change of alpha reaches alpha's followers, and not beta's.
    d.posts.0.lock().unwrap().clear();
    d.admin.put(&d.alpha, &tool("another")).await.unwrap();
    let heard = d.posts.0.lock().unwrap().iter().any(|(c, _)| c == &connection);
    assert!(!heard, "beta's connection hears nothing of alpha");

    // A server removed is gone for its clients, at their next list.
    d.admin.remove_server(&d.beta).await.unwrap();
    let reply = ws_send(&d, 2, &connection, None, request(6, "tools/list", json!({}))).await;
    assert!(reply["error"]["message"].as_str().unwrap().contains("no server named"), "{reply}");
    let (status, _, _) = post(&d.http[0], &beta, None, initialize()).await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_server_admits_only_its_principals_within_its_rate_limit() {
    let d = deployment().await;
    let gamma = Some(d.gamma.as_str());
    assert_eq!(ws_connect(&d, "c-anonymous", gamma, None).await, 403, "no principal");
    assert_eq!(ws_connect(&d, "c-bob", gamma, Some("bob")).await, 403, "not listed");
    // Over HTTP without authorization there is no principal either.
    let (status, _, _) = post(&d.http[0], &format!("/mcp/{}", d.gamma), None, initialize()).await;
    assert_eq!(status, 403);

    // alice: the handshake is her first request of the minute, then three more pass.
    let connection = format!("c-{}", mcp_server::ids::random_id());
    assert_eq!(ws_connect(&d, &connection, gamma, Some("alice")).await, 200);
    let reply = ws_send(&d, 0, &connection, Some("alice"), initialize()).await;
    assert!(reply["result"].is_object(), "{reply}");
    for (i, on) in [(1, 1), (2, 2)] {
        let reply = ws_send(&d, on, &connection, Some("alice"), request(i, "ping", json!({}))).await;
        assert!(reply["result"].is_object(), "{reply}");
    }
    let reply = ws_send(&d, 0, &connection, Some("alice"), request(3, "ping", json!({}))).await;
    assert_eq!(reply["error"]["code"], -32010, "the fifth request of the minute: {reply}");
    assert!(reply["error"]["data"]["retryAfterMs"].as_u64().unwrap() > 0);

    // Taken off the list, dave is refused at his next list, on any instance.
    let connection = format!("c-{}", mcp_server::ids::random_id());
    assert_eq!(ws_connect(&d, &connection, gamma, Some("dave")).await, 200);
    let reply = ws_send(&d, 0, &connection, Some("dave"), initialize()).await;
    assert!(reply["result"].is_object(), "{reply}");
    let replaced =
        ServerEntry { name: d.gamma.clone(), allowed_principals: Some(vec!["carol".into()]), ..Default::default() };
    d.admin.put_server(&replaced).await.unwrap();
    let reply = ws_send(&d, 1, &connection, Some("dave"), request(4, "tools/list", json!({}))).await;
    assert!(reply["error"]["message"].as_str().unwrap().contains("not allowed"), "{reply}");
}

/// What choosing the server costs, apart from serving the message (the router counts that
/// in its own scope): a connection's first message on an instance reads its record (and,
/// the first time the instance meets the server, the registry); after that, nothing.
#[tokio::test]
async fn routing_to_a_registered_server_costs_no_remote_call_once_warm() {
    use mcp_server::state::calls::{RemoteCalls, counted};
    let d = deployment().await;
    let connection = format!("c-{}", mcp_server::ids::random_id());
    assert_eq!(ws_connect(&d, &connection, Some(&d.beta), None).await, 200);
    let message = |body: Value| ws_event("$default", &connection, None, None, Some(body));
    let (_, first) = Box::pin(counted(d.websocket[0].handle(message(initialize())))).await;
    let (_, warm) = Box::pin(counted(d.websocket[0].handle(message(request(2, "ping", json!({})))))).await;
    let alpha = format!("/mcp/{}", d.alpha);
    let (_, http_first) = counted(post(&d.http[1], &alpha, None, initialize())).await;
    let (_, http_warm) = counted(post(&d.http[1], &alpha, None, initialize())).await;
    println!("| routing | first DynamoDB / Redis | warm DynamoDB / Redis |\n|---|---|---|");
    println!(
        "| WebSocket message, registered server | {} / {} | {} / {} |",
        first.dynamodb, first.redis, warm.dynamodb, warm.redis
    );
    println!(
        "| HTTP `/mcp/{{server}}` | {} / {} | {} / {} |",
        http_first.dynamodb, http_first.redis, http_warm.dynamodb, http_warm.redis
    );
    assert_eq!(warm, RemoteCalls::default(), "a known connection's server: nothing to read");
    assert_eq!(http_warm, RemoteCalls::default(), "a server read within the minute: nothing to read");
    let replies = d.posts.0.lock().unwrap().iter().filter(|(c, m)| c == &connection && m["result"].is_object()).count();
    assert_eq!(replies, 2);
}

#[tokio::test]
async fn a_principal_taken_off_a_server_hears_nothing_more_from_it() {
    let d = deployment().await;
    let delta = d.alpha.replacen("alpha", "delta", 1);
    let both = ServerEntry {
        name: delta.clone(),
        allowed_principals: Some(vec!["alice".into(), "dave".into()]),
        ..Default::default()
    };
    d.admin.put_server(&both).await.unwrap();
    let mut connections = Vec::new();
    for who in ["alice", "dave"] {
        let connection = format!("c-{who}-{}", mcp_server::ids::random_id());
        assert_eq!(ws_connect(&d, &connection, Some(&delta), Some(who)).await, 200);
        let reply = ws_send(&d, 0, &connection, Some(who), initialize()).await;
        assert!(reply["result"].is_object(), "{reply}");
        connections.push(connection);
    }
    let only_alice = ServerEntry { allowed_principals: Some(vec!["alice".into()]), ..both };
    d.admin.put_server(&only_alice).await.unwrap();
    // Instance 1 reads the change at its next list; its notifications then skip dave.
    let reply = ws_send(&d, 1, &connections[0], Some("alice"), request(1, "tools/list", json!({}))).await;
    assert!(reply["result"].is_object(), "{reply}");
    d.posts.0.lock().unwrap().clear();
    let router = d.servers[1].route(Some(&delta), Some("alice")).await.unwrap();
    let reached = router.notifier().list_changed(mcp_server::ListKind::Tools).await.unwrap();
    assert_eq!(reached, 1);
    let heard: Vec<String> = d.posts.0.lock().unwrap().iter().map(|(c, _)| c.clone()).collect();
    assert_eq!(heard, [connections[0].clone()], "alice only");
}
