//! Lambda-backed tools: the payload a tool's function receives and returns (the contract of
//! `docs/lambda-tools.md`, so that a tool can be written in any language), and the handler
//! that invokes it. The arguments were validated against the tool's schema before; the
//! function's reply, its error, its silence past the timeout and an unreachable Lambda all
//! become a tool result, never a failed request.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use mcp_protocol::model::CallToolResult;

use super::entry::{ToolEntry, ToolImplementation};
use crate::context::RequestContext;
use crate::error::DefinitionError;
use crate::tool::ToolDef;

/// What the function receives.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ToolRequest {
    /// The tool's name as registered (one function may serve several tools).
    pub tool: String,
    /// The call's arguments, already validated against the tool's input schema.
    pub arguments: Map<String, Value>,
    /// The registered server the tool belongs to.
    pub server: String,
    /// The caller's principal (the token's subject), if the deployment authenticates.
    pub principal: Option<String>,
    /// The caller's W3C trace context, from the request's `_meta`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
    /// The caller's W3C `tracestate`, passed on with `traceparent`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracestate: Option<String>,
    /// The protocol version of the request (`2025-11-25`, `2026-07-28`, ...).
    pub protocol_version: String,
}

/// What the function returns: a tool result (`content`, `structuredContent`, `isError`), or
/// `{"error": "..."}` for a failure the caller should see as a tool error.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ToolReply {
    Failed { error: String },
    Result(CallToolResult),
}

/// Why an invocation gave no reply.
#[derive(Clone, Debug, thiserror::Error, PartialEq, Eq)]
pub enum InvokeError {
    /// The function ran and failed (an unhandled error: Lambda's `FunctionError`).
    #[error("the function failed: {0}")]
    Failed(String),
    /// Lambda itself refused or could not be reached (permissions, throttling, no such
    /// function, network).
    #[error("the function could not be invoked: {0}")]
    Unavailable(String),
}

/// Invokes functions synchronously (`aws-sdk-lambda` in a deployment).
#[async_trait]
pub trait ToolInvoker: Send + Sync {
    /// Invokes `function` with `payload` (a [`ToolRequest`] as JSON) and returns the reply's
    /// bytes. The caller bounds the wait with the tool's timeout.
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError>;
}

/// The tool of a registry entry, served by its function.
pub(crate) fn tool_def(
    entry: &ToolEntry,
    server: &str,
    invoker: Arc<dyn ToolInvoker>,
) -> Result<ToolDef, DefinitionError> {
    let ToolImplementation::Lambda { function, timeout_ms } = entry.implementation.clone();
    let (tool, server) = (entry.tool.name.clone(), server.to_owned());
    let def = ToolDef::from_tool(entry.tool.clone());
    let output = def.compile_output()?.map(Arc::new);
    def.raw_handler(move |ctx, arguments| {
        let (invoker, function, tool, server) = (invoker.clone(), function.clone(), tool.clone(), server.clone());
        let output = output.clone();
        Box::pin(async move {
            let request = request(&ctx, tool, arguments, server);
            let result = call(invoker.as_ref(), &function, &request, Duration::from_millis(timeout_ms)).await;
            Ok(checked(result, output.as_deref()))
        })
    })
}

/// A function's result that breaks the tool's output schema is the function's error (a
/// tool error), not the gateway's (which would fail the request).
fn checked(result: CallToolResult, output: Option<&jsonschema::Validator>) -> CallToolResult {
    let Some(validator) = output.filter(|_| result.is_error != Some(true)) else { return result };
    match &result.structured_content {
        Some(v) if validator.is_valid(v) => result,
        Some(_) => CallToolResult::error("the tool's structuredContent does not match its outputSchema"),
        None => CallToolResult::error("the tool declares an outputSchema but returned no structuredContent"),
    }
}

