//! Real API Gateway WebSocket events (the JSON a Lambda receives) through the WebSocket edge:
//! they parse, round-trip, and drive `$connect`, `$default` and `$disconnect`.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use aws_lambda_events::apigw::ApiGatewayWebsocketProxyRequest;

use mcp_edge::origin::OriginPolicy;
use mcp_edge::websocket::WebSocketEdge;
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
    let sink: Arc<dyn ConnectionSink> = posts.clone();
    let server = Server::builder("fixture", "1").build().unwrap();
    let router = Arc::new(Router::new(
        Arc::new(server),
        state.clone(),
        RequestStateCodec::ephemeral(),
        RouterConfig::default(),
        Some(sink.clone()),
    ));
    // API Gateway's Host, browsers' origins refused: the policy a deployment uses.
    let edge = WebSocketEdge::new(router, sink, OriginPolicy { allowed_hosts: vec![], allowed_origins: vec![] });

    let connected = edge.handle(fixture("connect.json")).await;
    assert_eq!(connected.status_code, 200);
    assert_eq!(connected.headers.get("sec-websocket-protocol").unwrap(), "mcp");
    let record = state.connections.get("CjR4XdCaIAMCJ-w=").await.unwrap().unwrap();
    assert_eq!(record.principal.as_deref(), Some("user-42"), "the authorizer's principal is bound to the connection");

    let replied = edge.handle(fixture("message.json")).await;
    assert_eq!(replied.status_code, 200);
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
    let sink: Arc<dyn ConnectionSink> = Arc::new(Posts::default());
    let server = Server::builder("fixture", "1").build().unwrap();
    let router = Arc::new(Router::new(
        Arc::new(server),
        StateHandles::in_memory(),
        RequestStateCodec::ephemeral(),
        RouterConfig::default(),
        Some(sink.clone()),
    ));
    let edge = WebSocketEdge::new(router, sink, OriginPolicy { allowed_hosts: vec![], allowed_origins: vec![] });
    let mut event = fixture("connect.json");
    event.headers.remove("sec-websocket-protocol");
    assert_eq!(edge.handle(event).await.status_code, 400);
}
