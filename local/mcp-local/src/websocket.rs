//! WebSocket connections, turned into API Gateway events: the upgrade becomes `$connect`,
//! each text frame a `$default` event handled by the next instance, the close `$disconnect`.
//! Messages come back through `@connections` ([`LocalConnections`]), and replies also as
//! `$default`'s response, which the gateway sends on as API Gateway does.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayWebsocketProxyRequest, ApiGatewayWebsocketProxyRequestContext};
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade, close_code};
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Notify, Semaphore, mpsc};

use aws_lambda_events::query_map::QueryMap;
use mcp_edge::websocket::SERVER_PARAMETER;
use mcp_protocol::jsonrpc::{self, RequestId};
use mcp_protocol::{ErrorCode, ErrorObject};

use crate::connections::Frame;
use crate::gateway::Gateway;
use crate::lane::StageInfo;

/// Messages above this close the socket (bounded memory); the handler answers anything between
/// API Gateway's 128 KB limit and this with a JSON-RPC error naming the limit.
const MAX_FRAME_BYTES: usize = 8 * 1024 * 1024;
/// Requests of one connection handled at once, and as many other messages (each is a Lambda
/// invocation on AWS).
const MESSAGES_IN_HAND: usize = 64;

/// `/ws`: the server is the `server` query parameter's, or the default one.
pub async fn upgrade(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    connect(gateway, peer, headers, &uri, None, ws).await
}

/// `/ws/{server}`: the server named in the path (API Gateway has no paths under a stage,
/// so this becomes the `server` query parameter of `$connect`).
pub async fn upgrade_to(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Path(server): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    ws: WebSocketUpgrade,
) -> Response {
    connect(gateway, peer, headers, &uri, Some(server), ws).await
}

/// What every event of one connection carries: its id, the client's address, and the
/// `$connect` authorizer's answer.
struct Caller {
    connection_id: String,
    source_ip: String,
    authorizer: HashMap<String, serde_json::Value>,
}

async fn connect(
    gateway: Arc<Gateway>,
    peer: SocketAddr,
    headers: HeaderMap,
    uri: &Uri,
    server: Option<String>,
    ws: WebSocketUpgrade,
) -> Response {
    let connection_id = new_connection_id();
    let parameters = query_parameters(uri.query(), server);
    // API Gateway runs the `$connect` authorizer before the route; its answer travels with
    // every event of the connection.
    let authorizer = match gateway.authorize(&headers, uri.query(), &parameters, &connection_id).await {
        Ok(context) => context,
        Err(refused) => {
            let mut response = (refused.status, refused.message).into_response();
            for (name, value) in refused.headers {
                if let Ok(v) = axum::http::HeaderValue::from_str(&value) {
                    response.headers_mut().insert(name, v);
                }
            }
            return response;
        }
    };
    let caller = Caller { connection_id, source_ip: peer.ip().to_string(), authorizer };
    let mut connect = event(gateway.stage(), "$connect", &caller, Some(&headers), None, false);
    connect.query_string_parameters = QueryMap::from(parameters);
    // Boxed: a whole `$connect` (routing included) is a large future.
    let response = Box::pin(gateway.websocket(connect)).await;
    if response.status_code != 200 {
        let status = StatusCode::from_u16(response.status_code as u16).unwrap_or(StatusCode::BAD_REQUEST);
        return (status, "connection refused by $connect").into_response();
    }
    // The subprotocol is the one `$connect` answered with, as API Gateway passes it on:
    // without one, clients that offered `mcp` drop the connection.
    let chosen: Vec<String> = response
        .headers
        .get("sec-websocket-protocol")
        .and_then(|v| v.to_str().ok())
        .map(|p| vec![p.trim().to_owned()])
        .unwrap_or_default();
    ws.protocols(chosen).max_message_size(MAX_FRAME_BYTES).on_upgrade(move |socket| run(gateway, socket, caller))
}

