//! W3C Trace Context taken from a message's `params._meta` (the root keys `traceparent` and
//! `tracestate`, as MCP clients and their instrumentation send them), and the span each
//! message is served in. The span carries the caller's trace and parent span ids; the
//! DynamoDB calls (the AWS SDK's `DynamoDB.<Operation>` spans) and Redis commands
//! (`fred.command`) made while serving are its children, so an exporter puts all of them in
//! the caller's trace.

use std::borrow::Cow;

use serde::Deserialize;
use tracing::field::Empty;

/// The caller's trace: a valid `traceparent`, and its `tracestate` if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceContext {
    /// 32 lowercase hex digits, not all zero.
    pub trace_id: String,
    /// The caller's span: 16 lowercase hex digits, not all zero.
    pub parent_id: String,
    /// The `trace-flags` byte (bit 0: sampled).
    pub flags: u8,
    /// The caller's `tracestate`, if valid (printable ASCII, at most 512 bytes), passed on as is.
    pub tracestate: Option<String>,
}

/// Longest `tracestate` kept (W3C: 32 list members; vendors keep 512 characters).
const MAX_TRACESTATE: usize = 512;

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(borrow, default)]
    params: Option<Params<'a>>,
}

#[derive(Deserialize)]
struct Params<'a> {
    #[serde(rename = "_meta", borrow, default)]
    meta: Option<Meta<'a>>,
}

#[derive(Deserialize)]
struct Meta<'a> {
    #[serde(borrow, default)]
    traceparent: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tracestate: Option<Cow<'a, str>>,
}

impl TraceContext {
    /// The trace context of a JSON-RPC message, if it has a valid one. Messages without the
    /// word `traceparent` are not parsed again.
    pub fn of_message(body: &[u8]) -> Option<TraceContext> {
        memchr::memmem::find(body, b"traceparent")?;
        let meta = serde_json::from_slice::<Message<'_>>(body).ok()?.params?.meta?;
        let mut context = TraceContext::parse(meta.traceparent.as_deref()?)?;
        context.tracestate = meta
            .tracestate
            .filter(|s| !s.is_empty() && s.len() <= MAX_TRACESTATE && s.bytes().all(|b| (0x20..0x7f).contains(&b)))
            .map(Cow::into_owned);
        Some(context)
    }

    /// A `traceparent` value: `version-traceid-parentid-flags`. Version `ff` is invalid; a
    /// later version than `00` is read as `00` when its first four fields are well formed.
    pub fn parse(traceparent: &str) -> Option<TraceContext> {
        let s = traceparent.trim();
        let head = s.get(..55)?;
        let rest = &s[55..];
        let [version, trace_id, parent_id, flags] = head.split('-').collect::<Vec<_>>()[..] else { return None };
        let hex =
            |f: &str, n: usize| f.len() == n && f.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let nonzero = |f: &str| f.bytes().any(|b| b != b'0');
        let valid = hex(version, 2)
            && version != "ff"
            && (rest.is_empty() || (version != "00" && rest.starts_with('-')))
            && hex(trace_id, 32)
            && nonzero(trace_id)
            && hex(parent_id, 16)
            && nonzero(parent_id)
            && hex(flags, 2);
        valid.then(|| TraceContext {
            trace_id: trace_id.to_owned(),
            parent_id: parent_id.to_owned(),
            flags: u8::from_str_radix(flags, 16).unwrap_or(0),
            tracestate: None,
        })
    }

    /// Whether the caller sampled the trace (`trace-flags` bit 0).
    pub fn sampled(&self) -> bool {
        self.flags & 1 == 1
    }
}

tokio::task_local! {
    static CURRENT: Option<TraceContext>;
}

/// Runs `f` (the serving of one message) with `context` as the current trace context. Not
/// an `async fn`: that would hold `f` twice in its state, doubling every message's future.
pub(crate) fn scope<F: Future>(context: Option<TraceContext>, f: F) -> impl Future<Output = F::Output> {
    CURRENT.scope(context, f)
}

/// The trace context of the message being served on this task, if it sent one: for
/// handlers that call out (a Lambda-backed tool passes it on).
pub fn current() -> Option<TraceContext> {
    CURRENT.try_with(Clone::clone).ok().flatten()
}

impl TraceContext {
    /// The `traceparent` value of this context (version 00).
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{:02x}", self.trace_id, self.parent_id, self.flags)
    }
}

/// The target of the request spans.
pub const REQUEST: &str = "mcp::request";

/// The span one message is served in (`mcp.request`), joined to the caller's trace when it
/// sent one. Its `method` and `otel.name` are recorded once the message is decoded. A traced
/// message's span is at info level, others' at debug: logs at `info` then pay for a span only
/// when someone follows the trace (an exporter asks for debug, and gets every message).
pub fn request_span(context: Option<&TraceContext>) -> tracing::Span {
    macro_rules! span {
        ($level:expr) => {
            tracing::span!(
                target: REQUEST,
                $level,
                "mcp.request",
                "otel.name" = Empty,
                "otel.kind" = "server",
                method = Empty,
                trace_id = Empty,
                parent_span_id = Empty,
            )
        };
    }
    let span = if context.is_some() { span!(tracing::Level::INFO) } else { span!(tracing::Level::DEBUG) };
    if let Some(c) = context {
        span.record("trace_id", c.trace_id.as_str());
        span.record("parent_span_id", c.parent_id.as_str());
        #[cfg(feature = "otel")]
        otel::join(&span, c);
    }
    span
}

/// Makes the span a child of the caller's span in OpenTelemetry (feature `otel`).
#[cfg(feature = "otel")]
mod otel {
    use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
    use tracing_opentelemetry::OpenTelemetrySpanExt;

    pub(super) fn join(span: &tracing::Span, c: &super::TraceContext) {
        let (Ok(trace_id), Ok(span_id)) = (TraceId::from_hex(&c.trace_id), SpanId::from_hex(&c.parent_id)) else {
            return;
        };
        let state = c.tracestate.as_deref().and_then(|s| s.parse::<TraceState>().ok()).unwrap_or_default();
        let remote = SpanContext::new(trace_id, span_id, TraceFlags::new(c.flags), true, state);
        let _ = span.set_parent(opentelemetry::Context::new().with_remote_span_context(remote));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_traceparent_is_read_and_invalid_ones_are_ignored() {
        let c = TraceContext::parse(VALID).unwrap();
        assert_eq!(
            (c.trace_id.as_str(), c.parent_id.as_str(), c.sampled()),
            ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", true)
        );
        assert!(TraceContext::parse("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-later").is_some());
        for bad in [
            "",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
        ] {
            assert_eq!(TraceContext::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_context_comes_from_params_meta_only() {
        let message = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","_meta":{{"traceparent":"{VALID}","tracestate":"congo=t61rcWkgMzE"}}}}}}"#
        );
        let c = TraceContext::of_message(message.as_bytes()).unwrap();
        assert_eq!(c.tracestate.as_deref(), Some("congo=t61rcWkgMzE"));
        let elsewhere = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"traceparent":"{VALID}"}}}}"#);
        assert_eq!(TraceContext::of_message(elsewhere.as_bytes()), None);
        assert_eq!(TraceContext::of_message(br#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#), None);
        assert_eq!(TraceContext::of_message(b"traceparent, not JSON"), None);
    }
}
