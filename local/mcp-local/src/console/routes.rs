//! `/console` (the page) and `/console/events` (its stream: Server-Sent Events, a snapshot
//! first, then each change). Both answer loopback callers only, with a loopback `Host` (and
//! `Origin`, if any), whatever address the gateway listens on: the console shows principals'
//! hashes and every message's method.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;

use mcp_edge::origin::OriginPolicy;

use super::Console;
use crate::gateway::Gateway;

/// The name the console gives the server a URL without a server name reaches.
pub const DEFAULT_SERVER: &str = "(default)";

const PAGE: &str = include_str!("page.html");

/// The console, for a loopback caller of a gateway whose console is on; else the refusal.
fn admitted(gateway: &Gateway, peer: SocketAddr, headers: &HeaderMap) -> Result<Arc<Console>, (StatusCode, String)> {
    if !peer.ip().is_loopback() {
        return Err((StatusCode::FORBIDDEN, "the console answers loopback callers only".to_owned()));
    }
    OriginPolicy::loopback().check(headers).map_err(|why| (StatusCode::FORBIDDEN, why.to_string()))?;
    gateway.console.clone().ok_or_else(|| (StatusCode::NOT_FOUND, "the console is off".to_owned()))
}

pub async fn page(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    if let Err(no) = admitted(&gateway, peer, &headers) {
        return no.into_response();
    }
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8"), (header::CACHE_CONTROL, "no-store")], PAGE).into_response()
}

pub async fn events(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
) -> Response {
    let console = match admitted(&gateway, peer, &headers) {
        Ok(console) => console,
        Err(no) => return no.into_response(),
    };
    tokio::spawn(list_tools(gateway.clone()));
    let following: Option<broadcast::Receiver<Arc<str>>> = None;
    let stream = futures_util::stream::unfold((console, following), |(console, following)| async move {
        let mut rx = match following {
            Some(rx) => rx,
            None => {
                let (snapshot, rx) = console.follow();
                return Some((sse(&snapshot.to_string()), (console, Some(rx))));
            }
        };
        match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
            Ok(Ok(event)) => Some((sse(&event), (console, Some(rx)))),
            // A page that fell behind starts again from a snapshot.
            Ok(Err(RecvError::Lagged(_))) => {
                let (snapshot, rx) = console.follow();
                Some((sse(&snapshot.to_string()), (console, Some(rx))))
            }
            Ok(Err(RecvError::Closed)) => None,
            // A comment line keeps idle proxies and the browser from giving up.
            Err(_) => Some((Bytes::from_static(b": keepalive\n\n"), (console, Some(rx)))),
        }
    });
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-store")
        .body(Body::from_stream(stream.map(Ok::<_, Infallible>)))
        .unwrap_or_else(|_| StatusCode::INTERNAL_SERVER_ERROR.into_response())
}

fn sse(data: &str) -> Bytes {
    Bytes::from(format!("data: {data}\n\n"))
}

/// Asks each server whose tools the console does not know yet for them, through the
/// gateway as any client would (a 2026-07-28 `tools/list`).
async fn list_tools(gateway: Arc<Gateway>) {
    let Some(console) = gateway.console.clone() else { return };
    console.list_registered_servers().await;
    let mut servers = console.servers_to_list();
    if !servers.iter().any(|s| s == DEFAULT_SERVER) {
        servers.push(DEFAULT_SERVER.to_owned());
    }
    for server in servers {
        let path = if server == DEFAULT_SERVER { "/mcp".to_owned() } else { format!("/mcp/{server}") };
        let body = json!({
            "jsonrpc": "2.0", "id": 1, "method": "tools/list",
            "params": {"_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": {},
                "io.modelcontextprotocol/clientInfo": {"name": "mcp-local console", "version": env!("CARGO_PKG_VERSION")},
            }},
        });
        let request = Request::post(path)
            .header(header::HOST, "127.0.0.1")
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::ACCEPT, "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", "tools/list");
        let request = match console.token() {
            Some(token) => request.header(header::AUTHORIZATION, format!("Bearer {token}")),
            None => request,
        };
        let request = request.body(Bytes::from(body.to_string()));
        let Ok(request) = request else { continue };
        let response = gateway.http(request).await;
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 4 << 20).await.unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        // A JSON body, or the data line of an SSE event.
        let json = text.lines().find_map(|l| l.strip_prefix("data:")).unwrap_or(&text);
        let listed: Value = serde_json::from_str(json.trim()).unwrap_or(Value::Null);
        let tools = match listed["result"]["tools"].as_array() {
            Some(tools) => tools.iter().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect(),
            None => vec![format!("(tools/list answered HTTP {})", status.as_u16())],
        };
        console.tools(&server, tools);
    }
}
