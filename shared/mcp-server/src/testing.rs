//! Calling a server from a test, without a transport or a deployment: its router over
//! in-memory state, sent self-contained 2026-07-28 requests, as a client of any transport
//! would send them. What a server crate's own tests use.
//!
//! ```
//! # async fn example() -> Result<(), Box<dyn std::error::Error>> {
//! use mcp_server::testing::TestClient;
//!
//! let server = mcp_server::Server::builder("demo", "1").build()?;
//! let client = TestClient::new(server);
//! let tools = client.request("tools/list", serde_json::json!({})).await?;
//! assert_eq!(tools["tools"], serde_json::json!([]));
//! # Ok(()) }
//! ```

use std::sync::Arc;

use serde_json::{Value, json};

use mcp_protocol::ErrorObject;
use mcp_protocol::model::CallToolResult;
use mcp_protocol::model::meta::{CLIENT_CAPABILITIES_KEY, CLIENT_INFO_KEY, PROTOCOL_VERSION_KEY};

use crate::outbound::Discard;
use crate::router::{Inbound, Router, RouterConfig, Transport};
use crate::{RequestStateCodec, Server, StateHandles};

/// A client of one server, in this process.
pub struct TestClient {
    router: Router,
    capabilities: Value,
}

/// Why a test request did not give a result.
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The server answered with a JSON-RPC error.
    #[error("error {}: {}", .0.code.0, .0.message)]
    Rpc(Box<ErrorObject>),
    /// The answer is not a JSON-RPC response of the expected shape.
    #[error("unexpected answer: {0}")]
    Unexpected(String),
}

impl TestClient {
    /// A client of `server`, served over state of its own.
    pub fn new(server: Server) -> Self {
        let router = Router::new(
            Arc::new(server),
            StateHandles::in_memory(),
            RequestStateCodec::ephemeral(),
            // A test process runs on after each response: tasks run in it.
            RouterConfig { run_tasks: true, ..RouterConfig::default() },
            None,
        );
        TestClient { router, capabilities: json!({}) }
    }

    /// The same client declaring `capabilities` (e.g. `{"elicitation": {"form": {}}}`), which
    /// a handler's input requests need.
    pub fn with_client_capabilities(mut self, capabilities: Value) -> Self {
        self.capabilities = capabilities;
        self
    }

    /// Sends `method` with `params` (the protocol's `_meta` added) and returns the result.
    pub async fn request(&self, method: &str, mut params: Value) -> Result<Value, TestError> {
        let meta = json!({
            PROTOCOL_VERSION_KEY: "2026-07-28",
            CLIENT_CAPABILITIES_KEY: self.capabilities,
            CLIENT_INFO_KEY: { "name": "test-client", "version": "0" },
        });
        match params.as_object_mut() {
            Some(p) => p.insert("_meta".into(), meta),
            None => return Err(TestError::Unexpected(format!("params must be an object, not {params}"))),
        };
        let message = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
        let body = serde_json::to_vec(&message).map_err(|e| TestError::Unexpected(e.to_string()))?;
        let reply = self.router.handle(&body, &Inbound::new(Transport::Stdio), Arc::new(Discard)).await;
        let body = reply.body.ok_or_else(|| TestError::Unexpected(format!("no body ({:?})", reply.status)))?;
        let mut answer: Value = serde_json::from_slice(&body).map_err(|e| TestError::Unexpected(e.to_string()))?;
        if let Some(error) = answer.get("error") {
            let error: ErrorObject =
                serde_json::from_value(error.clone()).map_err(|e| TestError::Unexpected(e.to_string()))?;
            return Err(TestError::Rpc(Box::new(error)));
        }
        Ok(answer["result"].take())
    }

    /// Calls the tool `name` with `arguments`.
    pub async fn call_tool(&self, name: &str, arguments: Value) -> Result<CallToolResult, TestError> {
        let result = self.request("tools/call", json!({ "name": name, "arguments": arguments })).await?;
        serde_json::from_value(result).map_err(|e| TestError::Unexpected(e.to_string()))
    }
}
