//! W3C trace context from `_meta`: the span a message is served in carries the caller's
//! trace, and the DynamoDB calls and Redis commands made for it are spans under it. A
//! capturing subscriber records every span with its parent. With the test command's
//! backends the calls go to DynamoDB (moto) and Redis; in memory there are none to see.

#![allow(clippy::unwrap_used)]

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;

use e2e::{Collected, http, shared_state};
use mcp_server::{Outbound, RequestStateCodec, Router, RouterConfig};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[derive(Clone, Debug)]
struct SpanSeen {
    id: u64,
    name: String,
    parent: Option<u64>,
    trace_id: Option<String>,
}

#[derive(Clone, Default)]
struct Seen {
    spans: Arc<Mutex<Vec<SpanSeen>>>,
    served_trace_ids: Arc<Mutex<Vec<String>>>,
}

struct TraceId(Option<String>);

impl Visit for TraceId {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "trace_id" && !value.is_empty() {
            self.0 = Some(value.to_owned());
        }
    }
    fn record_debug(&mut self, _field: &Field, _value: &dyn std::fmt::Debug) {}
}

impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Seen {
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut trace = TraceId(None);
        attrs.record(&mut trace);
        let parent = ctx.span(id).and_then(|s| s.parent()).map(|p| p.id().into_u64());
        let name = attrs.metadata().name().to_owned();
        self.spans.lock().unwrap().push(SpanSeen { id: id.into_u64(), name, parent, trace_id: trace.0 });
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, _ctx: Context<'_, S>) {
        let mut trace = TraceId(None);
        values.record(&mut trace);
        if let Some(t) = trace.0 {
            let mut spans = self.spans.lock().unwrap();
            if let Some(s) = spans.iter_mut().rev().find(|s| s.id == id.into_u64()) {
                s.trace_id = Some(t);
            }
        }
    }

    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        if event.metadata().target() == mcp_server::observe::SERVED {
            let mut trace = TraceId(None);
            event.record(&mut trace);
            self.served_trace_ids.lock().unwrap().extend(trace.0);
        }
    }
}

impl Seen {
    /// The request spans of the caller's trace, and the spans under them by name.
    fn under_the_trace(&self) -> (usize, Vec<String>) {
        let spans = self.spans.lock().unwrap().clone();
        let roots: Vec<u64> = spans
            .iter()
            .filter(|s| s.name == "mcp.request" && s.trace_id.as_deref() == Some(TRACE_ID))
            .map(|s| s.id)
            .collect();
        let descends = |s: &SpanSeen| {
            let mut parent = s.parent;
            while let Some(p) = parent.and_then(|p| spans.iter().rev().find(|x| x.id == p)) {
                if roots.contains(&p.id) {
                    return true;
                }
                parent = p.parent;
            }
            false
        };
        (roots.len(), spans.iter().filter(|s| descends(s)).map(|s| s.name.clone()).collect())
    }
}

fn with_trace(mut message: Value) -> Value {
    message["params"]["_meta"] = json!({ "traceparent": TRACEPARENT, "tracestate": "vendor=opaque" });
    message
}

#[tokio::test(flavor = "current_thread")]
async fn the_callers_trace_reaches_the_request_span_and_the_backend_calls_under_it() {
    let seen = Seen::default();
    let _default = tracing::subscriber::set_default(tracing_subscriber::registry().with(seen.clone()));
    let real_backends = std::env::var("MCP_TEST_DYNAMODB_ENDPOINT").is_ok();
    let state = shared_state().await;
    let server = Arc::new(reference_server::server().unwrap());
    let r = Router::new(server, state.with_l1(), RequestStateCodec::ephemeral(), RouterConfig::default(), None);
    let out = || -> Arc<dyn Outbound> { Arc::new(Collected::default()) };

    let init = with_trace(
        json!({"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}),
    );
    let reply = r.handle(init.to_string().as_bytes(), &http(None, None), out()).await;
    let session = reply.new_session.unwrap();
    let call = with_trace(
        json!({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"echo","arguments":{"text":"traced"}}}),
    );
    r.handle(call.to_string().as_bytes(), &http(Some(&session), Some("2025-11-25")), out()).await;
    // A message without a trace context starts none.
    let untraced = json!({"jsonrpc":"2.0","id":3,"method":"ping"});
    r.handle(untraced.to_string().as_bytes(), &http(Some(&session), Some("2025-11-25")), out()).await;

    let (requests, under) = seen.under_the_trace();
    assert_eq!(requests, 2, "both traced messages, not the third");
    assert_eq!(*seen.served_trace_ids.lock().unwrap(), [TRACE_ID, TRACE_ID], "and the served events name the trace");
    if real_backends {
        assert!(under.iter().any(|n| n == "DynamoDB.PutItem"), "the session's write: {under:?}");
        assert!(under.iter().any(|n| n == "fred.command"), "the Redis commands: {under:?}");
    }
}
