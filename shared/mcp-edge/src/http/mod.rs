//! Streamable HTTP (both eras) over `http` types: POST carries one message and gets JSON or
//! an SSE stream back; GET opens a session's stream (or resumes one with `Last-Event-ID`);
//! DELETE ends a session.

mod body;
mod headers;
mod stream;
mod streams;

use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use bytes::Bytes;
use http::{HeaderValue, Method, Request, Response, StatusCode, header};
use tokio::sync::mpsc;

use mcp_auth::{Challenge, METADATA_PATH, TokenSource, TokenValidator, protected_resource_metadata};
use mcp_protocol::model::{Era, ProtocolVersion};
use mcp_protocol::{ErrorCode, ErrorObject};
use mcp_protocol::{jsonrpc, methods};
use mcp_server::router::NO_SHARED_SIGNALS;
use mcp_server::{Inbound, Refusal, Reply, ReplyStatus, Router, Servers, Transport};

pub use body::HttpBody;
use stream::{AbortOnDrop, ChannelOutbound, Out, Tail};
pub use streams::StreamLimits;

use crate::limits::MAX_MESSAGE_BYTES;
use crate::origin::OriginPolicy;
use crate::rate::{self, RateLimit, RateLimits, SourceAddress, Verdict};

/// What an [`HttpEdge`] accepts and how it streams; the default is a loopback server with no
/// authentication and no limits but the message size.
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// The largest POST body accepted (`413` beyond it); by default API Gateway's WebSocket
    /// message limit, so that a message that works on one transport works on all.
    pub max_body_bytes: usize,
    /// The `Host` and `Origin` a request must carry (`403` otherwise), against DNS rebinding.
    pub origin: OriginPolicy,
    /// The `retry` hint of resumable streams.
    pub sse_retry: Duration,
    /// Interval of SSE comment lines on idle streams (keeps proxies from closing them).
    pub keepalive: Duration,
    /// Bearer tokens required on every request (and the protected-resource metadata
    /// served), or no authentication.
    pub auth: Option<Arc<TokenValidator>>,
    /// Requests per principal, and per source address for anonymous requests, and window
    /// (`429` beyond it).
    pub rate_limits: RateLimits,
    /// How long a GET or listen stream lasts, and how many may be open.
    pub streams: StreamLimits,
    /// Whether notifications published on another instance reach a stream held here (see
    /// `RouterConfig::shared_signals`); without it GET streams and listens are refused.
    pub shared_signals: bool,
    /// Whether a session-era request may detach from its stream (SEP-1699 polling: the
    /// stream closes, the request runs on, the client resumes with `Last-Event-ID`). Only
    /// where work outlives a response: a Lambda environment is frozen once the response
    /// ends, so there the request keeps its stream until it is done.
    pub detach: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            max_body_bytes: MAX_MESSAGE_BYTES,
            origin: OriginPolicy::loopback(),
            sse_retry: Duration::from_millis(500),
            keepalive: Duration::from_secs(15),
            auth: None,
            rate_limits: RateLimits::default(),
            streams: StreamLimits::default(),
            shared_signals: true,
            detach: true,
        }
    }
}

/// The Streamable HTTP endpoint of one instance: `/mcp` is the default server, `/mcp/{name}`
/// the registered server `name`.
pub struct HttpEdge {
    servers: Servers,
    config: HttpConfig,
}

impl HttpEdge {
    /// An edge over `servers` (a single router is the default server alone).
    pub fn new(servers: impl Into<Servers>, config: HttpConfig) -> Self {
        HttpEdge { servers: servers.into(), config }
    }

