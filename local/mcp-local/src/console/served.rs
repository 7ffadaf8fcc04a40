//! The message log's rows: what an instance reports of each message it served. In process
//! that is the `mcp::served` tracing event, inside the span that names the instance; in the
//! Lambda lane it is each metrics line a function prints, as the emulator reads it.

use std::sync::Arc;

use serde_json::{Map, Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id};
use tracing_subscriber::layer::{Context, Layer};
use tracing_subscriber::registry::LookupSpan;

use super::{Console, now_ms};

/// The span the in-process gateway runs each instance's handling in (target `mcp::served`,
/// so the console's filter lets it through whatever `RUST_LOG` says).
pub const INSTANCE_SPAN: &str = "instance";

/// A tracing layer that turns `mcp::served` events into message-log rows.
pub struct ServedLayer {
    pub console: Arc<Console>,
}

/// The instance a span names, kept with the span.
struct Instance(u64);

#[derive(Default)]
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), json!(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), json!(format!("{value:?}")));
    }
}

impl<S> Layer<S> for ServedLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        if attrs.metadata().name() != INSTANCE_SPAN {
            return;
        }
        let mut fields = Fields::default();
        attrs.record(&mut fields);
        if let (Some(instance), Some(span)) = (fields.0.get("instance").and_then(Value::as_u64), ctx.span(id)) {
            span.extensions_mut().insert(Instance(instance));
        }
    }

    fn on_event(&self, event: &tracing::Event<'_>, ctx: Context<'_, S>) {
        if event.metadata().target() != mcp_server::observe::SERVED {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let instance = ctx
            .event_scope(event)
            .and_then(|scope| scope.from_root().find_map(|span| span.extensions().get::<Instance>().map(|i| i.0)));
        let mut row = fields.0;
        row.remove("message");
        row.insert("instance".to_owned(), json!(instance.map_or_else(|| "?".to_owned(), |i| format!("instance {i}"))));
        row.insert("at_ms".to_owned(), json!(now_ms()));
        self.console.served(Value::Object(row));
    }
}

/// The rows of what the Lambda lane hands over (`{"function", "environment", "metrics"}`):
/// one per metrics line that names a method.
pub fn rows_of_metrics(record: &Value) -> Vec<Value> {
    let function = record["function"].as_str().unwrap_or_default();
    // `mcp-local-WsMessageFunction` → `WsMessageFunction#3`
    let short = function.rsplit('-').next().unwrap_or(function);
    let instance = format!("{short}#{}", record["environment"]);
    let metrics = record["metrics"].as_array().map(Vec::as_slice).unwrap_or_default();
    metrics
        .iter()
        .filter(|m| m.get("method").is_some())
        .map(|m| {
            let mut row = m.as_object().cloned().unwrap_or_default();
            row.insert("instance".to_owned(), json!(instance));
            row.insert("at_ms".to_owned(), json!(now_ms()));
            Value::Object(row)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lane_gives_one_row_per_served_metrics_line() {
        let record = json!({
            "function": "mcp-local-WsMessageFunction", "environment": 3,
            "metrics": [
                {"method": "tools/call", "transport": "websocket", "status": "Ok", "dynamodb_calls": 0, "redis_calls": 1, "latency_us": 900},
                {"event": "fanout"}
            ]
        });
        let rows = rows_of_metrics(&record);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0]["instance"], "WsMessageFunction#3");
        assert_eq!(rows[0]["redis_calls"], 1);
        assert!(rows_of_metrics(&json!({"function": "x", "environment": 1})).is_empty());
    }
}
