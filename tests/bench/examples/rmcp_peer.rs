//! The benchmark peer: a minimal MCP server built with the official Rust SDK (rmcp),
//! stateless Streamable HTTP with JSON replies, with the same `echo` tool as the reference
//! server. `mcp-load` drives it and the local gateway in one run (`tests/bench/load-compare`).
//! With `sessions` it keeps 2025-11-25 sessions instead, in its own memory (rmcp's
//! `LocalSessionManager`, SSE replies, as rmcp serves sessions).
//!
//! ```sh
//! cargo run --profile bench -p mcp-bench --example rmcp_peer -- 8788
//! cargo run --profile bench -p mcp-bench --example rmcp_peer -- 8789 sessions
//! ```

use std::sync::Arc;

use axum::serve::ListenerExt;
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation, JsonObject, ListToolsResult,
    PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::session::never::NeverSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler};

#[derive(Clone)]
struct Echo {
    tool: Tool,
}

impl Echo {
    fn new() -> Echo {
        let schema = serde_json::json!({
            "type": "object",
            "properties": { "text": { "type": "string" } },
            "required": ["text"],
        });
        let schema: JsonObject = match schema {
            serde_json::Value::Object(map) => map,
            _ => JsonObject::new(),
        };
        Echo { tool: Tool::new("echo", "Returns its text", Arc::new(schema)) }
    }
}

impl ServerHandler for Echo {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build())
            .with_server_info(Implementation::new("rmcp-peer", "0.1.0"))
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(vec![self.tool.clone()]))
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        (name == "echo").then(|| self.tool.clone())
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        _context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        if request.name != "echo" {
            return Err(ErrorData::invalid_params(format!("unknown tool {}", request.name), None));
        }
        let text = request.arguments.as_ref().and_then(|a| a.get("text")).and_then(|v| v.as_str());
        let text = text.ok_or_else(|| ErrorData::invalid_params("`text` (a string) is required", None))?;
        Ok(CallToolResult::success(vec![ContentBlock::text(text)]).into())
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let port: u16 = std::env::args().nth(1).and_then(|p| p.parse().ok()).unwrap_or(8788);
    let sessions = std::env::args().nth(2).is_some_and(|a| a == "sessions");
    let echo = Echo::new();
    let app = if sessions {
        let config = StreamableHttpServerConfig::default().with_legacy_session_mode(true).with_sse_keep_alive(None);
        let service: StreamableHttpService<Echo, LocalSessionManager> =
            StreamableHttpService::new(move || Ok(echo.clone()), Arc::new(LocalSessionManager::default()), config);
        axum::Router::new().route_service("/mcp", service)
    } else {
        let config = StreamableHttpServerConfig::default()
            .with_legacy_session_mode(false)
            .with_json_response(true)
            .with_sse_keep_alive(None);
        let service: StreamableHttpService<Echo, NeverSessionManager> =
            StreamableHttpService::new(move || Ok(echo.clone()), Arc::new(NeverSessionManager::default()), config);
        axum::Router::new().route_service("/mcp", service)
    };
    // Without TCP_NODELAY a reply written in parts (an SSE stream) waits on delayed ACKs.
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let mode = if sessions { "with sessions" } else { "stateless" };
    println!("rmcp peer ({mode}) listening on 127.0.0.1:{port}");
    axum::serve(listener, app).await
}
