//! 2026-07-28: every request stands alone, carrying version and capabilities in `_meta`.

use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::json;

use mcp_protocol::jsonrpc::{self, Request, RequestId};
use mcp_protocol::model::meta::SUBSCRIPTION_ID_KEY;
use mcp_protocol::model::notifications::SUBSCRIPTIONS_ACKNOWLEDGED;
use mcp_protocol::model::subscriptions::{ListenParams, SubscriptionFilter};
use mcp_protocol::model::{CacheHint, DiscoverResult, Era, ProtocolVersion, RequestMeta, ResultType, WireResult};
use mcp_protocol::{ErrorCode, ErrorObject, methods};

use super::{Cx, Inbound, Reply, ReplyStatus, Router, Transport};
use crate::error::HandlerError;
use crate::ids::random_id;
use crate::notifications::ListKind;
use crate::notifier::resource_topic;
use crate::outbound::Outbound;
use crate::state::{DeliveryTarget, Subscriber, now_ms};

/// Methods that need a name header on HTTP, and where the name is in the params.
fn name_member(method: &str) -> Option<&'static str> {
    match method {
        methods::TOOLS_CALL | methods::PROMPTS_GET => Some("name"),
        methods::RESOURCES_READ => Some("uri"),
        methods::TASKS_GET | methods::TASKS_UPDATE | methods::TASKS_CANCEL => Some("taskId"),
        _ => None,
    }
}

/// Decodes an MCP header value: `=?base64?<standard base64 of UTF-8>?=` or a literal.
/// Base64 is strict (canonical padding), as the spec's examples require.
pub fn decode_header_value(raw: &str) -> Result<String, &'static str> {
    use base64::Engine;
    let Some(inner) = raw.strip_prefix("=?base64?").and_then(|r| r.strip_suffix("?=")) else {
        return Ok(raw.to_owned());
    };
    let bytes = base64::engine::general_purpose::STANDARD.decode(inner).map_err(|_| "invalid base64 value")?;
    String::from_utf8(bytes).map_err(|_| "base64 value is not UTF-8")
}

pub(super) fn unsupported_version(id: &RequestId, requested: &str) -> Reply {
    // The same list `server/discover` advertises: the session era is reached through
    // `initialize`, not through `_meta`.
    let supported = ProtocolVersion::supported(Era::Stateless);
    let e = ErrorObject::new(ErrorCode::UNSUPPORTED_PROTOCOL_VERSION, "Unsupported protocol version")
        .with_data(json!({ "supported": supported, "requested": requested }));
    Reply::error(Some(id), &e, ReplyStatus::BadRequest)
}

fn header_mismatch(id: &RequestId, message: String) -> Reply {
    let e = ErrorObject::new(ErrorCode::HEADER_MISMATCH, format!("Header mismatch: {message}"));
    Reply::error(Some(id), &e, ReplyStatus::BadRequest)
}

impl Router {
    pub(super) async fn stateless(
        &self,
        req: Request<'_>,
        meta: Option<RequestMeta>,
        inbound: &Inbound,
        out: Arc<dyn Outbound>,
    ) -> Reply {
        // Order matters (and is what the conformance suite checks): required `_meta`
        // members, then header against body, then the version itself, then the rest.
        let meta = meta.unwrap_or_default();
        let Some(meta_version) = meta.protocol_version.as_deref() else {
            let e = ErrorObject::invalid_params("missing _meta[\"io.modelcontextprotocol/protocolVersion\"]");
            return Reply::error(Some(&req.id), &e, ReplyStatus::BadRequest);
        };
        if meta.client_capabilities.is_none() {
            let e = ErrorObject::invalid_params("missing _meta[\"io.modelcontextprotocol/clientCapabilities\"]");
            return Reply::error(Some(&req.id), &e, ReplyStatus::BadRequest);
        }
        if let Some(reply) = self.check_headers(&req, meta_version, inbound) {
            return reply;
        }
        let version = match ProtocolVersion::parse(meta_version) {
            Some(v) if v.era() == Era::Stateless => v,
            _ => return unsupported_version(&req.id, meta_version),
        };
        let cx = Cx {
            inbound,
            version,
            stateless: true,
            capabilities: meta.client_capabilities.unwrap_or_default(),
            log_threshold: meta.log_level,
            progress_token: meta.progress_token,
        };
        match req.method.as_ref() {
            methods::DISCOVER => self.discover(&req),
            methods::SUBSCRIPTIONS_LISTEN => self.listen(&req, &cx, out).await,
            methods::TOOLS_LIST
            | methods::TOOLS_CALL
            | methods::RESOURCES_LIST
            | methods::RESOURCES_TEMPLATES_LIST
            | methods::RESOURCES_READ
            | methods::PROMPTS_LIST
            | methods::PROMPTS_GET
            | methods::COMPLETION_COMPLETE => self.catalogue(req, &cx, out).await,
            methods::TASKS_GET | methods::TASKS_UPDATE | methods::TASKS_CANCEL if self.offers_tasks() => {
                self.task_method(&req, &cx).await
            }
            other => {
                let e = ErrorObject::method_not_found(other);
                Reply::error(Some(&req.id), &e, ReplyStatus::MethodNotFound)
            }
        }
    }

