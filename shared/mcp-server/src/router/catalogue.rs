//! The catalogue methods, shared by both eras: lists, `tools/call`, `resources/read`,
//! `prompts/get` (the three that may need client input) and `completion/complete`.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use std::panic::AssertUnwindSafe;

use futures_util::{FutureExt, StreamExt};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;
use tokio::sync::Notify;

use mcp_protocol::jsonrpc::{self, Request, RequestId};
use mcp_protocol::model::completion::CompleteParams;
use mcp_protocol::model::pagination::PaginatedParams;
use mcp_protocol::model::{
    CacheHint, CallToolParams, CallToolResult, CompleteResult, Completion, CompletionRef, GetPromptParams,
    InputRequiredResult, InputResponses, Meta, ProtocolVersion, ReadResourceParams, ResultType, WireResult,
};
use mcp_protocol::{ErrorObject, methods};

use super::{Cx, Reply, ReplyStatus, Router, Transport, cancel_key};
use crate::completion::CompletionRequest;
use crate::context::{Inner, InputMode, MrtrRound, RequestContext};
use crate::error::{HandlerError, InputError};
use crate::outbound::Outbound;
use crate::pagination::page;
use crate::request_state::{RequestStateCodec, Round};
use crate::server::Listing;
use crate::state::now_ms;

/// Why a request without a way back to its client cannot ask it anything.
const NO_RETURN_PATH: &str = "this transport cannot carry requests to the client";

/// A list page as it goes on the wire: items pre-encoded when the server was built.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListPage<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    next_cursor: Option<String>,
    #[serde(flatten)]
    items: ItemsOf<'a>,
}

struct ItemsOf<'a>(&'static str, &'a [Box<RawValue>]);

impl Serialize for ItemsOf<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(self.0, self.1)?;
        m.end()
    }
}

/// Which of the three input-capable methods is being invoked, and on what.
pub(super) struct Invocation {
    pub(super) method: &'static str,
    pub(super) target: String,
    pub(super) arguments: Value,
    pub(super) input_responses: Option<InputResponses>,
    pub(super) request_state: Option<String>,
}

/// Runs user code (a handler, a completer) so that a panic in it becomes an internal error:
/// a bug in one handler is not a reason to leave a request unanswered.
pub(super) async fn caught<T>(f: impl Future<Output = Result<T, HandlerError>>) -> Result<T, HandlerError> {
    AssertUnwindSafe(f).catch_unwind().await.unwrap_or_else(|_| {
        tracing::error!("handler panicked");
        Err(HandlerError::Internal("the handler failed".into()))
    })
}

