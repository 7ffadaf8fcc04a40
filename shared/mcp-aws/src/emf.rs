//! CloudWatch Embedded Metric Format: each message served and each fan-out (the
//! `mcp::served` and `mcp::fanout` events of `mcp_server::observe`) becomes one JSON line on
//! stdout that is both the request's structured log and its metrics. CloudWatch Logs turns
//! the `_aws` block into metrics in the `MCP` namespace, by method and by error code, with no
//! API call from the function.

use std::io::Write;

use serde_json::{Map, Value, json};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::layer::{Context, Layer};

use mcp_server::observe::{FAN_OUT, SERVED};

/// The CloudWatch namespace every metric of the EMF lines is put in.
pub const NAMESPACE: &str = "MCP";

/// Writes the EMF line of every `mcp::served` and `mcp::fanout` event.
pub struct EmfLayer;

impl<S: Subscriber> Layer<S> for EmfLayer {
    fn on_event(&self, event: &Event<'_>, _ctx: Context<'_, S>) {
        let target = event.metadata().target();
        if target != SERVED && target != FAN_OUT {
            return;
        }
        let mut fields = Fields::default();
        event.record(&mut fields);
        let line = record(target, fields.0, mcp_server::state::now_ms());
        // One write per line, so that concurrent requests never interleave within a line.
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(format!("{line}\n").as_bytes());
    }
}

/// The EMF document of one event.
pub fn record(target: &str, mut fields: Map<String, Value>, timestamp_ms: u64) -> Value {
    fields.remove("message");
    let metrics = if target == SERVED {
        let failed = fields.get("error_code").and_then(Value::as_i64).is_some_and(|c| c != 0);
        fields.insert("requests".into(), json!(1));
        fields.insert("errors".into(), json!(u8::from(failed)));
        // A dimension's value must be a string.
        let code = fields.get("error_code").and_then(Value::as_i64).unwrap_or(0);
        fields.insert("error_code".into(), json!(if code == 0 { "none".to_owned() } else { code.to_string() }));
        json!({
            "Namespace": NAMESPACE,
            "Dimensions": [["method"], ["error_code"], []],
            "Metrics": [
                { "Name": "requests", "Unit": "Count" },
                { "Name": "errors", "Unit": "Count" },
                { "Name": "latency_us", "Unit": "Microseconds" },
                { "Name": "dynamodb_calls", "Unit": "Count" },
                { "Name": "redis_calls", "Unit": "Count" },
            ],
        })
    } else {
        json!({
            "Namespace": NAMESPACE,
            "Dimensions": [[]],
            "Metrics": [
                { "Name": "fanout_size", "Unit": "Count" },
                { "Name": "latency_us", "Unit": "Microseconds" },
            ],
        })
    };
    fields.insert("event".into(), json!(target));
    fields.insert("_aws".into(), json!({ "Timestamp": timestamp_ms, "CloudWatchMetrics": [metrics] }));
    Value::Object(fields)
}

#[derive(Default)]
struct Fields(Map<String, Value>);

impl Visit for Fields {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), json!(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), json!(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), json!(value));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), json!(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), json!(format!("{value:?}")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn served(error_code: i64) -> Map<String, Value> {
        let v = json!({
            "message": "served", "method": "tools/call", "era": "2026-07-28", "transport": "websocket",
            "session": "c-1", "principal_hash": "2bd806c9", "status": "Ok", "error_code": error_code,
            "latency_us": 412, "dynamodb_calls": 0, "redis_calls": 1,
        });
        v.as_object().cloned().unwrap_or_default()
    }

    /// The rules CloudWatch applies: every metric and dimension named is a member of the
    /// document, dimensions are strings, metrics are numbers.
    fn assert_valid_emf(doc: &Value) {
        let spec = &doc["_aws"]["CloudWatchMetrics"][0];
        assert!(doc["_aws"]["Timestamp"].is_u64());
        for metric in spec["Metrics"].as_array().into_iter().flatten() {
            let name = metric["Name"].as_str().unwrap_or_default();
            assert!(doc[name].is_number(), "metric {name} is a number member: {doc}");
        }
        for set in spec["Dimensions"].as_array().into_iter().flatten() {
            for d in set.as_array().into_iter().flatten() {
                let name = d.as_str().unwrap_or_default();
                assert!(doc[name].is_string(), "dimension {name} is a string member: {doc}");
            }
        }
    }

    #[test]
    fn a_served_message_is_a_log_line_and_its_metrics() {
        let ok = record(SERVED, served(0), 1_795_815_601_456);
        assert_valid_emf(&ok);
        assert_eq!((ok["requests"].as_u64(), ok["errors"].as_u64()), (Some(1), Some(0)));
        assert_eq!(ok["error_code"], "none");
        assert!(ok.get("message").is_none());
        let failed = record(SERVED, served(-32602), 1_795_815_601_456);
        assert_valid_emf(&failed);
        assert_eq!((failed["errors"].as_u64(), failed["error_code"].as_str()), (Some(1), Some("-32602")));
    }

    #[test]
    fn a_fan_out_records_its_size() {
        let fields = json!({ "topic": "resource:note://n", "fanout_size": 1000, "reached": 998, "latency_us": 78000 });
        let doc = record(FAN_OUT, fields.as_object().cloned().unwrap_or_default(), 1);
        assert_valid_emf(&doc);
        assert_eq!(doc["fanout_size"], 1000);
    }
}