    /// Answers one HTTP request: the protected-resource metadata, or a POST, GET or DELETE of
    /// `/mcp` or `/mcp/{name}` once its origin, token, rate limit and server have passed.
    pub async fn handle(&self, req: Request<Bytes>) -> Response<HttpBody> {
        // Public by design (RFC 9728): how a client finds where to get a token.
        if let Some(auth) = &self.config.auth
            && req.uri().path().starts_with(METADATA_PATH)
        {
            return match *req.method() {
                Method::GET => json(StatusCode::OK, Bytes::from(protected_resource_metadata(auth.config()))),
                _ => error_response(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::INVALID_REQUEST, "Method not allowed"),
            };
        }
        if let Err(why) = self.config.origin.check(req.headers()) {
            tracing::warn!(%why, "request refused");
            return error_response(StatusCode::FORBIDDEN, ErrorCode::INVALID_REQUEST, &format!("Forbidden: {why}"));
        }
        let (principal, expires_at_ms) = match &self.config.auth {
            None => (None, None),
            Some(auth) => {
                match crate::auth::authenticate(auth, req.headers(), req.uri().query(), TokenSource::Http).await {
                    Ok(principal) => (Some(principal.subject), Some(principal.expires_at_s.saturating_mul(1000))),
                    Err(challenge) => return challenge_response(&challenge),
                }
            }
        };
        let state = self.servers.default_router().state();
        let source = req.extensions().get::<SourceAddress>().map(|a| a.0.clone());
        let verdict = rate::check(state, self.config.rate_limits, principal.as_deref(), source.as_deref()).await;
        if let (Verdict::Limited { retry_after_ms }, Some(limit)) = verdict {
            return rate_limited(&limit, retry_after_ms);
        }
        let router = match self.servers.route(server_in_path(req.uri().path()), principal.as_deref()).await {
            Ok(router) => router,
            Err(refusal) => return refused(&refusal),
        };
        let caller = Caller { principal, expires_at_ms, source };
        match *req.method() {
            Method::POST => self.post(router, req, caller).await,
            Method::GET => self.get(&router, req, caller).await,
            Method::DELETE => self.delete(&router, req, caller.principal).await,
            _ => {
                let mut r =
                    error_response(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::INVALID_REQUEST, "Method not allowed");
                r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("GET, POST, DELETE"));
                r
            }
        }
    }

    async fn post(&self, router: Arc<Router>, req: Request<Bytes>, caller: Caller) -> Response<HttpBody> {
        let (parts, body) = req.into_parts();
        if body.len() > self.config.max_body_bytes {
            let m = format!("message exceeds the {} byte limit", self.config.max_body_bytes);
            return error_response(StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::LIMIT_EXCEEDED, &m);
        }
        let content_type = parts.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        let media_type = content_type.split(';').next().unwrap_or("").trim();
        if !media_type.eq_ignore_ascii_case("application/json") {
            return error_response(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ErrorCode::INVALID_REQUEST,
                "Content-Type must be application/json",
            );
        }
        let session_id = headers::text(&parts.headers, headers::SESSION_ID);
        let http_headers = headers::mcp_headers(&parts.headers);
        let resumable = session_id.is_some() && !is_stateless(http_headers.protocol_version.as_deref());
        // A 2026-07-28 listen is a long-lived stream: it takes a place among the open streams,
        // ends by itself within the bound, and at its token's expiry.
        let listen = !resumable
            && is_stateless(http_headers.protocol_version.as_deref())
            && http_headers.method.as_deref() == Some(methods::SUBSCRIPTIONS_LISTEN);
        if listen && !self.config.shared_signals {
            let e = ErrorObject::new(
                ErrorCode::INVALID_REQUEST,
                format!("subscriptions/listen over HTTP: {NO_SHARED_SIGNALS}"),
            );
            return json(StatusCode::BAD_REQUEST, Bytes::from(jsonrpc::encode_error(None, &e)));
        }
        let ticket = match listen {
            true => match self.admit_stream(router.state(), &caller, &mcp_server::ids::random_id()).await {
                Ok(ticket) => Some(ticket),
                Err(refused) => return refused,
            },
            false => None,
        };
        let inbound = Inbound {
            transport: Transport::Http,
            session_id,
            principal: caller.principal,
            http: Some(http_headers),
            credential_expires_at_ms: if listen { caller.expires_at_ms } else { None },
            stream_until_ms: if listen { self.config.streams.ends_at_ms(None) } else { None },
        };

        let (tx, mut rx) = mpsc::channel::<Out>(64);
        let out = Arc::new(ChannelOutbound { tx, detachable: resumable && self.config.detach });
        let state = router.state().clone();
        let session = inbound.session_id.clone();
        let mut task = AbortOnDrop {
            // In the caller's span, so that what the request logs stays under it.
            handle: tokio::spawn(
                async move {
                    let reply = router.handle(&body, &inbound, out).await;
                    // The place goes back before the reply does (a frozen Lambda runs nothing after).
                    if let Some(ticket) = ticket {
                        ticket.release().await;
                    }
                    reply
                }
                .in_current_span(),
            ),
            abort: !resumable,
        };
        // The first thing the request produces decides the reply's form: its response
        // (JSON), or a message before it (an SSE stream that carries both).
        let (first, tail) = tokio::select! {
            biased;
            m = rx.recv() => (m, Tail::Running(task)),
            reply = &mut task.handle => {
                let reply = reply.unwrap_or_else(|e| aborted(&e));
                // A message sent just before returning may not have been seen yet.
                match rx.try_recv() {
                    Ok(m) => (Some(m), Tail::Finished(reply)),
                    Err(_) => return reply_response(reply),
                }
            }
        };
        let Some(first) = first else {
            // The request dropped its outbound without sending: only its reply is left.
            let Tail::Running(mut task) = tail else { return empty(StatusCode::INTERNAL_SERVER_ERROR) };
            let reply = (&mut task.handle).await.unwrap_or_else(|e| aborted(&e));
            return reply_response(reply);
        };
        let log = match (resumable, session) {
            (true, Some(s)) => Some(stream::Resumable::new(state, &s)),
            _ => None,
        };
        sse_response(stream::pump(first, rx, tail, log, self.config.sse_retry, self.config.keepalive))
    }

    async fn get(&self, router: &Router, req: Request<Bytes>, caller: Caller) -> Response<HttpBody> {
        let headers = req.headers();
        let version = headers::text(headers, headers::PROTOCOL_VERSION);
        let Some(session_id) =
            headers::text(headers, headers::SESSION_ID).filter(|_| !is_stateless(version.as_deref()))
        else {
            // 2026-07-28 has no GET stream (`subscriptions/listen` replaces it).
            let mut r = error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::INVALID_REQUEST,
                "Method not allowed: no session stream",
            );
            r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
            return r;
        };
        if !self.config.shared_signals {
            // "...or else return HTTP 405 Method Not Allowed, indicating that the server does
            // not offer an SSE stream at this endpoint" (Streamable HTTP, listening for messages).
            let why = format!("Method not allowed: no session stream, since {NO_SHARED_SIGNALS}");
            let mut r = error_response(StatusCode::METHOD_NOT_ALLOWED, ErrorCode::INVALID_REQUEST, &why);
            r.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST, DELETE"));
            return r;
        }
        let state = router.state().clone();
        if let Err(refused) = own_session(router, &session_id, &caller.principal).await {
            return refused;
        }
        let last_event_id = headers::text(headers, headers::LAST_EVENT_ID);
        // A reconnect of the session's own stream continues it from its log; any other event
        // id resumes a request's stream.
        let continues = last_event_id.as_deref().is_none_or(|id| stream::is_session_log_event(id, &session_id));
        // A session's own stream holds one place whatever reconnects; a resumption its own.
        let holder = match continues {
            false => mcp_server::ids::random_id(),
            true => format!("session:{session_id}"),
        };
        let ticket = match self.admit_stream(&state, &caller, &holder).await {
            Ok(ticket) => ticket,
            Err(refused) => return refused,
        };
        // The stream ends by itself (an SSE `retry`, then the end) at its bound or its token's
        // expiry; the client reconnects, resuming with `Last-Event-ID` where it has one.
        let bounds = stream::Bounds {
            ends_at_ms: self.config.streams.ends_at_ms(caller.expires_at_ms),
            retry: self.config.sse_retry,
            keepalive: self.config.keepalive,
            ticket,
        };
        let frames = match (continues, last_event_id) {
            (false, Some(last)) => stream::resume(state, &session_id, last, bounds).await,
            (_, after) => stream::session_stream(state, session_id, after, bounds).await.map(Some),
        };
        match frames {
            Ok(Some(frames)) => sse_response(frames),
            // 400, not 404: a 404 would tell the client that its session is gone.
            Ok(None) => error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::INVALID_REQUEST,
                "unknown Last-Event-ID for this session",
            ),
            Err(e) => error_response(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::INTERNAL_ERROR, &e.to_string()),
        }
    }

    async fn delete(&self, router: &Router, req: Request<Bytes>, principal: Option<String>) -> Response<HttpBody> {
        let Some(session_id) = headers::text(req.headers(), headers::SESSION_ID) else {
            return error_response(
                StatusCode::BAD_REQUEST,
                ErrorCode::INVALID_REQUEST,
                "Bad Request: Mcp-Session-Id header is required",
            );
        };
        if let Err(refused) = own_session(router, &session_id, &principal).await {
            return refused;
        }
        let state = router.state();
        match state.sessions.delete(&session_id).await {
            Ok(Some(_)) => {
                let _ = state.subscriptions.remove_subscriber(&session_id).await;
                if let Some(principal) = &principal {
                    let _ = state.rates.release(&mcp_server::router::sessions_key(principal), &session_id).await;
                }
                stream::close_session_streams(state, &session_id).await;
                empty(StatusCode::OK)
            }
            Ok(None) => error_response(StatusCode::NOT_FOUND, ErrorCode::SESSION_NOT_FOUND, "Session not found"),
            Err(e) => error_response(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::INTERNAL_ERROR, &e.to_string()),
        }
    }
}