    /// Streamable HTTP: `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` must agree with
    /// the body (HTTP 400, -32020 otherwise).
    fn check_headers(&self, req: &Request<'_>, meta_version: &str, inbound: &Inbound) -> Option<Reply> {
        let h = inbound.http.as_ref()?;
        let id = &req.id;
        match h.protocol_version.as_deref() {
            None => return Some(header_mismatch(id, "missing MCP-Protocol-Version header".into())),
            Some(v) if v != meta_version => {
                return Some(header_mismatch(
                    id,
                    format!("MCP-Protocol-Version {v} does not match _meta protocolVersion {meta_version}"),
                ));
            }
            Some(_) => {}
        }
        match h.method.as_deref() {
            None => return Some(header_mismatch(id, "missing Mcp-Method header".into())),
            Some(m) if m != req.method => {
                return Some(header_mismatch(id, format!("Mcp-Method {m} does not match method {}", req.method)));
            }
            Some(_) => {}
        }
        if let Some(member) = name_member(&req.method) {
            let body_name = req
                .params
                .and_then(|p| serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(p.get()).ok())
                .and_then(|m| m.get(member).and_then(|v| v.as_str().map(str::to_owned)));
            let header_name = match h.name.as_deref().map(decode_header_value) {
                Some(Err(why)) => return Some(header_mismatch(id, format!("Mcp-Name: {why}"))),
                Some(Ok(n)) => Some(n),
                None => None,
            };
            match (header_name.as_deref(), body_name.as_deref()) {
                (None, _) => return Some(header_mismatch(id, "missing Mcp-Name header".into())),
                (Some(n), Some(b)) if n != b => {
                    return Some(header_mismatch(id, format!("Mcp-Name {n} does not match params.{member} {b}")));
                }
                _ => {}
            }
        }
        if req.method == methods::TOOLS_CALL {
            return self.check_param_headers(req, h);
        }
        None
    }

    /// `x-mcp-header` tool parameters mirrored as `Mcp-Param-{Name}` headers.
    fn check_param_headers(&self, req: &Request<'_>, h: &super::HttpHeaders) -> Option<Reply> {
        let params: mcp_protocol::model::CallToolParams = req.params_as().ok()?;
        let server = self.server();
        let tool = server.tool(&params.name)?;
        let props = tool.tool.input_schema.get("properties")?.as_object()?;
        let args = params.arguments.unwrap_or_default();
        for (prop, schema) in props {
            let Some(header) = schema.get("x-mcp-header").and_then(|v| v.as_str()) else { continue };
            let expected = match args.get(prop) {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                Some(v) => Some(v.to_string()),
            };
            let got = match h.params.iter().find(|(k, _)| k.eq_ignore_ascii_case(header)) {
                None => None,
                Some((_, raw)) => match decode_header_value(raw) {
                    Ok(v) => Some(v),
                    Err(why) => return Some(header_mismatch(&req.id, format!("Mcp-Param-{header}: {why}"))),
                },
            };
            match (expected.as_deref(), got.as_deref()) {
                (Some(e), Some(g)) if e == g => {}
                (None, None) => {}
                (Some(_), None) => return Some(header_mismatch(&req.id, format!("missing Mcp-Param-{header} header"))),
                (None, Some(_)) => {
                    return Some(header_mismatch(&req.id, format!("Mcp-Param-{header} given but {prop} is absent")));
                }
                (Some(e), Some(g)) => {
                    return Some(header_mismatch(&req.id, format!("Mcp-Param-{header} {g} does not match {prop} {e}")));
                }
            }
        }
        None
    }

    /// Whether this server offers the tasks extension: a tool of it may become a task, and
    /// this deployment runs tasks.
    fn offers_tasks(&self) -> bool {
        self.config.run_tasks
            && self.server().tools.iter().any(|t| t.task_support != crate::tool::TaskSupport::Forbidden)
    }

    fn discover(&self, req: &Request<'_>) -> Reply {
        let server = self.server();
        let mut capabilities = server.capabilities.clone();
        if self.offers_tasks() {
            let extensions = capabilities.extensions.get_or_insert_with(Default::default);
            extensions.insert(mcp_protocol::model::tasks::TASKS_EXTENSION.into(), json!({}));
        }
        let result = DiscoverResult {
            supported_versions: ProtocolVersion::supported(Era::Stateless).into_iter().map(str::to_owned).collect(),
            capabilities,
            instructions: server.instructions.clone(),
        };
        Reply::ok(self.stateless_result(&req.id, &result, Some(server.list_cache)))
    }

