//! Helpers for driving routers in-process: several instances over one shared state, as a
//! deployment runs them, without sockets.

pub mod workload;

/// The reference server's name: the key of its topics and sessions.
pub const REFERENCE: &str = "mcp-serverless-reference";

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use serde_json::Value;

use mcp_server::{
    ConnectionSink, Inbound, Outbound, OutboundClosed, PostError, RequestStateCodec, Router, RouterConfig,
    StateHandles, Transport,
};

/// Collects what a request (or a connection) was sent besides its response.
#[derive(Default)]
pub struct Collected(pub Mutex<Vec<Value>>);

impl Collected {
    pub fn take(&self) -> Vec<Value> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl Outbound for Collected {
    async fn send(&self, message: Vec<u8>) -> Result<(), OutboundClosed> {
        let v = serde_json::from_slice(&message).map_err(|e| OutboundClosed(e.to_string()))?;
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(v);
        Ok(())
    }
}

/// An `@connections` stand-in that records posts per connection.
#[derive(Default)]
pub struct Posts(pub Mutex<Vec<(String, Value)>>);

#[async_trait]
impl ConnectionSink for Posts {
    async fn post(&self, connection_id: &str, message: Vec<u8>) -> Result<(), PostError> {
        let v = serde_json::from_slice(&message).map_err(|e| PostError::Failed(e.to_string()))?;
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push((connection_id.to_owned(), v));
        Ok(())
    }

    /// Recorded as a close frame: `{"closed": true}`.
    async fn close(&self, connection_id: &str) -> Result<(), PostError> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((connection_id.to_owned(), serde_json::json!({ "closed": true })));
        Ok(())
    }
}

/// The real backends when the test command provides them (`MCP_TEST_DYNAMODB_ENDPOINT`,
/// `MCP_TEST_REDIS_URL`), the in-memory ones otherwise.
pub async fn shared_state() -> StateHandles {
    match (std::env::var("MCP_TEST_DYNAMODB_ENDPOINT"), std::env::var("MCP_TEST_REDIS_URL")) {
        (Ok(endpoint), Ok(redis)) => backends(&endpoint, &redis, "e2e-instances").await,
        _ => StateHandles::in_memory(),
    }
}

/// The registry: the table `table` at the test command's DynamoDB (created if missing), in
/// memory otherwise.
pub async fn registry_store(table: &str) -> Arc<dyn mcp_server::registry::RegistryStore> {
    match std::env::var("MCP_TEST_DYNAMODB_ENDPOINT") {
        Ok(endpoint) => {
            let client = mcp_state_dynamodb::schema::emulator_client(&endpoint);
            mcp_state_dynamodb::schema::ensure_registry_table(&client, table).await.unwrap_or_else(|e| panic!("{e}"));
            Arc::new(mcp_state_dynamodb::registry::DynamoRegistry::new(client, table))
        }
        Err(_) => Arc::new(mcp_server::registry::MemoryRegistry::default()),
    }
}

/// DynamoDB at `endpoint` (table created if missing) and Redis at `redis_url`.
pub async fn backends(endpoint: &str, redis_url: &str, table: &str) -> StateHandles {
    let client = mcp_state_dynamodb::schema::emulator_client(endpoint);
    mcp_state_dynamodb::schema::ensure_table(&client, table).await.unwrap_or_else(|e| panic!("table: {e}"));
    let d = Arc::new(mcp_state_dynamodb::DynamoState::new(client, table.to_owned()));
    let r = mcp_state_redis::RedisState::connect(redis_url).await.unwrap_or_else(|e| panic!("redis: {e}"));
    StateHandles {
        sessions: d.sessions(),
        connections: d.connections(),
        subscriptions: d.subscriptions(),
        nonces: d.nonces(),
        kv: d.kv(),
        bus: r.bus(),
        events: r.events(),
        versions: r.versions(),
        rates: r.rates(),
        tasks: d.tasks(),
    }
}

/// N routers serving the reference server over one shared state, each with its own L1.
pub async fn reference_instances(n: usize, sink: Arc<Posts>) -> Vec<Arc<Router>> {
    instances(&shared_state().await, n, Some(sink))
}

/// N routers serving the reference server over `state`, each with its own L1, posting to
/// `sink` if given.
pub fn instances(state: &StateHandles, n: usize, sink: Option<Arc<Posts>>) -> Vec<Arc<Router>> {
    let codec = RequestStateCodec::ephemeral();
    (0..n)
        .map(|_| {
            let server = reference_server::server().unwrap_or_else(|e| panic!("reference server: {e}"));
            let sink = sink.clone().map(|s| -> Arc<dyn ConnectionSink> { s });
            Arc::new(Router::new(
                Arc::new(server),
                state.clone().with_l1(),
                codec.clone(),
                RouterConfig::default(),
                sink,
            ))
        })
        .collect()
}

pub fn http(session: Option<&str>, version: Option<&str>) -> Inbound {
    let headers = mcp_server::HttpHeaders { protocol_version: version.map(str::to_owned), ..Default::default() };
    Inbound { session_id: session.map(str::to_owned), http: Some(headers), ..Inbound::new(Transport::Http) }
}

pub fn websocket(connection: &str) -> Inbound {
    Inbound { session_id: Some(connection.to_owned()), ..Inbound::new(Transport::WebSocket) }
}

/// The 2026-07-28 `_meta` with the given client capabilities.
pub fn meta(capabilities: Value) -> Value {
    serde_json::json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": capabilities,
    })
}