/// Who sent a request: its principal and its token's expiry (authorization on), and the
/// address it came from.
struct Caller {
    principal: Option<String>,
    expires_at_ms: Option<u64>,
    source: Option<String>,
}

impl HttpEdge {
    /// A place for one more long-lived stream of `caller`, or the `429` that says why not.
    async fn admit_stream(
        &self,
        state: &mcp_server::StateHandles,
        caller: &Caller,
        holder: &str,
    ) -> Result<streams::Ticket, Response<HttpBody>> {
        let who = streams::caller(caller.principal.as_deref(), caller.source.as_deref());
        self.config.streams.admit(state, &who, holder).await.map_err(|refused| {
            tracing::info!(reason = %refused.message(), "stream refused");
            let e = ErrorObject::new(ErrorCode::LIMIT_EXCEEDED, refused.message());
            let mut r = json(StatusCode::TOO_MANY_REQUESTS, Bytes::from(jsonrpc::encode_error(None, &e)));
            let retry_s = self.config.streams.lifetime.map_or(60, |l| l.as_secs().clamp(1, 60));
            r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_s));
            r
        })
    }
}

/// The session exists, was opened with this server, and belongs to `principal`. Another
/// principal's (or server's) session is answered exactly like an unknown one (nothing tells
/// that it exists) and logged.
async fn own_session(router: &Router, session_id: &str, principal: &Option<String>) -> Result<(), Response<HttpBody>> {
    match router.state().sessions.get(session_id).await {
        Ok(Some(session)) if session.principal == *principal && router.owns(&session) => Ok(()),
        Ok(Some(_)) => {
            tracing::warn!(session = %session_id, server = %router.name(), "session used by another principal or server");
            Err(error_response(StatusCode::NOT_FOUND, ErrorCode::SESSION_NOT_FOUND, "Session not found"))
        }
        Ok(None) => Err(error_response(StatusCode::NOT_FOUND, ErrorCode::SESSION_NOT_FOUND, "Session not found")),
        Err(e) => Err(error_response(StatusCode::SERVICE_UNAVAILABLE, ErrorCode::INTERNAL_ERROR, &e.to_string())),
    }
}