async fn run(gateway: Arc<Gateway>, socket: WebSocket, caller: Caller) {
    let connection_id = caller.connection_id.clone();
    let (mut sender, mut receiver) = socket.split();
    let (tx, mut rx) = mpsc::channel::<Frame>(256);
    let kill = Arc::new(Notify::new());
    gateway.connections.register(&connection_id, tx, kill.clone());
    let requests_in_hand = Arc::new(Semaphore::new(MESSAGES_IN_HAND));
    let others_in_hand = Arc::new(Semaphore::new(MESSAGES_IN_HAND));
    let writer = tokio::spawn(async move {
        while let Some(frame) = rx.recv().await {
            let sent = match frame {
                Frame::Text(t) => sender.send(Message::Text(t.into())).await,
                Frame::Close => {
                    // Sends our close frame, or flushes the reply tungstenite queued when
                    // the client's close arrived.
                    let _ = sender.close().await;
                    break;
                }
                Frame::GoingAway => {
                    let close = CloseFrame { code: close_code::AWAY, reason: "Going away".into() };
                    let _ = sender.send(Message::Close(Some(close))).await;
                    break;
                }
            };
            if sent.is_err() {
                break;
            }
        }
    });
    let bounds = gateway.connection_bounds;
    let ends_at = tokio::time::Instant::now() + bounds.lifetime;
    let mut idle_until = tokio::time::Instant::now() + bounds.idle;
    loop {
        let received = tokio::select! {
            r = receiver.next() => r,
            // Dropped by the gateway (the client stopped reading): no close handshake is
            // possible with a client that does not read.
            () = kill.notified() => {
                writer.abort();
                break;
            }
            // API Gateway's bounds: the client sent nothing for too long, or the connection
            // reached its lifetime.
            () = tokio::time::sleep_until(idle_until.min(ends_at)) => {
                // A client whose queue is full does not read: it is dropped without a close.
                let queued = gateway.connections.sender(&connection_id).is_some_and(|tx| tx.try_send(Frame::GoingAway).is_ok());
                if !queued {
                    writer.abort();
                }
                break;
            }
        };
        let Some(received) = received else { break };
        let (body, binary) = match received {
            Ok(Message::Text(t)) => (t.to_string(), false),
            Ok(Message::Binary(b)) => (base64::engine::general_purpose::STANDARD.encode(&b), true),
            Ok(Message::Ping(_) | Message::Pong(_)) => continue,
            // A close from the client, or a protocol error (invalid UTF-8, oversize frame):
            // answer with a close frame, as the WebSocket handshake requires.
            Ok(Message::Close(_)) | Err(_) => break,
        };
        // Only messages count as activity: whether API Gateway counts ping frames is not
        // documented, so a client that keeps a connection open sends messages.
        idle_until = tokio::time::Instant::now() + bounds.idle;
        // Each message is its own invocation, on whichever instance comes next. Requests may
        // wait (on the client, for elicitation), so at most MESSAGES_IN_HAND run at once and
        // one more is refused; replies and notifications finish at once and have their own
        // bound (the answers that waiting requests need must never queue behind them).
        // Everything else waits for room, so a flood of them slows the reader instead of
        // piling up tasks.
        let permit = match classify(&body, binary) {
            Some(id) => match requests_in_hand.clone().try_acquire_owned() {
                Ok(permit) => permit,
                Err(_) => {
                    refuse_busy(&gateway, &connection_id, &id).await;
                    continue;
                }
            },
            None => match others_in_hand.clone().acquire_owned().await {
                Ok(permit) => permit,
                Err(_) => break,
            },
        };
        let gateway = gateway.clone();
        let default = event(gateway.stage(), "$default", &caller, None, Some(body), binary);
        tokio::spawn(async move {
            gateway.websocket(default).await;
            drop(permit);
        });
    }
    if let Some(tx) = gateway.connections.sender(&connection_id) {
        let _ = tx.send(Frame::Close).await;
    }
    gateway.connections.remove(&connection_id);
    if tokio::time::timeout(std::time::Duration::from_secs(1), writer).await.is_err() {
        tracing::debug!(connection = %connection_id, "writer did not finish the close handshake");
    }
    let disconnect = event(gateway.stage(), "$disconnect", &caller, None, None, false);
    gateway.websocket(disconnect).await;
}

/// The id of a request (what may wait, and so what counts against the connection's bound);
/// `None` for replies, notifications and anything the handler will refuse anyway.
fn classify(body: &str, binary: bool) -> Option<RequestId> {
    if binary {
        return None;
    }
    match jsonrpc::decode(body.as_bytes()) {
        Ok(jsonrpc::Message::Request(request)) => Some(request.id),
        _ => None,
    }
}

/// Answers a request over the connection's bound with an error it can match by id.
async fn refuse_busy(gateway: &Gateway, connection_id: &str, id: &RequestId) {
    let e = ErrorObject::new(
        ErrorCode::LIMIT_EXCEEDED,
        format!("at most {MESSAGES_IN_HAND} requests of one connection are handled at once"),
    );
    let reply = String::from_utf8(jsonrpc::encode_error(Some(id), &e)).unwrap_or_default();
    // Never waits: a client this busy that does not read loses the refusal, not the reader.
    if let Some(tx) = gateway.connections.sender(connection_id) {
        let _ = tx.try_send(Frame::Text(reply));
    }
}

/// Builds the event API Gateway would deliver for this connection.
fn event(
    stage: &StageInfo,
    route: &str,
    caller: &Caller,
    headers: Option<&HeaderMap>,
    body: Option<String>,
    binary: bool,
) -> ApiGatewayWebsocketProxyRequest {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
    let mut context = ApiGatewayWebsocketProxyRequestContext::default();
    context.route_key = Some(route.to_owned());
    context.event_type = Some(
        match route {
            "$connect" => "CONNECT",
            "$disconnect" => "DISCONNECT",
            _ => "MESSAGE",
        }
        .to_owned(),
    );
    context.connection_id = Some(caller.connection_id.clone());
    context.identity.source_ip = Some(caller.source_ip.clone());
    context.connected_at = now;
    context.request_time_epoch = now;
    context.stage = Some(stage.stage.clone());
    context.domain_name = Some(stage.domain());
    context.apiid = Some(stage.api_id.clone());
    context.request_id = Some(mcp_server::ids::random_id());
    context.message_direction = Some("IN".to_owned());
    context.authorizer.fields = caller.authorizer.clone();
    let mut e = ApiGatewayWebsocketProxyRequest::default();
    if let Some(h) = headers {
        e.headers = h.clone();
    }
    e.request_context = context;
    e.body = body;
    e.is_base64_encoded = binary;
    e.stage_variables = HashMap::new();
    e
}

/// The handshake's query parameters as API Gateway passes them to `$connect` (values as
/// sent: the one the edge reads, `server`, is a plain name), with the path's server, if any.
fn query_parameters(query: Option<&str>, server: Option<String>) -> HashMap<String, Vec<String>> {
    let mut parameters: HashMap<String, Vec<String>> = HashMap::new();
    for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        parameters.entry(key.to_owned()).or_default().push(value.to_owned());
    }
    if let Some(server) = server {
        parameters.insert(SERVER_PARAMETER.to_owned(), vec![server]);
    }
    parameters
}

/// API Gateway connection ids are short opaque strings; these are random too.
fn new_connection_id() -> String {
    let mut bytes = [0u8; 12];
    if getrandom::fill(&mut bytes).is_err() {
        // Not secret: uniqueness is enough, and the clock is unique enough per process.
        let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
        bytes[..12].copy_from_slice(&t.to_le_bytes()[..12]);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
