//! What the gateway's front ends (HTTP, WebSocket, `@connections`) talk to: the
//! application's instances in this process, or the function binaries of the Lambda lane.
//! Both get the same API Gateway events and HTTP requests.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, Response, StatusCode};
use futures_util::StreamExt;
use serde_json::Value;

use mcp_auth::TokenSource;
use mcp_edge::auth::{authenticate, authorizer_context};
use mcp_edge::http::HttpBody;

use tracing::Instrument;

use crate::connections::LocalConnections;
use crate::console::Console;
use crate::deployment::Deployment;
use crate::lane::{Lane, StageInfo};

pub enum Backend {
    InProcess(Box<Deployment>),
    Lane(Box<Lane>),
}

pub struct Gateway {
    backend: Backend,
    pub connections: Arc<LocalConnections>,
    stage: StageInfo,
    pub connection_bounds: ConnectionBounds,
    /// The console's view, fed from the traffic here (off with `--no-console`).
    pub console: Option<Arc<Console>>,
}

/// How long API Gateway keeps a WebSocket connection: it closes one whose client has sent
/// nothing for `idle` (10 minutes), and any one after `lifetime` (2 hours).
#[derive(Clone, Copy, Debug)]
pub struct ConnectionBounds {
    pub idle: std::time::Duration,
    pub lifetime: std::time::Duration,
}

/// A refused handshake: its status, headers and message.
pub struct Refused {
    pub status: StatusCode,
    pub headers: Vec<(&'static str, String)>,
    pub message: String,
}

impl Gateway {
    pub fn new(
        backend: Backend,
        connections: Arc<LocalConnections>,
        connection_bounds: ConnectionBounds,
        console: Option<Arc<Console>>,
    ) -> Gateway {
        let stage = match &backend {
            Backend::Lane(lane) => lane.stage.clone(),
            Backend::InProcess(_) => StageInfo::local(),
        };
        Gateway { backend, connections, stage, connection_bounds, console }
    }

    pub fn stage(&self) -> &StageInfo {
        &self.stage
    }

    /// The in-process deployment (for the sweeper, stdio and the banner).
    pub fn deployment(&self) -> Option<&Deployment> {
        match &self.backend {
            Backend::InProcess(d) => Some(d),
            Backend::Lane(_) => None,
        }
    }

    pub fn lane(&self) -> Option<&Lane> {
        match &self.backend {
            Backend::Lane(l) => Some(l),
            Backend::InProcess(_) => None,
        }
    }

    /// API Gateway's `$connect` authorizer: the context its answer gives every event of
    /// the connection (empty without an authorizer).
    pub async fn authorize(
        &self,
        headers: &HeaderMap,
        query: Option<&str>,
        parameters: &HashMap<String, Vec<String>>,
        connection_id: &str,
    ) -> Result<HashMap<String, Value>, Refused> {
        match &self.backend {
            Backend::InProcess(d) => {
                let Some(validator) = &d.authorizer else { return Ok(HashMap::new()) };
                match authenticate(validator, headers, query, TokenSource::WebSocketHandshake).await {
                    Ok(principal) => Ok(authorizer_context(&principal)),
                    Err(challenge) => Err(Refused {
                        status: StatusCode::from_u16(challenge.status.as_u16()).unwrap_or(StatusCode::UNAUTHORIZED),
                        headers: vec![("www-authenticate", challenge.header)],
                        message: challenge.message,
                    }),
                }
            }
            Backend::Lane(lane) => lane
                .authorize(headers, parameters, connection_id)
                .await
                .map_err(|(status, message)| Refused { status, headers: Vec::new(), message }),
        }
    }

    /// A WebSocket route's event, handled as API Gateway hands it to its integration. Where
    /// the route has a route response (two-way communication), the integration's response
    /// body goes to the client as a message, as API Gateway sends it. In process, `$default`
    /// has one, as the template gives it.
    pub async fn websocket(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let route = event.request_context.route_key.clone().unwrap_or_default();
        let connection = event.request_context.connection_id.clone().unwrap_or_default();
        let console = self.console.as_deref().map(|c| (c, ConsoleNote::of(&event)));
        if let Some((console, ConsoleNote::Message)) = &console
            && let Some(body) = event.body.as_deref()
        {
            console.websocket_message(&connection, body);
        }
        let (mut response, two_way) = match &self.backend {
            Backend::InProcess(d) => {
                let (i, app) = d.pick_indexed();
                let handled = Box::pin(app.websocket.handle(event)).instrument(instance_span(i)).await;
                (handled, route == "$default")
            }
            Backend::Lane(lane) => (lane.websocket(event).await, lane.has_route_response(&route)),
        };
        match console {
            Some((console, ConsoleNote::Connect { server, principal })) if response.status_code == 200 => {
                console.connected(&connection, &server, principal.as_deref());
            }
            Some((console, ConsoleNote::Disconnect)) => console.disconnected(&connection),
            _ => {}
        }
        // API Gateway consumes the body it sends on; `$default`'s callers read only the status.
        if two_way && let Some(body) = response.body.take().map(body_bytes).filter(|b| !b.is_empty()) {
            let _ = mcp_server::ConnectionSink::post(&*self.connections, &connection, body).await;
            if let Backend::Lane(lane) = &self.backend {
                lane.reply_returned();
            }
        }
        response
    }

