//! The API Gateway WebSocket binding: one handler for `$connect`, `$default` and
//! `$disconnect` events. A message's reply is the integration's response where the route
//! has a route response and the reply is ready within API Gateway's wait
//! ([`Replies::RouteResponse`]); everything else goes through `@connections` (a
//! [`ConnectionSink`]).
//!
//! This is exactly what the `ws-*` Lambda functions run on AWS and what the local gateway
//! runs for each frame. See `docs/websocket.md` for the binding.

use std::sync::Arc;

use async_trait::async_trait;
use aws_lambda_events::apigw::{ApiGatewayProxyResponse, ApiGatewayWebsocketProxyRequest};
use aws_lambda_events::encodings::Body;
use http::HeaderValue;

use mcp_protocol::jsonrpc::{self, RequestId};
use mcp_protocol::{ErrorCode, ErrorObject};
use mcp_server::ids::random_id;
use mcp_server::state::{ConnectionRecord, now_ms};
use mcp_server::{
    ConnectionSink, Inbound, Outbound, OutboundClosed, PostError, ReplyStatus, Router, Servers, Transport,
    forget_connection,
};

use crate::auth::token_expiry_ms;
use crate::limits::MAX_MESSAGE_BYTES;
use crate::origin::OriginPolicy;
use crate::rate::{self, RateLimits, Verdict};

/// The subprotocol clients must offer, echoed in the `$connect` response.
pub const SUBPROTOCOL: &str = "mcp";
/// API Gateway closes any connection after two hours.
const CONNECTION_LIFETIME_MS: u64 = 2 * 3600 * 1000;
/// The `$connect` query parameter that names the server (`wss://.../stage?server=name`);
/// without it, the default server.
pub const SERVER_PARAMETER: &str = "server";
/// Connections whose server one instance remembers.
const KNOWN_CONNECTIONS: u64 = 100_000;
/// API Gateway stops waiting for a route's integration this long after the message arrived.
const INTEGRATION_TIMEOUT_MS: i64 = 29_000;
/// A reply finished later than this before API Gateway stops waiting is posted instead of
/// returned: the response still has to reach API Gateway, and a late one is dropped.
const RESPONSE_MARGIN_MS: i64 = 3_000;

/// How a message's reply reaches its client.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Replies {
    /// Posted through `@connections` (`PostToConnection`): one more HTTPS round trip inside
    /// the invocation. Right for a route without a route response, where API Gateway drops
    /// the integration's response.
    #[default]
    Post,
    /// Returned as the integration's response, which API Gateway sends to the client when
    /// the `$default` route has a route response (two-way communication). A reply not ready
    /// within API Gateway's 29 s wait (less a margin) is posted instead, as are
    /// notifications and server-to-client requests.
    RouteResponse,
}

impl std::fmt::Display for Replies {
    /// The name [`Replies::from_str`](std::str::FromStr) reads, as `MCP_WS_REPLIES` and the
    /// template's `WebSocketReplies` spell it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Replies::Post => "post",
            Replies::RouteResponse => "route-response",
        })
    }
}

impl std::str::FromStr for Replies {
    type Err = String;

    fn from_str(s: &str) -> Result<Replies, String> {
        match s {
            "post" => Ok(Replies::Post),
            "route-response" => Ok(Replies::RouteResponse),
            other => Err(format!("{other:?}: expected post or route-response")),
        }
    }
}

/// The API Gateway WebSocket edge of one instance: a connection's server is chosen at
/// `$connect` and kept in its record; replies are returned or posted through the sink (see
/// [`Replies`]), server messages are posted.
pub struct WebSocketEdge {
    servers: Servers,
    /// The server of each connection this instance has served (it never changes), so that
    /// only a connection's first message on an instance reads its record.
    server_of: moka::future::Cache<String, Arc<str>>,
    sink: Arc<dyn ConnectionSink>,
    origin: OriginPolicy,
    rate_limits: RateLimits,
    max_in_flight: Option<u64>,
    replies: Replies,
}

impl WebSocketEdge {
    /// `origin` is checked at `$connect`: browsers apply no CORS to WebSockets, so without
    /// it any page could open a connection to a local server.
    pub fn new(servers: impl Into<Servers>, sink: Arc<dyn ConnectionSink>, origin: OriginPolicy) -> Self {
        let server_of = moka::future::Cache::builder()
            .max_capacity(KNOWN_CONNECTIONS)
            .time_to_live(std::time::Duration::from_millis(CONNECTION_LIFETIME_MS))
            .build();
        WebSocketEdge {
            servers: servers.into(),
            server_of,
            sink,
            origin,
            rate_limits: RateLimits::default(),
            max_in_flight: None,
            replies: Replies::Post,
        }
    }

    /// What every server of the deployment shares.
    fn state(&self) -> &mcp_server::StateHandles {
        self.servers.default_router().state()
    }