/// The server a path names: `/mcp/{name}` (after any prefix, such as a stage) names `name`;
/// anything else is the default server.
pub fn server_in_path(path: &str) -> Option<&str> {
    let (parent, last) = path.trim_end_matches('/').rsplit_once('/')?;
    (parent == "/mcp" || parent.ends_with("/mcp")).then_some(last).filter(|name| !name.is_empty())
}

/// A request the server routing refused: 404, 403, 429 (with `Retry-After`) or 503.
fn refused(refusal: &Refusal) -> Response<HttpBody> {
    let mut r = json(status_of(refusal.status()), Bytes::from(jsonrpc::encode_error(None, &refusal.to_wire())));
    if let Refusal::Limited { retry_after_ms, .. } = refusal {
        r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_ms.div_ceil(1000)));
    }
    r
}

/// `429 Too Many Requests` with `Retry-After` (whole seconds, rounded up) and the same in
/// the error's data, in milliseconds.
fn rate_limited(limit: &RateLimit, retry_after_ms: u64) -> Response<HttpBody> {
    let e = ErrorObject::new(ErrorCode::LIMIT_EXCEEDED, limit.describe())
        .with_data(serde_json::json!({ "retryAfterMs": retry_after_ms }));
    let mut r = json(StatusCode::TOO_MANY_REQUESTS, Bytes::from(jsonrpc::encode_error(None, &e)));
    r.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(retry_after_ms.div_ceil(1000)));
    r
}