fn request(ctx: &RequestContext, tool: String, arguments: Map<String, Value>, server: String) -> ToolRequest {
    let trace = crate::trace::current();
    ToolRequest {
        tool,
        arguments,
        server,
        principal: ctx.principal().map(str::to_owned),
        traceparent: trace.as_ref().map(crate::trace::TraceContext::traceparent),
        tracestate: trace.and_then(|t| t.tracestate),
        protocol_version: ctx.protocol_version().as_str().to_owned(),
    }
}

/// One invocation, as a tool result whatever happens.
pub(crate) async fn call(
    invoker: &dyn ToolInvoker,
    function: &str,
    request: &ToolRequest,
    timeout: Duration,
) -> CallToolResult {
    let payload = match serde_json::to_vec(request) {
        Ok(p) => p,
        Err(e) => return CallToolResult::error(format!("the tool's request could not be encoded: {e}")),
    };
    let reply = match tokio::time::timeout(timeout, invoker.invoke(function, payload)).await {
        Err(_) => {
            tracing::warn!(function, tool = %request.tool, ?timeout, "tool function timed out");
            return CallToolResult::error(format!("the tool did not answer within {} ms", timeout.as_millis()));
        }
        Ok(Err(InvokeError::Failed(why))) => {
            tracing::warn!(function, tool = %request.tool, %why, "tool function failed");
            return CallToolResult::error(format!("the tool failed: {why}"));
        }
        // Lambda's own refusals name accounts, roles and ARNs: they go to the log only.
        Ok(Err(InvokeError::Unavailable(why))) => {
            tracing::error!(function, tool = %request.tool, %why, "tool function could not be invoked");
            return CallToolResult::error("the tool is unavailable; try again later");
        }
        Ok(Ok(reply)) => reply,
    };
    match serde_json::from_slice::<ToolReply>(&reply) {
        Ok(ToolReply::Result(result)) => result,
        Ok(ToolReply::Failed { error }) => CallToolResult::error(error),
        Err(e) => {
            tracing::warn!(function, tool = %request.tool, error = %e, "tool function replied with something else");
            CallToolResult::error(format!("the tool's reply is not a tool result: {e}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Answers every invocation with a fixed outcome, after a delay.
    struct Fixed(Result<Value, InvokeError>, Duration);

    #[async_trait]
    impl ToolInvoker for Fixed {
        async fn invoke(&self, _function: &str, _payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
            tokio::time::sleep(self.1).await;
            self.0.clone().map(|v| serde_json::to_vec(&v).unwrap_or_default())
        }
    }

    fn request() -> ToolRequest {
        ToolRequest {
            tool: "t".into(),
            arguments: Map::new(),
            server: "s".into(),
            principal: None,
            traceparent: None,
            tracestate: None,
            protocol_version: "2026-07-28".into(),
        }
    }

    async fn outcome(reply: Result<Value, InvokeError>, delay_ms: u64) -> Value {
        let invoker = Fixed(reply, Duration::from_millis(delay_ms));
        let result = call(&invoker, "f", &request(), Duration::from_millis(1000)).await;
        serde_json::to_value(result).unwrap_or_default()
    }

    #[tokio::test(start_paused = true)]
    async fn replies_errors_and_silence_all_become_tool_results() {
        let ok = outcome(Ok(json!({"content": [{"type": "text", "text": "3 words"}]})), 0).await;
        assert_eq!(ok, json!({"content": [{"type": "text", "text": "3 words"}]}));
        let failed = outcome(Ok(json!({"error": "no such document"})), 0).await;
        assert_eq!(failed, json!({"content": [{"type": "text", "text": "no such document"}], "isError": true}));
        let crashed = outcome(Err(InvokeError::Failed("Unhandled: boom".into())), 0).await;
        assert_eq!(crashed["isError"], true);
        assert!(crashed["content"][0]["text"].as_str().unwrap_or_default().contains("boom"));
        let late = outcome(Ok(json!({"content": []})), 5000).await;
        assert_eq!(late["content"][0]["text"], "the tool did not answer within 1000 ms");
        let odd = outcome(Ok(json!([1, 2])), 0).await;
        assert_eq!(odd["isError"], true);
    }
}