    /// A request to the Streamable HTTP endpoint (the Function URL).
    pub async fn http(&self, request: Request<Bytes>) -> Response<Body> {
        let Some(console) = self.console.clone() else { return self.dispatch_http(request).await };
        let server = request
            .uri()
            .path()
            .strip_prefix("/mcp/")
            .filter(|s| !s.is_empty())
            .unwrap_or(crate::console::routes::DEFAULT_SERVER)
            .to_owned();
        let session = request.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
        let deleted = request.method() == axum::http::Method::DELETE;
        let body = request.body().clone();
        let response = self.dispatch_http(request).await;
        let status = response.status().as_u16();
        if deleted && status < 300 {
            if let Some(session) = &session {
                console.session_ended(session);
            }
            return response;
        }
        let new_session = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok());
        console.http_exchange(&server, session.as_deref(), &body, status, new_session);
        // A 2026-07-28 listen is a subscription for as long as its stream stays open.
        match (status < 300).then(|| console.http_listen(&server, &body)).flatten() {
            Some(key) => {
                let (parts, body) = response.into_parts();
                let ended = ListenEnded { console, key };
                let stream = body.into_data_stream().map(move |chunk| {
                    let _ = &ended;
                    chunk
                });
                Response::from_parts(parts, Body::from_stream(stream))
            }
            None => response,
        }
    }

    async fn dispatch_http(&self, request: Request<Bytes>) -> Response<Body> {
        match &self.backend {
            Backend::InProcess(d) => {
                let (i, app) = d.pick_indexed();
                let response = app.http.handle(request).instrument(instance_span(i)).await;
                let (parts, body) = response.into_parts();
                let body = match body {
                    HttpBody::Empty => Body::empty(),
                    HttpBody::Full(b) => Body::from(b),
                    HttpBody::Stream(s) => Body::from_stream(s.map(Ok::<_, Infallible>)),
                };
                Response::from_parts(parts, body)
            }
            Backend::Lane(lane) => lane.http(request).await,
        }
    }

    pub async fn shutdown(&self) {
        if let Backend::Lane(lane) = &self.backend {
            lane.shutdown().await;
        }
    }
}

impl StageInfo {
    /// The in-process gateway's stage (its events name no real API).
    pub fn local() -> StageInfo {
        StageInfo {
            api_id: "local".into(),
            stage: "local".into(),
            region: "us-east-1".into(),
            account: "123456789012".into(),
        }
    }
}

/// A proxy response's body as API Gateway sends it: text as is, binary decoded.
fn body_bytes(body: aws_lambda_events::encodings::Body) -> Vec<u8> {
    match body {
        aws_lambda_events::encodings::Body::Text(t) => t.into_bytes(),
        aws_lambda_events::encodings::Body::Binary(b) => b,
        _ => Vec::new(),
    }
}

/// What the console needs of a WebSocket event, noted before the event is handed over.
enum ConsoleNote {
    Connect {
        server: String,
        principal: Option<String>,
    },
    /// A text message: the console reads its body before the event is handed over.
    Message,
    Disconnect,
    Nothing,
}

impl ConsoleNote {
    fn of(event: &ApiGatewayWebsocketProxyRequest) -> ConsoleNote {
        match event.request_context.route_key.as_deref() {
            Some("$connect") => ConsoleNote::Connect {
                server: event
                    .query_string_parameters
                    .first(mcp_edge::websocket::SERVER_PARAMETER)
                    .unwrap_or(crate::console::routes::DEFAULT_SERVER)
                    .to_owned(),
                principal: event
                    .request_context
                    .authorizer
                    .fields
                    .get(mcp_edge::auth::CONTEXT_PRINCIPAL)
                    .and_then(Value::as_str)
                    .map(str::to_owned),
            },
            Some("$disconnect") => ConsoleNote::Disconnect,
            _ if !event.is_base64_encoded => ConsoleNote::Message,
            _ => ConsoleNote::Nothing,
        }
    }
}

/// Ends a listen's subscription in the console when its response stream is dropped.
struct ListenEnded {
    console: Arc<Console>,
    key: String,
}

impl Drop for ListenEnded {
    fn drop(&mut self) {
        self.console.listen_ended(&self.key);
    }
}

/// The span each in-process instance handles a message in: the console's message log names
/// the instance from it.
fn instance_span(i: usize) -> tracing::Span {
    tracing::info_span!(target: "mcp::served", "instance", instance = i as u64)
}