    /// Each principal (and each source address, for connections without one) may send at
    /// most so many messages per window; more are answered with a `LIMIT_EXCEEDED` error that
    /// says when to retry.
    pub fn with_rate_limits(mut self, limits: RateLimits) -> Self {
        self.rate_limits = limits;
        self
    }

    /// At most `limit` requests of one connection in flight at once (counted across
    /// instances); more are answered with a `LIMIT_EXCEEDED` error.
    pub fn with_max_in_flight(mut self, limit: Option<u64>) -> Self {
        self.max_in_flight = limit.filter(|n| *n > 0);
        self
    }

    /// How replies reach their clients: [`Replies::RouteResponse`] only where the deployment's
    /// `$default` route has a route response, or the replies are lost.
    pub fn with_replies(mut self, replies: Replies) -> Self {
        self.replies = replies;
        self
    }

    /// Handles one event by its route key (`$default` when it has none). The response is the
    /// route's status (the handshake's, at `$connect`) and, with [`Replies::RouteResponse`], a
    /// message's reply when it is ready in time; other replies are posted to the connection.
    pub async fn handle(&self, event: ApiGatewayWebsocketProxyRequest) -> ApiGatewayProxyResponse {
        let ctx = &event.request_context;
        let Some(connection_id) = ctx.connection_id.clone() else { return status(400) };
        match ctx.route_key.as_deref().unwrap_or("$default") {
            "$connect" => self.connect(&event, connection_id).await,
            "$disconnect" => self.disconnect(&connection_id).await,
            _ => self.message(&event, connection_id).await,
        }
    }

    async fn connect(&self, event: &ApiGatewayWebsocketProxyRequest, connection_id: String) -> ApiGatewayProxyResponse {
        if let Err(why) = self.origin.check(&event.headers) {
            tracing::warn!(connection = %connection_id, %why, "refused");
            return status(403);
        }
        let offered = event.headers.get("sec-websocket-protocol").and_then(|v| v.to_str().ok()).unwrap_or("");
        if !offered.split(',').any(|p| p.trim() == SUBPROTOCOL) {
            tracing::info!(connection = %connection_id, "refused: subprotocol mcp not offered");
            return status(400);
        }
        let now = now_ms();
        // API Gateway keeps a connection 2 hours; its token may expire sooner.
        let expires = token_expiry_ms(&event.request_context.authorizer.fields)
            .map_or(now + CONNECTION_LIFETIME_MS, |exp| exp.min(now + CONNECTION_LIFETIME_MS));
        let principal = principal(event);
        let requested = event.query_string_parameters.first(SERVER_PARAMETER);
        let router = match self.servers.route(requested, principal.as_deref()).await {
            Ok(router) => router,
            Err(refusal) => {
                tracing::info!(connection = %connection_id, %refusal, "refused");
                // API Gateway passes the handshake's status to the client, as HTTP would.
                return status(i64::from(crate::http::status_of(refusal.status()).as_u16()));
            }
        };
        let record = ConnectionRecord {
            id: connection_id.clone(),
            principal,
            server: router.name().to_owned(),
            created_at_ms: now,
            expires_at_ms: expires,
        };
        if let Err(e) = self.state().connections.put(&record).await {
            tracing::error!(connection = %connection_id, error = %e, "cannot record connection");
            return status(500);
        }
        let mut response = status(200);
        response.headers.insert("sec-websocket-protocol", HeaderValue::from_static(SUBPROTOCOL));
        response
    }

