//! The router: one JSON-RPC message in, one reply out, for both protocol eras.
//!
//! Era per message: `initialize` starts a session (2025-11-25 and older); a request whose
//! `_meta` (or `MCP-Protocol-Version` header) names 2026-07-28 is served statelessly;
//! anything else belongs to the session named by the transport. The router keeps nothing
//! between messages: sessions, subscriptions and pending requests live in the state stores.

mod catalogue;
mod inbound;
mod reply;
mod session;
mod stateless;
mod tasks;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use serde_json::value::RawValue;
use tracing::Instrument;

use mcp_protocol::jsonrpc::{self, Message, Notification, Request, RequestId};
use mcp_protocol::model::meta::MetaOnly;
use mcp_protocol::model::notifications::{CANCELLED, CancelledParams, INITIALIZED};
use mcp_protocol::model::{ClientCapabilities, Era, LoggingLevel, ProtocolVersion, RequestMeta};
use mcp_protocol::{ErrorCode, ErrorObject, methods};

pub use inbound::{HttpHeaders, Inbound, Transport};
pub use reply::{Reply, ReplyStatus};
pub use session::{logged_frame, parse_logged, session_channel, session_log, session_of_channel};
pub use stateless::{decode_header_value, listen_subscriber};

use crate::context::reply_key;
use crate::notifier::Notifier;
use crate::outbound::{ConnectionSink, Outbound};
use crate::registry::LiveCatalogue;
use crate::registry::live::{MAX_AGE, Registration};
use crate::request_state::RequestStateCodec;
use crate::server::Server;
use crate::servers::Refusal;
use crate::signals::Signals;
use crate::state::{SessionRecord, StateHandles};

/// Limits and lifetimes.
#[derive(Clone, Debug)]
pub struct RouterConfig {
    /// Items per page of every list.
    pub page_size: usize,
    /// Lifetime of a session-era session (refreshed by nothing: clients re-initialize).
    pub session_ttl: Duration,
    /// How long a server-to-client request waits for its answer.
    pub input_timeout: Duration,
    /// Lifetime of a listen stream's subscription rows; a live stream renews them at half of
    /// it. (Session-era subscriptions live as long as their session.)
    pub subscription_ttl: Duration,
    /// Most subscriptions one session, or one listen stream, may hold. A session's are
    /// counted as slots in the shared store, so concurrent subscribes cannot pass it together.
    pub max_subscriptions: usize,
    /// Most live session-era sessions one principal may hold (each `initialize` writes rows
    /// that live a day), counted as slots in the shared store; `None`: no limit. Callers
    /// without a principal are bounded by the anonymous rate limit instead.
    pub max_sessions_per_principal: Option<u64>,
    /// Whether a signal sent on one instance (a reply to a server-to-client request, a
    /// cancellation, a notification for a stream) reaches the instance waiting for it: true
    /// in one process and with Redis; false for Lambda functions without Redis, where each
    /// instance handles one event at a time and the one waiting is never the one the other
    /// end's event reaches. Without it those features are refused with an error that says so.
    pub shared_signals: bool,
    /// Whether calls may become tasks (the tasks extension): true where their work can run
    /// on after the response, in this process (the local gateway, stdio, tests) or through
    /// [`task_launcher`](Self::task_launcher). False on Lambda without a worker function,
    /// whose environment is frozen once the response is sent.
    pub run_tasks: bool,
    /// Where a task's work runs: `None` in this process; otherwise each run is handed to
    /// the launcher (on Lambda, an asynchronous invoke of the worker function).
    pub task_launcher: Option<Arc<dyn crate::TaskLauncher>>,
    /// How long a task's runner may go unheard of (it renews its lease three times as
    /// often): a task whose runner stops (its process killed, its invocation timed out)
    /// fails once this has passed, at the next `tasks/get` or at the first sweep after.
    pub task_lease: Duration,
    /// How long a run handed to the [`task_launcher`](Self::task_launcher) may take to be
    /// claimed (an asynchronous invoke waits up to a minute for an environment, then one
    /// starts cold) before its task fails as never started. In process: `task_lease`.
    pub task_start_grace: Duration,
    /// How long a task is kept after its creation.
    pub task_ttl: Duration,
    /// Most unfinished tasks one principal may hold (callers without a principal share one
    /// bound), counted as slots in the shared store; `None`: no limit.
    pub max_tasks_per_principal: Option<u64>,
}

