//! Real API Gateway WebSocket events (the JSON a Lambda receives) through the WebSocket edge:
//! they parse, round-trip, and drive `$connect`, `$default` and `$disconnect`.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;

use mcp_edge::origin::OriginPolicy;
use mcp_edge::websocket::{Replies, WebSocketEdge};
use mcp_server::{ConnectionSink, PostError, RequestStateCodec, Router, RouterConfig, Server, StateHandles};

#[derive(Default)]
struct Posts(Mutex<Vec<(String, serde_json::Value)>>);

#[async_trait]
impl ConnectionSink for Posts {
    async fn post(&self, connection_id: &str, message: Vec<u8>) -> Result<(), PostError> {
        let v = serde_json::from_slice(&message).map_err(|e| PostError::Failed(e.to_string()))?;
        self.0.lock().unwrap().push((connection_id.to_owned(), v));
        Ok(())
    }

    /// Recorded as a close frame: `{"closed": true}`.
    async fn close(&self, connection_id: &str) -> Result<(), PostError> {
        self.0.lock().unwrap().push((connection_id.to_owned(), serde_json::json!({ "closed": true })));
        Ok(())
    }
}

fn fixture(name: &str) -> ApiGatewayWebsocketProxyRequest {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// An edge over a fixture server and `state`, posting to `sink`, with the origin policy a
/// deployment uses (API Gateway's Host, browsers' origins refused).
fn edge(state: &StateHandles, sink: Arc<dyn ConnectionSink>) -> WebSocketEdge {
    let server = Server::builder("fixture", "1").build().unwrap();
    let router = Arc::new(Router::new(
        Arc::new(server),
        state.clone(),
        RequestStateCodec::ephemeral(),
        RouterConfig::default(),
        Some(sink.clone()),
    ));
    WebSocketEdge::new(router, sink, OriginPolicy { allowed_hosts: vec![], allowed_origins: vec![] })
}

#[test]
fn events_parse_and_round_trip() {
    for name in ["connect.json", "message.json", "disconnect.json"] {
        let event = fixture(name);
        let again: ApiGatewayWebsocketProxyRequest =
            serde_json::from_value(serde_json::to_value(&event).unwrap()).unwrap();
        assert_eq!(again, event, "{name}");
        assert_eq!(event.request_context.connection_id.as_deref(), Some("CjR4XdCaIAMCJ-w="));
    }
}

#[tokio::test]
async fn connect_message_disconnect() {
    let state = StateHandles::in_memory();
    let posts = Arc::new(Posts::default());
    let edge = edge(&state, posts.clone());

    let connected = edge.handle(fixture("connect.json")).await;
    assert_eq!(connected.status_code, 200);
    assert_eq!(connected.headers.get("sec-websocket-protocol").unwrap(), "mcp");
    let record = state.connections.get("CjR4XdCaIAMCJ-w=").await.unwrap().unwrap();
    assert_eq!(record.principal.as_deref(), Some("user-42"), "the authorizer's principal is bound to the connection");

    // Without a route response (the edge's default), the reply is posted, not returned.
    let replied = edge.handle(fixture("message.json")).await;
    assert_eq!(replied.status_code, 200);
    assert_eq!(response_body(&replied), None);
    let posted = posts.0.lock().unwrap().clone();
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].0, "CjR4XdCaIAMCJ-w=");
    assert_eq!(posted[0].1["result"]["protocolVersion"], "2025-11-25");
    assert!(state.sessions.get("CjR4XdCaIAMCJ-w=").await.unwrap().is_some());

    let gone = edge.handle(fixture("disconnect.json")).await;
    assert_eq!(gone.status_code, 200);
    assert!(state.connections.get("CjR4XdCaIAMCJ-w=").await.unwrap().is_none());
    assert!(state.sessions.get("CjR4XdCaIAMCJ-w=").await.unwrap().is_none());
}

#[tokio::test]
async fn connect_without_the_mcp_subprotocol_is_refused() {
    let edge = edge(&StateHandles::in_memory(), Arc::new(Posts::default()));
    let mut event = fixture("connect.json");
    event.headers.remove("sec-websocket-protocol");
    assert_eq!(edge.handle(event).await.status_code, 400);
}

/// A `$default` message of the fixture connection carrying `body`, that API Gateway received
/// `ago_ms` milliseconds ago.
fn message(body: &str, ago_ms: i64) -> ApiGatewayWebsocketProxyRequest {
    let mut event = fixture("message.json");
    event.body = Some(body.to_owned());
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    event.request_context.request_time_epoch = now - ago_ms;
    event
}

fn response_body(response: &aws_lambda_events::apigw::ApiGatewayProxyResponse) -> Option<serde_json::Value> {
    match response.body.as_ref()? {
        aws_lambda_events::encodings::Body::Text(t) if !t.is_empty() => Some(serde_json::from_str(t).unwrap()),
        _ => None,
    }
}

#[tokio::test]
async fn with_a_route_response_a_reply_in_time_is_the_response_and_a_late_one_is_posted() {
    let state = StateHandles::in_memory();
    let posts = Arc::new(Posts::default());
    let edge = edge(&state, posts.clone()).with_replies(Replies::RouteResponse);
    assert_eq!(edge.handle(fixture("connect.json")).await.status_code, 200);

    // Just arrived: the reply is the integration's response, and nothing is posted.
    let initialize = fixture("message.json").body.unwrap();
    let initialized = edge.handle(message(&initialize, 0)).await;
    assert_eq!(initialized.status_code, 200);
    assert_eq!(response_body(&initialized).unwrap()["result"]["protocolVersion"], "2025-11-25");
    assert!(posts.0.lock().unwrap().is_empty(), "{:?}", posts.0.lock().unwrap());

    // A notification has no reply: an empty response, nothing posted.
    let note = edge.handle(message(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#, 0)).await;
    assert_eq!(response_body(&note), None);
    assert!(posts.0.lock().unwrap().is_empty());

    // Arrived 27 s ago: API Gateway may stop waiting before the response reaches it, so the
    // reply is posted and the response carries nothing.
    let late = edge.handle(message(r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#, 27_000)).await;
    assert_eq!(late.status_code, 200);
    assert_eq!(response_body(&late), None);
    let posted = posts.0.lock().unwrap().clone();
    assert_eq!(posted.len(), 1, "{posted:?}");
    assert_eq!(posted[0].1["id"], 2);
    assert_eq!(posted[0].1["result"], serde_json::json!({}));

    // A refusal is a reply too: an oversized message is answered in the response.
    let big = format!(r#"{{"jsonrpc":"2.0","id":3,"method":"ping","params":{{"pad":"{}"}}}}"#, "x".repeat(200_000));
    let refused = edge.handle(message(&big, 0)).await;
    assert_eq!(response_body(&refused).unwrap()["error"]["code"], -32010);
    assert_eq!(posts.0.lock().unwrap().len(), 1);
}