    /// Best effort: API Gateway may not deliver `$disconnect`; TTLs clean up what it misses.
    /// After a message that wrote state living as long as its connection: if the connection
    /// has ended meanwhile (its `$disconnect` ran on another instance, possibly before the
    /// writes), cleans up again, so that nothing it wrote outlives it.
    async fn unless_gone(&self, connection_id: &str) {
        match self.state().connections.get(connection_id).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                tracing::info!(connection = %connection_id, "connection ended while its state was written: cleaning up");
                if let Err(e) = forget_connection(self.state(), connection_id).await {
                    tracing::warn!(connection = %connection_id, error = %e, "cleanup incomplete; TTLs will finish it");
                }
            }
            Err(e) => tracing::warn!(connection = %connection_id, error = %e, "cannot check the connection"),
        }
    }

    async fn disconnect(&self, connection_id: &str) -> ApiGatewayProxyResponse {
        self.server_of.invalidate(connection_id).await;
        if let Err(e) = forget_connection(self.state(), connection_id).await {
            tracing::warn!(connection = %connection_id, error = %e, "cleanup incomplete; TTLs will finish it");
        }
        status(200)
    }

    async fn message(&self, event: &ApiGatewayWebsocketProxyRequest, connection_id: String) -> ApiGatewayProxyResponse {
        // The authorizer ran once, at `$connect`; the token it accepted may have expired since.
        if token_expiry_ms(&event.request_context.authorizer.fields).is_some_and(|exp| now_ms() >= exp) {
            tracing::info!(connection = %connection_id, "token expired: closing the connection");
            if let Err(e) = self.sink.close(&connection_id).await {
                tracing::warn!(connection = %connection_id, error = ?e, "cannot close the connection");
            }
            self.disconnect(&connection_id).await;
            return status(403);
        }
        let body = event.body.as_deref().unwrap_or("");
        if event.is_base64_encoded {
            let e = ErrorObject::invalid_request("binary frames are not supported: send JSON-RPC as text frames");
            return self.reply(event, &connection_id, jsonrpc::encode_error(None, &e)).await;
        }
        if body.len() > MAX_MESSAGE_BYTES {
            let e = ErrorObject::new(
                ErrorCode::LIMIT_EXCEEDED,
                format!("message exceeds the {MAX_MESSAGE_BYTES} byte limit"),
            );
            return self.reply(event, &connection_id, jsonrpc::encode_error(None, &e)).await;
        }
        let inbound = Inbound {
            transport: Transport::WebSocket,
            session_id: Some(connection_id.clone()),
            principal: principal(event),
            http: None,
            credential_expires_at_ms: token_expiry_ms(&event.request_context.authorizer.fields),
            stream_until_ms: None,
        };
        let source = event.request_context.identity.source_ip.as_deref();
        // The rate counter and the in-flight slot are asked at once: one Redis round trip.
        let (verdict, slot) = tokio::join!(
            rate::check(self.state(), self.rate_limits, inbound.principal.as_deref(), source),
            self.take_slot(body, &connection_id),
        );
        if let (Verdict::Limited { retry_after_ms }, Some(limit)) = verdict {
            self.give_back(slot.unwrap_or(None), &connection_id).await;
            // Requests get an error they can match by id; anything else is dropped.
            if let Ok(jsonrpc::Message::Request(request)) = jsonrpc::decode(body.as_bytes()) {
                let e = ErrorObject::new(ErrorCode::LIMIT_EXCEEDED, limit.describe())
                    .with_data(serde_json::json!({ "retryAfterMs": retry_after_ms }));
                return self.reply(event, &connection_id, jsonrpc::encode_error(Some(&request.id), &e)).await;
            }
            return status(200);
        }
        let slot = match slot {
            Ok(slot) => slot,
            Err(refusal) => return self.reply(event, &connection_id, refusal).await,
        };
        let router = match self.router_of(&connection_id, inbound.principal.as_deref()).await {
            Ok(router) => router,
            Err(error) => {
                self.give_back(slot, &connection_id).await;
                if let Ok(jsonrpc::Message::Request(request)) = jsonrpc::decode(body.as_bytes()) {
                    return self.reply(event, &connection_id, jsonrpc::encode_error(Some(&request.id), &error)).await;
                }
                return status(200);
            }
        };
        // Notifications and server-to-client requests of the request go out as they happen.
        let out = Arc::new(ConnectionOutbound { sink: self.sink.clone(), connection_id: connection_id.clone() });
        let reply = router.handle(body.as_bytes(), &inbound, out).await;
        let check_connection = async {
            if reply.binds_connection {
                self.unless_gone(&connection_id).await;
            }
        };
        tokio::join!(check_connection, self.give_back(slot, &connection_id));
        // A cancelled request is answered with silence here (the client asked for it).
        match reply.body.filter(|_| reply.status != ReplyStatus::Cancelled) {
            Some(bytes) => self.reply(event, &connection_id, fit(bytes)).await,
            None => status(200),
        }
    }

    /// Delivers a message's reply: as the integration's response when the route has a route
    /// response and API Gateway is still waiting, otherwise through `@connections`.
    async fn reply(
        &self,
        event: &ApiGatewayWebsocketProxyRequest,
        connection_id: &str,
        reply: Vec<u8>,
    ) -> ApiGatewayProxyResponse {
        let waiting_until = event.request_context.request_time_epoch + INTEGRATION_TIMEOUT_MS - RESPONSE_MARGIN_MS;
        let reply = match self.replies {
            Replies::RouteResponse if (now_ms() as i64) < waiting_until => match String::from_utf8(reply) {
                Ok(text) => {
                    let mut response = status(200);
                    response.body = Some(Body::Text(text));
                    return response;
                }
                Err(e) => e.into_bytes(),
            },
            _ => reply,
        };
        match self.sink.post(connection_id, reply).await {
            Ok(()) => {}
            Err(PostError::Gone(_)) => {
                self.disconnect(connection_id).await;
            }
            Err(PostError::Failed(why)) => tracing::warn!(connection = %connection_id, %why, "reply not delivered"),
        }
        status(200)
    }
}