/// The slots of a principal's live sessions.
pub fn sessions_key(principal: &str) -> String {
    format!("sessions:{principal}")
}

/// What a feature that needs [`RouterConfig::shared_signals`] is refused with.
pub const NO_SHARED_SIGNALS: &str = "this deployment has no shared message bus (RedisTier=none): \
     an answer or cancellation sent from the client would reach another Lambda instance than the one waiting for it. \
     Use the 2026-07-28 protocol (MRTR) or WebSocket subscriptions, or deploy with RedisTier=serverless";

impl Default for RouterConfig {
    fn default() -> Self {
        RouterConfig {
            page_size: 100,
            session_ttl: Duration::from_secs(24 * 3600),
            input_timeout: Duration::from_secs(120),
            subscription_ttl: Duration::from_secs(2 * 3600),
            max_subscriptions: 256,
            max_sessions_per_principal: Some(100),
            shared_signals: true,
            run_tasks: false,
            task_launcher: None,
            task_lease: Duration::from_secs(60),
            task_start_grace: Duration::from_secs(90),
            task_ttl: Duration::from_secs(3600),
            max_tasks_per_principal: Some(100),
        }
    }
}

/// One handler instance: a server definition over shared state. Many routers (instances)
/// may share the same state; none keeps anything another would need. Cheap to clone (a
/// task's work holds a clone).
#[derive(Clone)]
pub struct Router {
    /// The server's name in the deployment: the key of its sessions, topics and registry
    /// entries.
    name: Arc<str>,
    /// Whether the server exists only while it is registered (a server of the registry,
    /// not the deployment's default).
    registered_only: bool,
    /// The server defined in code (empty for a server of the registry).
    server: Arc<Server>,
    /// Its catalogue with the registry's entries, when a registry backs it.
    live: Option<Arc<LiveCatalogue>>,
    state: StateHandles,
    signals: Arc<Signals>,
    notifier: Arc<Notifier>,
    request_states: RequestStateCodec,
    config: RouterConfig,
}

/// What the router learned about a request before dispatching it.
struct Cx<'a> {
    inbound: &'a Inbound,
    version: ProtocolVersion,
    stateless: bool,
    capabilities: ClientCapabilities,
    log_threshold: Option<LoggingLevel>,
    progress_token: Option<RequestId>,
}

impl Router {
    /// A router for `server` over the deployment's shared state, named by the server's name.
    /// `sink` delivers notifications to WebSocket subscribers (`@connections`); without one,
    /// those subscribers are not reached.
    pub fn new(
        server: Arc<Server>,
        state: StateHandles,
        request_states: RequestStateCodec,
        config: RouterConfig,
        sink: Option<Arc<dyn ConnectionSink>>,
    ) -> Self {
        let name: Arc<str> = server.info().name.as_str().into();
        let notifier = Arc::new(Notifier::new(state.clone(), sink, name.clone()));
        let signals = Arc::new(Signals::new(state.bus.clone()));
        Router { name, registered_only: false, server, live: None, state, signals, notifier, request_states, config }
    }

    /// The router of another server of the same registry, `name`, which has no code: its
    /// catalogue is its registry entries. It shares this instance's state and signals.
    /// `None` without a registry, or if the name cannot be a server's.
    pub fn registered_server(&self, name: &str) -> Option<Router> {
        let live = self.live.as_ref()?;
        if !crate::registry::entry::is_server_name(name) {
            return None;
        }
        let code = Arc::new(Server::builder(name, "1").build().ok()?);
        let name: Arc<str> = name.into();
        let live = Arc::new(live.for_server(code.clone(), &*name));
        Some(Router {
            name: name.clone(),
            registered_only: true,
            notifier: Arc::new(self.notifier.for_server(name.clone()).with_access(live.clone())),
            live: Some(live),
            server: code,
            state: self.state.clone(),
            signals: self.signals.clone(),
            request_states: self.request_states.for_server(&name),
            config: self.config.clone(),
        })
    }