/// 401, 403 or 400 with the challenge a client needs to get (or fix) its token.
fn challenge_response(challenge: &Challenge) -> Response<HttpBody> {
    let mut r = error_response(challenge.status, ErrorCode::INVALID_REQUEST, &challenge.message);
    if let Ok(value) = HeaderValue::from_str(&challenge.header) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, value);
    }
    r
}

fn is_stateless(version: Option<&str>) -> bool {
    version.is_some_and(|v| ProtocolVersion::parse(v).is_none_or(|p| p.era() == Era::Stateless))
}

/// The request's task ended without a reply: aborted at shutdown, or a panic in the framework
/// itself (handler and completer panics are caught inside the router and become errors).
fn aborted(e: &tokio::task::JoinError) -> Reply {
    tracing::error!(error = %e, "request task failed");
    Reply::error(None, &ErrorObject::internal("internal error"), ReplyStatus::Ok)
}

/// The HTTP status of a reply (also the status of a refused WebSocket handshake).
pub(crate) fn status_of(status: ReplyStatus) -> StatusCode {
    match status {
        ReplyStatus::Ok | ReplyStatus::Cancelled => StatusCode::OK,
        ReplyStatus::Accepted => StatusCode::ACCEPTED,
        ReplyStatus::BadRequest => StatusCode::BAD_REQUEST,
        ReplyStatus::SessionNotFound | ReplyStatus::MethodNotFound | ReplyStatus::ServerNotFound => {
            StatusCode::NOT_FOUND
        }
        ReplyStatus::Forbidden => StatusCode::FORBIDDEN,
        ReplyStatus::Limited => StatusCode::TOO_MANY_REQUESTS,
        ReplyStatus::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
    }
}

fn reply_response(reply: Reply) -> Response<HttpBody> {
    let status = status_of(reply.status);
    let mut response = match reply.body {
        Some(body) => json(status, Bytes::from(body)),
        None => empty(status),
    };
    if let Some(id) = reply.new_session.and_then(|s| HeaderValue::from_str(&s).ok()) {
        response.headers_mut().insert(headers::SESSION_ID, id);
    }
    response
}

fn json(status: StatusCode, body: Bytes) -> Response<HttpBody> {
    let mut r = Response::new(HttpBody::Full(body));
    *r.status_mut() = status;
    r.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn empty(status: StatusCode) -> Response<HttpBody> {
    let mut r = Response::new(HttpBody::Empty);
    *r.status_mut() = status;
    r
}

fn sse_response(frames: HttpBody) -> Response<HttpBody> {
    let mut r = Response::new(frames);
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}

/// An HTTP error with a JSON-RPC error body (id unknown).
pub fn error_response(status: StatusCode, code: ErrorCode, message: &str) -> Response<HttpBody> {
    json(status, Bytes::from(jsonrpc::encode_error(None, &ErrorObject::new(code, message))))
}

#[cfg(test)]
mod tests {
    use super::server_in_path;

    #[test]
    fn a_path_under_mcp_names_a_server_anything_else_is_the_default() {
        assert_eq!(server_in_path("/mcp/reports"), Some("reports"));
        assert_eq!(server_in_path("/mcp/reports/"), Some("reports"));
        assert_eq!(server_in_path("/prod/mcp/reports"), Some("reports"), "behind a stage");
        for default in ["/mcp", "/mcp/", "/", "", "/prod/mcp", "/other/reports"] {
            assert_eq!(server_in_path(default), None, "{default:?}");
        }
    }
}