/// How long an in-flight slot is held when never released (a crashed instance): longer than
/// any request runs.
const SLOT_LAPSE_MS: u64 = 5 * 60 * 1000;

impl WebSocketEdge {
    /// Gives back a slot [`take_slot`](Self::take_slot) took; one that cannot be given back
    /// lapses by itself.
    async fn give_back(&self, slot: Option<(String, String)>, connection_id: &str) {
        if let Some((key, holder)) = slot
            && let Err(e) = self.state().rates.release(&key, &holder).await
        {
            tracing::warn!(connection = %connection_id, error = %e, "in-flight slot not released; it lapses");
        }
    }

    /// A slot (its key and holder id) for a request of this connection (`Ok(None)` for other
    /// messages or without a limit), or the error that refuses it. A counter that cannot be
    /// reached refuses nothing.
    async fn take_slot(&self, body: &str, connection_id: &str) -> Result<Option<(String, String)>, Vec<u8>> {
        let Some(limit) = self.max_in_flight else { return Ok(None) };
        let Ok(jsonrpc::Message::Request(request)) = jsonrpc::decode(body.as_bytes()) else { return Ok(None) };
        let key = format!("inflight:{connection_id}");
        let holder = random_id();
        match self.state().rates.acquire(&key, &holder, limit, SLOT_LAPSE_MS).await {
            Ok(true) => Ok(Some((key, holder))),
            Ok(false) => {
                let e = ErrorObject::new(
                    ErrorCode::LIMIT_EXCEEDED,
                    format!("too many requests in flight on this connection (at most {limit})"),
                );
                Err(jsonrpc::encode_error(Some(&request.id), &e))
            }
            Err(e) => {
                tracing::warn!(connection = %connection_id, error = %e, "in-flight counter unavailable: request let through");
                Ok(None)
            }
        }
    }
}

impl WebSocketEdge {
    /// The router of the server the connection chose at `$connect`, if `principal` may
    /// still use it; otherwise the error to answer a request with. Without a registry there
    /// is only the default server, and nothing to read.
    async fn router_of(&self, connection_id: &str, principal: Option<&str>) -> Result<Arc<Router>, ErrorObject> {
        if !self.servers.has_registry() {
            return self.servers.route(None, principal).await.map_err(|r| r.to_wire());
        }
        let server = match self.server_of.get(connection_id).await {
            Some(server) => server,
            None => match self.state().connections.get(connection_id).await {
                Ok(Some(record)) => {
                    let server: Arc<str> = record.server.into();
                    self.server_of.insert(connection_id.to_owned(), server.clone()).await;
                    server
                }
                // Swept or disconnected: its server is unknown, and so is the connection.
                Ok(None) => {
                    return Err(ErrorObject::invalid_request("unknown connection: it has ended; connect again"));
                }
                Err(e) => {
                    tracing::warn!(connection = %connection_id, error = %e, "connection record unreadable");
                    return Err(mcp_server::HandlerError::State(e).to_wire(false));
                }
            },
        };
        self.servers.route(Some(&server), principal).await.map_err(|r| r.to_wire())
    }
}

/// A reply over API Gateway's limit becomes an error that names the limit.
fn fit(reply: Vec<u8>) -> Vec<u8> {
    if reply.len() <= MAX_MESSAGE_BYTES {
        return reply;
    }
    let id = match jsonrpc::decode(&reply) {
        Ok(jsonrpc::Message::Response(r)) => r.id,
        _ => None::<RequestId>,
    };
    let e = ErrorObject::new(
        ErrorCode::LIMIT_EXCEEDED,
        format!("reply of {} bytes exceeds the {MAX_MESSAGE_BYTES} byte WebSocket message limit", reply.len()),
    );
    jsonrpc::encode_error(id.as_ref(), &e)
}

/// The principal the `$connect` authorizer bound to the connection. API Gateway repeats
/// the authorizer context on every event of the connection.
fn principal(event: &ApiGatewayWebsocketProxyRequest) -> Option<String> {
    let fields = &event.request_context.authorizer.fields;
    fields.get(crate::auth::CONTEXT_PRINCIPAL).and_then(|v| v.as_str()).map(str::to_owned)
}

fn status(code: i64) -> ApiGatewayProxyResponse {
    let mut r = ApiGatewayProxyResponse::default();
    r.status_code = code;
    if code != 200 {
        r.body = Some(Body::Text(String::new()));
    }
    r
}

/// Sends a request's messages to its connection.
struct ConnectionOutbound {
    sink: Arc<dyn ConnectionSink>,
    connection_id: String,
}

#[async_trait]
impl Outbound for ConnectionOutbound {
    async fn send(&self, message: Vec<u8>) -> Result<(), OutboundClosed> {
        self.sink.post(&self.connection_id, message).await.map_err(|e| OutboundClosed(e.to_string()))
    }
}