impl Router {
    pub(super) async fn catalogue(&self, req: Request<'_>, cx: &Cx<'_>, out: Arc<dyn Outbound>) -> Reply {
        let server = self.server();
        let caps = &server.capabilities;
        let listed = |key: &'static str, list: &Listing, offered: bool| -> Result<Vec<u8>, HandlerError> {
            if !offered {
                return Err(HandlerError::rpc(ErrorObject::method_not_found(&req.method)));
            }
            let p: PaginatedParams = req.params_as().map_err(|e| HandlerError::InvalidParams(e.message))?;
            let (range, next_cursor) = page(&list.keys, p.cursor.as_deref(), self.config.page_size)?;
            let body = ListPage { next_cursor, items: ItemsOf(key, &list.items[range]) };
            Ok(self.encode(cx, &req.id, &body, Some(server.list_cache)))
        };
        let s = &server;
        let outcome = match req.method.as_ref() {
            methods::TOOLS_LIST => listed("tools", &s.tools_json, caps.tools.is_some()),
            methods::RESOURCES_LIST => listed("resources", &s.resources_json, caps.resources.is_some()),
            methods::RESOURCES_TEMPLATES_LIST => {
                listed("resourceTemplates", &s.templates_json, caps.resources.is_some())
            }
            methods::PROMPTS_LIST => listed("prompts", &s.prompts_json, caps.prompts.is_some()),
            methods::COMPLETION_COMPLETE => self.complete(&req, cx, out).await,
            methods::TOOLS_CALL | methods::PROMPTS_GET | methods::RESOURCES_READ => {
                return self.invoke(req, cx, out).await;
            }
            other => Err(HandlerError::rpc(ErrorObject::method_not_found(other))),
        };
        self.finish(&req.id, cx, outcome)
    }

    pub(super) fn finish(&self, id: &RequestId, cx: &Cx<'_>, outcome: Result<Vec<u8>, HandlerError>) -> Reply {
        match outcome {
            Ok(body) => Reply::ok(body),
            Err(e) => {
                let wire = e.to_wire(cx.stateless);
                let status = match (&e, cx.stateless) {
                    (HandlerError::Rpc(o), true) if o.code == mcp_protocol::ErrorCode::METHOD_NOT_FOUND => {
                        ReplyStatus::MethodNotFound
                    }
                    (HandlerError::Input(InputError::MissingCapability(_)), true) => ReplyStatus::BadRequest,
                    _ => ReplyStatus::Ok,
                };
                Reply::error(Some(id), &wire, status)
            }
        }
    }

    /// Encodes a complete result in the request's era.
    fn encode<T: Serialize>(&self, cx: &Cx<'_>, id: &RequestId, body: &T, cache: Option<CacheHint>) -> Vec<u8> {
        if cx.stateless { self.stateless_result(id, body, cache) } else { jsonrpc::encode_result(id, body) }
    }

    async fn complete(&self, req: &Request<'_>, cx: &Cx<'_>, out: Arc<dyn Outbound>) -> Result<Vec<u8>, HandlerError> {
        let server = self.server();
        if server.capabilities.completions.is_none() {
            return Err(HandlerError::rpc(ErrorObject::method_not_found(&req.method)));
        }
        let p: CompleteParams = req.params_as().map_err(|e| HandlerError::InvalidParams(e.message))?;
        let completer = match &p.reference {
            CompletionRef::Prompt { name } => {
                let prompt = server
                    .prompt(name)
                    .ok_or_else(|| HandlerError::InvalidParams(format!("unknown prompt: {name}")))?;
                prompt.completer.clone()
            }
            CompletionRef::Resource { uri } => server
                .templates
                .iter()
                .find(|t| &t.template.uri_template == uri)
                .ok_or_else(|| HandlerError::InvalidParams(format!("unknown resource template: {uri}")))?
                .completer
                .clone(),
        };
        let values = match completer {
            Some(c) => {
                let ctx = self.context(&req.id, cx, out, InputMode::Unavailable(NO_RETURN_PATH));
                let request = CompletionRequest {
                    argument: p.argument.name,
                    value: p.argument.value,
                    context: p.context.arguments,
                };
                c(ctx, request).await?
            }
            None => Vec::new(),
        };
        let result = CompleteResult { completion: Completion::from_values(values) };
        Ok(self.encode(cx, &req.id, &result, None))
    }

    pub(super) fn context(
        &self,
        id: &RequestId,
        cx: &Cx<'_>,
        out: Arc<dyn Outbound>,
        input: InputMode,
    ) -> RequestContext {
        RequestContext::new(Inner {
            request_id: id.clone(),
            version: cx.version,
            capabilities: cx.capabilities.clone(),
            principal: cx.inbound.principal.clone(),
            progress_token: cx.progress_token.clone(),
            log_threshold: cx.log_threshold,
            out,
            input,
            notifier: self.notifier.clone(),
            kv: self.state.kv.clone(),
            cancelled: AtomicBool::new(false),
            cancel_notify: Notify::new(),
        })
    }

    /// `tools/call`, `prompts/get`, `resources/read`: run the handler with a context, and in
    /// 2026-07-28 turn unanswered input requests into an `InputRequiredResult`.
    async fn invoke(&self, req: Request<'_>, cx: &Cx<'_>, out: Arc<dyn Outbound>) -> Reply {
        let invocation = match self.invocation(&req) {
            Ok(i) => i,
            Err(e) => return self.finish(&req.id, cx, Err(e)),
        };
        if cx.stateless
            && invocation.method == methods::TOOLS_CALL
            && let Some(reply) = self.call_as_task(&req, cx, &invocation).await
        {
            return reply;
        }
        let input = match self.input_mode(&invocation, cx).await {
            Ok(mode) => mode,
            Err(e) => return self.finish(&req.id, cx, Err(e)),
        };
        let ctx = self.context(&req.id, cx, out, input);
        // A panicking handler is a bug in the handler, not a reason to leave the request
        // unanswered: it becomes an internal error.
        let run = caught(self.dispatch(&invocation, ctx.clone(), cx));
        let Some(outcome) = self.cancellable(&req.id, cx, &ctx, run).await else {
            return Reply::cancelled(&req.id);
        };
        if let Some((asked, answers)) = ctx.take_round() {
            return self.input_required(&req.id, &invocation, cx, asked, answers);
        }
        self.finish(&req.id, cx, outcome)
    }

    /// 2026-07-28: the `InputRequiredResult` of a round that asked for input, with the
    /// signed `requestState` that carries the answers so far and what was asked.
    pub(super) fn input_required(
        &self,
        id: &RequestId,
        invocation: &Invocation,
        cx: &Cx<'_>,
        asked: BTreeMap<String, mcp_protocol::model::InputRequest>,
        answers: BTreeMap<String, Value>,
    ) -> Reply {
        let digest = RequestStateCodec::digest(&invocation.arguments);
        let round = Round { answers, asked: asked.keys().cloned().collect() };
        let (token, _) = self.request_states.issue(
            invocation.method,
            &invocation.target,
            digest,
            cx.inbound.principal.as_deref(),
            round,
            now_ms(),
        );
        let result = InputRequiredResult { input_requests: Some(asked), request_state: Some(token) };
        let wire = WireResult {
            body: &result,
            result_type: Some(ResultType::InputRequired),
            cache: None,
            meta: Some(&self.server().result_meta),
        };
        Reply::ok(jsonrpc::encode_result(id, &wire))
    }

    fn invocation(&self, req: &Request<'_>) -> Result<Invocation, HandlerError> {
        let invalid = |e: ErrorObject| HandlerError::InvalidParams(e.message);
        let inv = match req.method.as_ref() {
            methods::TOOLS_CALL => {
                let p: CallToolParams = req.params_as().map_err(invalid)?;
                Invocation {
                    method: methods::TOOLS_CALL,
                    target: p.name,
                    arguments: Value::Object(p.arguments.unwrap_or_default()),
                    input_responses: p.input_responses,
                    request_state: p.request_state,
                }
            }
            methods::PROMPTS_GET => {
                let p: GetPromptParams = req.params_as().map_err(invalid)?;
                Invocation {
                    method: methods::PROMPTS_GET,
                    target: p.name,
                    arguments: serde_json::to_value(&p.arguments).unwrap_or(Value::Null),
                    input_responses: p.input_responses,
                    request_state: p.request_state,
                }
            }
            _ => {
                let p: ReadResourceParams = req.params_as().map_err(invalid)?;
                Invocation {
                    method: methods::RESOURCES_READ,
                    target: p.uri,
                    arguments: Value::Null,
                    input_responses: p.input_responses,
                    request_state: p.request_state,
                }
            }
        };
        if let Some(bad) = inv.input_responses.iter().flatten().find(|(_, v)| !v.is_object()) {
            return Err(HandlerError::InvalidParams(format!("inputResponses[{}] must be an object", bad.0)));
        }
        Ok(inv)
    }

    /// Session era: push requests to the client. 2026-07-28: MRTR, with the answers from a
    /// verified, not-yet-used `requestState` plus this round's `inputResponses`.
    pub(super) async fn input_mode(&self, inv: &Invocation, cx: &Cx<'_>) -> Result<InputMode, HandlerError> {
        if !cx.stateless {
            // Stdio is one process: its answers always reach the request that waits.
            if !self.config.shared_signals && cx.inbound.transport != Transport::Stdio {
                return Ok(InputMode::Unavailable(super::NO_SHARED_SIGNALS));
            }
            return Ok(match &cx.inbound.session_id {
                Some(scope) => InputMode::Push {
                    signals: self.signals.clone(),
                    scope: scope.clone(),
                    timeout: self.config.input_timeout,
                },
                None => InputMode::Unavailable(NO_RETURN_PATH),
            });
        }
        let mut answers: BTreeMap<String, Value> = BTreeMap::new();
        let mut asked: Vec<String> = Vec::new();
        if let Some(token) = &inv.request_state {
            let digest = RequestStateCodec::digest(&inv.arguments);
            let state = self
                .request_states
                .verify(token, inv.method, &inv.target, &digest, cx.inbound.principal.as_deref(), now_ms())
                .map_err(|e| {
                    tracing::warn!(reason = %e, method = inv.method, "requestState refused");
                    HandlerError::InvalidParams(format!("requestState integrity check failed: {e}"))
                })?;
            // Single use, across every instance: the first consumer of the nonce wins.
            if !self.state.nonces.consume(&state.n, state.x).await? {
                tracing::warn!(method = inv.method, "requestState replayed");
                return Err(HandlerError::InvalidParams("requestState has already been used".into()));
            }
            answers = state.r;
            asked = state.q;
        }
        // This round's answers are taken for the requests the state says were asked, and
        // nothing else: "If additional, unexpected parameters are provided in the
        // `InputResponses` object, the server SHOULD ignore any information it does not
        // recognize or need" (2026-07-28, basic/patterns/mrtr, Error Handling). Every
        // InputRequiredResult of this server carries a requestState, so inputResponses
        // without one answer nothing it asked; a handler never takes an answer it did not
        // ask for. Answers from earlier rounds are signed; the client cannot rewrite them.
        for (key, answer) in inv.input_responses.clone().unwrap_or_default() {
            if asked.contains(&key) {
                answers.entry(key).or_insert(answer);
            } else {
                tracing::debug!(
                    key,
                    method = inv.method,
                    "inputResponses entry that no input request asked for: ignored"
                );
            }
        }
        Ok(InputMode::Mrtr(Mutex::new(MrtrRound { answers, ..Default::default() })))
    }

    async fn dispatch(&self, inv: &Invocation, ctx: RequestContext, cx: &Cx<'_>) -> Result<Vec<u8>, HandlerError> {
        let server = self.server();
        match inv.method {
            methods::TOOLS_CALL => self.call_tool(inv, ctx, cx).await,
            methods::PROMPTS_GET => {
                let prompt = server
                    .prompt(&inv.target)
                    .ok_or_else(|| HandlerError::InvalidParams(format!("unknown prompt: {}", inv.target)))?;
                let args: BTreeMap<String, String> = serde_json::from_value(inv.arguments.clone()).unwrap_or_default();
                if let Some(missing) = prompt.missing_required(&args) {
                    return Err(HandlerError::InvalidParams(format!("missing required argument: {missing}")));
                }
                let result = (prompt.handler)(ctx.clone(), args).await?;
                Ok(self.encode(cx, ctx.request_id(), &result, None))
            }
            _ => {
                let uri = inv.target.clone();
                let (handler, vars, cache) = match server.resource_index.get(&uri) {
                    Some(&i) => (server.resources[i].handler.clone(), BTreeMap::new(), server.resources[i].cache),
                    None => {
                        let (t, vars) = server
                            .templates
                            .iter()
                            .find_map(|t| t.matcher.matches(&uri).map(|v| (t, v)))
                            .ok_or_else(|| HandlerError::ResourceNotFound(uri.clone()))?;
                        (t.handler.clone(), vars, t.cache)
                    }
                };
                let result = handler(ctx.clone(), uri, vars).await?;
                Ok(self.encode(cx, ctx.request_id(), &result, Some(cache)))
            }
        }
    }

    async fn call_tool(&self, inv: &Invocation, ctx: RequestContext, cx: &Cx<'_>) -> Result<Vec<u8>, HandlerError> {
        let server = self.server();
        let tool = server
            .tool(&inv.target)
            .ok_or_else(|| HandlerError::InvalidParams(format!("Unknown tool: {}", inv.target)))?;
        if let Err(why) = tool.validate_arguments(&inv.arguments) {
            // 2025-11-25 (SEP-1303) and later report invalid arguments as a tool error the
            // model can correct; older versions as a protocol error.
            if cx.version >= ProtocolVersion::V2025_11_25 {
                let result = CallToolResult::error(format!("Invalid arguments for tool {}: {why}", inv.target));
                return Ok(self.encode_call(cx, ctx.request_id(), result));
            }
            return Err(HandlerError::InvalidParams(format!("invalid arguments: {why}")));
        }
        let args = match &inv.arguments {
            Value::Object(m) => m.clone(),
            _ => Default::default(),
        };
        let result = (tool.handler)(ctx.clone(), args).await?;
        if let Err(why) = tool.validate_output(&result) {
            return Err(HandlerError::Internal(format!(
                "tool {} returned output that violates its outputSchema: {why}",
                inv.target
            )));
        }
        Ok(self.encode_call(cx, ctx.request_id(), result))
    }

    /// A tool result may carry its own `_meta`; in 2026-07-28 the server info joins it.
    fn encode_call(&self, cx: &Cx<'_>, id: &RequestId, mut result: CallToolResult) -> Vec<u8> {
        if !cx.stateless {
            return jsonrpc::encode_result(id, &result);
        }
        let mut meta: Meta = result.meta.take().unwrap_or_default();
        // The server's own keys win: a tool (a Lambda function's reply) cannot speak for it.
        for (k, v) in &self.server().result_meta {
            meta.insert(k.clone(), v.clone());
        }
        jsonrpc::encode_result(
            id,
            &WireResult { body: &result, result_type: Some(ResultType::Complete), cache: None, meta: Some(&meta) },
        )
    }

    /// Runs a handler; on transports where cancellation arrives as a notification
    /// (session era, WebSocket, stdio), stops it when `notifications/cancelled` names it.
    /// On stateless HTTP a closed stream cancels by dropping the request's future.
    async fn cancellable<T>(
        &self,
        id: &RequestId,
        cx: &Cx<'_>,
        ctx: &RequestContext,
        run: impl Future<Output = T>,
    ) -> Option<T> {
        let listens = !(cx.stateless && cx.inbound.transport == Transport::Http);
        let subscription = match (&cx.inbound.session_id, listens) {
            (Some(scope), true) => self.signals.wait(&cancel_key(scope, id)).await.ok(),
            _ => None,
        };
        let Some(mut cancel) = subscription else { return Some(run.await) };
        tokio::select! {
            r = run => Some(r),
            Some(_) = cancel.next() => {
                ctx.cancel();
                None
            }
        }
    }
}