    /// Whether a registry backs this router (so other servers of it can be served too).
    pub fn has_registry(&self) -> bool {
        self.live.is_some()
    }

    /// The server's name in the deployment.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether a session was opened with this server (only its own server serves it). A
    /// session recorded before servers were named was the default server's.
    pub fn owns(&self, session: &SessionRecord) -> bool {
        match session.server.as_deref() {
            Some(server) => server == &*self.name,
            None => !self.registered_only,
        }
    }

    /// Whether `principal` may use the server, as its registration was last read (no
    /// remote call). A server without a registry is open to whoever the deployment admits;
    /// with one, nobody is admitted until its registration has been read (it may restrict
    /// who), and the default server is open when it is not registered.
    pub fn access(&self, principal: Option<&str>) -> Result<(), Refusal> {
        let Some(live) = &self.live else { return Ok(()) };
        match live.registration() {
            Registration::Registered(entry) if !entry.admits(principal) => {
                Err(Refusal::Forbidden(self.name.to_string()))
            }
            Registration::Registered(_) => Ok(()),
            Registration::Unread => Err(Refusal::Unavailable(self.name.to_string())),
            Registration::Absent if self.registered_only => Err(Refusal::Unknown(self.name.to_string())),
            Registration::Absent => Ok(()),
        }
    }

    /// The server's own rate limit (requests per principal per minute), as last read.
    pub fn rate_limit(&self) -> Option<u64> {
        match self.live.as_ref()?.registration() {
            Registration::Registered(entry) => entry.rate_limit,
            _ => None,
        }
    }

    /// Reads the registration again if it is older than `max_age` (or was never read).
    pub async fn recheck_registration(&self, max_age: Duration) {
        if let Some(live) = &self.live {
            live.fresh_within(max_age).await;
        }
    }

    /// Serves the code's catalogue merged with a registry's entries (see [`LiveCatalogue`]).
    /// The server's name becomes its name in the registry.
    pub fn with_registry(mut self, live: Arc<LiveCatalogue>) -> Self {
        self.name = live.name().into();
        self.notifier = Arc::new(self.notifier.for_server(self.name.clone()).with_access(live.clone()));
        self.live = Some(live);
        self
    }

    /// The server as this instance last read it (code, plus the registry's entries).
    pub fn server(&self) -> Arc<Server> {
        match &self.live {
            Some(live) => live.cached(),
            None => self.server.clone(),
        }
    }

    /// Brings the registry's part of the catalogue up to date when the request depends on it:
    /// lists, discovery, initialization, and calls of anything code does not define. Calls of
    /// code's own tools, prompts and resources never wait on the registry (code wins), except
    /// for reading the server's registration once a minute.
    async fn revalidate(&self, req: &Request<'_>) {
        let Some(live) = &self.live else { return };
        let code = &self.server;
        let fresh = match req.method.as_ref() {
            methods::TOOLS_LIST
            | methods::RESOURCES_LIST
            | methods::RESOURCES_TEMPLATES_LIST
            | methods::PROMPTS_LIST
            | methods::DISCOVER
            | methods::INITIALIZE => true,
            methods::TOOLS_CALL => target(req).is_none_or(|name| code.tool(&name).is_none()),
            methods::PROMPTS_GET => target(req).is_none_or(|name| code.prompt(&name).is_none()),
            methods::RESOURCES_READ => target(req).is_none_or(|uri| !code.serves_uri(&uri)),
            _ => false,
        };
        if fresh {
            // Boxed: rare, and it would otherwise enlarge every message's future.
            Box::pin(live.fresh()).await;
        } else {
            // Who may use the server is read at least once a minute (and before anything).
            live.fresh_within(MAX_AGE).await;
        }
    }

    /// The shared stores this router serves from; the edges use them too (connections, streams,
    /// cleanup).
    pub fn state(&self) -> &StateHandles {
        &self.state
    }