    /// Encodes a 2026-07-28 result: the body plus `resultType`, cache hint and server info.
    pub(super) fn stateless_result<T: serde::Serialize>(
        &self,
        id: &RequestId,
        body: &T,
        cache: Option<CacheHint>,
    ) -> Vec<u8> {
        jsonrpc::encode_result(
            id,
            &WireResult {
                body,
                result_type: Some(ResultType::Complete),
                cache,
                meta: Some(&self.server().result_meta),
            },
        )
    }

    /// `subscriptions/listen`: acknowledge, register one row per topic, then carry the
    /// notifications until the stream ends (HTTP, stdio). On WebSocket the rows point at the
    /// connection and the request returns at once; `$disconnect` removes them.
    async fn listen(&self, req: &Request<'_>, cx: &Cx<'_>, out: Arc<dyn Outbound>) -> Reply {
        let params: ListenParams = match req.params_as() {
            Ok(p) => p,
            Err(e) => return Reply::error(Some(&req.id), &e, ReplyStatus::BadRequest),
        };
        let honoured = self.honoured(&params.notifications);
        let mut topics: Vec<String> = Vec::new();
        if honoured.tools_list_changed == Some(true) {
            topics.push(ListKind::Tools.topic(&self.name));
        }
        if honoured.prompts_list_changed == Some(true) {
            topics.push(ListKind::Prompts.topic(&self.name));
        }
        if honoured.resources_list_changed == Some(true) {
            topics.push(ListKind::Resources.topic(&self.name));
        }
        for uri in honoured.resource_subscriptions.iter().flatten() {
            topics.push(resource_topic(&self.name, uri));
        }
        if topics.len() > self.config.max_subscriptions {
            let e = ErrorObject::new(
                ErrorCode::LIMIT_EXCEEDED,
                format!("at most {} subscriptions per stream", self.config.max_subscriptions),
            );
            return Reply::error(Some(&req.id), &e, ReplyStatus::BadRequest);
        }
        let (subscriber_id, target) = match (cx.inbound.transport, &cx.inbound.session_id) {
            (Transport::WebSocket, Some(conn)) => {
                // One listen per connection: a new one replaces the previous one's rows.
                let id = listen_subscriber(conn);
                if let Err(e) = self.state.subscriptions.remove_subscriber(&id).await {
                    return Reply::error(Some(&req.id), &HandlerError::State(e).to_wire(true), ReplyStatus::Ok);
                }
                (id, DeliveryTarget::Connection(conn.clone()))
            }
            _ => {
                let id = format!("listen:{}", random_id());
                (id.clone(), DeliveryTarget::Channel(id))
            }
        };
        // Subscribe to the channel before the rows exist, so nothing published is missed.
        let mut channel = match &target {
            DeliveryTarget::Channel(c) => match self.state.bus.subscribe(c).await {
                Ok(s) => Some(s),
                Err(e) => return Reply::error(Some(&req.id), &HandlerError::State(e).to_wire(true), ReplyStatus::Ok),
            },
            DeliveryTarget::Connection(_) => None,
        };
        // Where cancellation is a notification (stdio), `notifications/cancelled` with the
        // listen id ends the stream (on HTTP the client closes it). Subscribed before anything
        // is written, so that an early cancellation is not missed.
        let mut cancel = match (&cx.inbound.session_id, cx.inbound.transport, &channel) {
            (Some(scope), Transport::Stdio, Some(_)) => {
                self.signals.wait(&super::cancel_key(scope, &req.id)).await.ok()
            }
            _ => None,
        };
        // A stream's rows go when the stream goes, however it goes (armed before the rows
        // exist: the request may be dropped at any await below).
        let cleanup = channel.is_some().then(|| RowsGuard { state: self.state.clone(), id: subscriber_id.clone() });
        let mut row = Subscriber {
            id: subscriber_id.clone(),
            target,
            subscription_id: Some(req.id.clone()),
            principal: cx.inbound.principal.clone(),
            expires_at_ms: 0,
        };
        if let Err(e) = self.write_rows(&topics, &mut row, cx.inbound).await {
            let _ = self.state.subscriptions.remove_subscriber(&subscriber_id).await;
            return Reply::error(Some(&req.id), &HandlerError::State(e).to_wire(true), ReplyStatus::Ok);
        }
        let ack = json!({
            "notifications": honoured,
            "_meta": { SUBSCRIPTION_ID_KEY: req.id },
        });
        let ack = jsonrpc::encode_notification(SUBSCRIPTIONS_ACKNOWLEDGED, Some(&ack));
        if out.send(ack).await.is_err() {
            let _ = self.state.subscriptions.remove_subscriber(&subscriber_id).await;
            return Reply::cancelled(&req.id);
        }
        let Some(stream) = channel.as_mut() else {
            // WebSocket: the rows point at the connection, and live as long as it does.
            let mut reply = Reply::accepted();
            reply.binds_connection = true;
            return reply;
        };
        // Rows expire; a live stream renews them well before they do.
        let mut renew = tokio::time::interval(self.config.subscription_ttl / 2);
        renew.tick().await;
        // The stream ends by itself at its bound or its credential's expiry (the client
        // listens again, with a fresh token if it must).
        let ends = match cx.inbound.stream_ends_at_ms() {
            Some(at) => futures_util::future::Either::Left(tokio::time::sleep(std::time::Duration::from_millis(
                at.saturating_sub(now_ms()),
            ))),
            None => futures_util::future::Either::Right(std::future::pending()),
        };
        tokio::pin!(ends);
        loop {
            tokio::select! {
                () = &mut ends => break,
                message = stream.next() => {
                    let Some(m) = message else { break };
                    if out.send(m).await.is_err() {
                        break;
                    }
                }
                _ = renew.tick() => {
                    if self.write_rows(&topics, &mut row, cx.inbound).await.is_err() {
                        tracing::warn!(listen = %req.id, "could not renew subscription rows");
                    }
                }
                Some(_) = next_or_pending(&mut cancel) => break,
            }
        }
        // Before the reply: a Lambda environment runs nothing after its response ends.
        if let Some(cleanup) = cleanup {
            cleanup.remove().await;
        }
        let result = json!({ "_meta": { SUBSCRIPTION_ID_KEY: req.id } });
        Reply::ok(jsonrpc::encode_result(
            &req.id,
            &WireResult { body: &result, result_type: Some(ResultType::Complete), cache: None, meta: None },
        ))
    }