    /// The fan-out of this server's resource updates and list changes to their subscribers.
    pub fn notifier(&self) -> &Notifier {
        &self.notifier
    }

    /// Handles one message. Progress, logs and server-to-client requests of the request go
    /// to `out` while it runs; the response (if any) is in the returned [`Reply`].
    pub async fn handle(&self, body: &[u8], inbound: &Inbound, out: Arc<dyn Outbound>) -> Reply {
        let started = std::time::Instant::now();
        let trace = crate::trace::TraceContext::of_message(body);
        let span = crate::trace::request_span(trace.as_ref());
        let serving = crate::trace::scope(trace.clone(), self.serve(body, inbound, out)).instrument(span.clone());
        let ((mut reply, method, era), calls) = crate::state::calls::counted(serving).await;
        reply.calls = calls;
        let served = crate::observe::Served {
            method: method.as_deref(),
            era,
            status: reply.status,
            error_code: reply.error_code,
            calls,
            latency: started.elapsed(),
            trace_id: trace.as_ref().map(|t| t.trace_id.as_str()),
        };
        span.in_scope(|| crate::observe::served(inbound, &served));
        reply
    }

    /// The reply, with the method and era of the message for the log.
    async fn serve<'b>(
        &self,
        body: &'b [u8],
        inbound: &Inbound,
        out: Arc<dyn Outbound>,
    ) -> (Reply, Option<Cow<'b, str>>, Option<Era>) {
        let decoded = jsonrpc::decode(body);
        if let Ok(Message::Request(Request { method, .. }) | Message::Notification(Notification { method, .. })) =
            &decoded
        {
            let span = tracing::Span::current();
            span.record("method", method.as_ref());
            span.record("otel.name", method.as_ref());
        }
        match decoded {
            Err(e) => {
                let status = ReplyStatus::BadRequest;
                (Reply::error(e.id.as_ref(), &e.error, status), None, None)
            }
            Ok(Message::Request(req)) => {
                let method = req.method.clone();
                let (reply, era) = self.request(req, inbound, out).await;
                (reply, Some(method), era)
            }
            Ok(Message::Notification(n)) => {
                let method = n.method.clone();
                (self.notification(n, inbound).await, Some(method), None)
            }
            Ok(Message::Response(r)) => {
                // A client's answer to a server-to-client request: wake whoever waits for it.
                // An error without an id answers nothing this server can find: noted, unanswered.
                let Some(id) = &r.id else {
                    tracing::info!(error = ?r.outcome.err(), "the client reports an error about a message it could not read");
                    return (Reply::accepted(), None, None);
                };
                if let Some(scope) = self.signal_scope(inbound).await {
                    let _ = self.signals.send(&reply_key(&scope, id), body.to_vec()).await;
                }
                (Reply::accepted(), None, None)
            }
        }
    }

    async fn request(&self, req: Request<'_>, inbound: &Inbound, out: Arc<dyn Outbound>) -> (Reply, Option<Era>) {
        let meta = match meta_of(req.params) {
            Ok(m) => m,
            Err(e) => return (Reply::error(Some(&req.id), &e, ReplyStatus::BadRequest), None),
        };
        self.revalidate(&req).await;
        // After revalidating: a principal removed from the server is refused at once.
        if let Err(refusal) = self.access(inbound.principal.as_deref()) {
            return (Reply::error(Some(&req.id), &refusal.to_wire(), refusal.status()), None);
        }
        if lane(inbound, meta.as_ref()) == Era::Stateless {
            return (self.stateless(req, meta, inbound, out).await, Some(Era::Stateless));
        }
        if req.method == methods::INITIALIZE {
            return (self.initialize(&req, inbound).await, Some(Era::Session));
        }
        (self.session_request(req, meta, inbound, out).await, Some(Era::Session))
    }

    async fn notification(&self, n: Notification<'_>, inbound: &Inbound) -> Reply {
        match n.method.as_ref() {
            INITIALIZED => {
                // Only the session's own client (same transport scope, same principal).
                if let Some(id) = self.signal_scope(inbound).await {
                    let _ = self.state.sessions.mark_initialized(&id).await;
                }
            }
            CANCELLED => {
                if !self.config.shared_signals && inbound.transport != Transport::Stdio {
                    // A notification gets no answer: the log says why nothing happens.
                    tracing::warn!(transport = ?inbound.transport, "cancellation not delivered: {NO_SHARED_SIGNALS}");
                } else if let Ok(CancelledParams { request_id: Some(id), .. }) = n.params_as::<CancelledParams>()
                    && let Some(scope) = self.signal_scope(inbound).await
                {
                    let _ = self.signals.send(&cancel_key(&scope, &id), Vec::new()).await;
                }
            }
            _ => {}
        }
        Reply::accepted()
    }

    /// The scope in which a client's answers and cancellations may reach running requests:
    /// its WebSocket connection or stdio process (the transport vouches for those), or an
    /// HTTP session that exists and belongs to the same principal. Anything else is dropped,
    /// so nobody can answer or cancel another client's requests by naming its session.
    async fn signal_scope(&self, inbound: &Inbound) -> Option<String> {
        let scope = inbound.session_id.as_ref()?;
        if inbound.transport != Transport::Http {
            return Some(scope.clone());
        }
        match self.state.sessions.get(scope).await {
            Ok(Some(s)) if s.principal == inbound.principal && self.owns(&s) => Some(scope.clone()),
            _ => None,
        }
    }

    /// Looks up the session a session-era request belongs to.
    async fn session_of(&self, req: &Request<'_>, inbound: &Inbound) -> Result<Arc<SessionRecord>, Reply> {
        let Some(id) = &inbound.session_id else {
            let e = ErrorObject::invalid_request(
                "Bad Request: no session; send initialize first (or an Mcp-Session-Id header)",
            );
            return Err(Reply::error(Some(&req.id), &e, ReplyStatus::BadRequest));
        };
        match self.state.sessions.get(id).await {
            Ok(Some(s)) if s.principal == inbound.principal && self.owns(&s) => Ok(s),
            Ok(found) => {
                if found.is_some() {
                    // Answered exactly like an unknown session: no oracle for valid ids.
                    tracing::warn!(session = %id, server = %self.name, "session used by another principal or server");
                }
                let e = ErrorObject::new(ErrorCode::SESSION_NOT_FOUND, "Session not found: send initialize first");
                Err(Reply::error(Some(&req.id), &e, ReplyStatus::SessionNotFound))
            }
            Err(e) => {
                Err(Reply::error(Some(&req.id), &crate::error::HandlerError::State(e).to_wire(false), ReplyStatus::Ok))
            }
        }
    }
}

/// The signal that cancels request `id` in `scope`.
pub(crate) fn cancel_key(scope: &str, id: &RequestId) -> String {
    format!("cancel:{scope}:{id}")
}

/// Which era serves a request. On HTTP the `MCP-Protocol-Version` header decides (a
/// session-era version, or else the stateless lane, which then validates the rest); without
/// the header a `_meta` protocol version means stateless. `initialize` in the stateless lane
/// is an unknown method, as 2026-07-28 prescribes.
fn lane(inbound: &Inbound, meta: Option<&RequestMeta>) -> Era {
    match inbound.http.as_ref().and_then(|h| h.protocol_version.as_deref()) {
        Some(v) => match ProtocolVersion::parse(v) {
            Some(known) => known.era(),
            None => Era::Stateless,
        },
        None if meta.is_some_and(|m| m.protocol_version.is_some()) => Era::Stateless,
        None => Era::Session,
    }
}

fn meta_of(params: Option<&RawValue>) -> Result<Option<RequestMeta>, ErrorObject> {
    let Some(p) = params else { return Ok(None) };
    // Only `_meta` is read here; the handler decodes the rest.
    jsonrpc::params_as::<MetaOnly>(Some(p)).map(|m| m.meta)
}

/// The `name` (tools, prompts) or `uri` (resources) a request is about.
fn target(req: &Request<'_>) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Target {
        name: Option<String>,
        uri: Option<String>,
    }
    let t: Target = req.params_as().ok()?;
    t.name.or(t.uri)
}