    /// Writes (or renews) a listener's row under every topic, expiring a TTL from now (or
    /// when the listener's credential does, if sooner).
    async fn write_rows(
        &self,
        topics: &[String],
        row: &mut Subscriber,
        inbound: &Inbound,
    ) -> crate::state::StateResult<()> {
        // A bounded stream's rows outlive it by a minute at most, however it ends (a process
        // killed at its timeout removes nothing).
        let ttl_end = now_ms() + self.config.subscription_ttl.as_millis() as u64;
        let bound = inbound.stream_until_ms.map_or(ttl_end, |until| ttl_end.min(until + ROWS_OUTLIVE_STREAM_MS));
        row.expires_at_ms = inbound.within_credential(bound);
        for t in topics {
            self.state.subscriptions.subscribe(t, row).await?;
        }
        Ok(())
    }

    /// The part of a filter this server can honour.
    fn honoured(&self, f: &SubscriptionFilter) -> SubscriptionFilter {
        let server = self.server();
        let caps = &server.capabilities;
        let list = |asked: Option<bool>, offered: bool| (asked == Some(true) && offered).then_some(true);
        SubscriptionFilter {
            tools_list_changed: list(f.tools_list_changed, caps.tools.is_some()),
            prompts_list_changed: list(f.prompts_list_changed, caps.prompts.is_some()),
            resources_list_changed: list(f.resources_list_changed, caps.resources.is_some()),
            resource_subscriptions: f.resource_subscriptions.clone().filter(|_| caps.resources.is_some()),
        }
    }
}

/// How long a bounded listen stream's rows may outlive it.
const ROWS_OUTLIVE_STREAM_MS: u64 = 60_000;

/// The subscriber id of a WebSocket connection's listen (distinct from its session's rows).
pub fn listen_subscriber(connection_id: &str) -> String {
    format!("listen:{connection_id}")
}

async fn next_or_pending(s: &mut Option<futures_util::stream::BoxStream<'static, Vec<u8>>>) -> Option<Vec<u8>> {
    match s {
        Some(s) => s.next().await,
        None => std::future::pending().await,
    }
}

/// Removes a listen stream's rows when the stream ends: awaited when it ends normally, and
/// in a task of its own when the request future is dropped (the client went away).
struct RowsGuard {
    state: crate::state::StateHandles,
    id: String,
}

impl RowsGuard {
    async fn remove(mut self) {
        let id = std::mem::take(&mut self.id);
        let _ = self.state.subscriptions.remove_subscriber(&id).await;
    }
}

impl Drop for RowsGuard {
    fn drop(&mut self) {
        if self.id.is_empty() {
            return;
        }
        let state = self.state.clone();
        let id = std::mem::take(&mut self.id);
        if let Ok(handle) = tokio::runtime::Handle::try_current() {
            handle.spawn(async move {
                let _ = state.subscriptions.remove_subscriber(&id).await;
            });
        }
    }
}
