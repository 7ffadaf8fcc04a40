//! `word_count`, a tool implemented as its own Lambda function. It receives the gateway's
//! tool request (`{"tool", "arguments", "server", "principal", "traceparent", ...}`) and
//! answers with a tool result (`{"content": [...], "structuredContent": ...}`) or
//! `{"error": "..."}`; an unhandled error becomes Lambda's `FunctionError`, which the gateway
//! also turns into a tool error. Arguments:
//!
//! - `text` (required): the text to count;
//! - `delayMs`: wait this long first (to see the gateway's timeout);
//! - `fail`: `"reply"` answers `{"error": ...}`, `"crash"` fails the invocation.

use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

async fn handle(event: LambdaEvent<Value>) -> Result<Value, Error> {
    let args = &event.payload["arguments"];
    if let Some(ms) = args["delayMs"].as_u64() {
        tokio::time::sleep(std::time::Duration::from_millis(ms.min(60_000))).await;
    }
    match args["fail"].as_str() {
        Some("crash") => return Err("asked to crash".into()),
        Some("reply") => return Ok(json!({ "error": "asked to fail" })),
        _ => {}
    }
    let Some(text) = args["text"].as_str() else { return Ok(json!({ "error": "text is required" })) };
    let words = text.split_whitespace().count();
    let caller = event.payload["principal"].as_str().unwrap_or("anonymous");
    Ok(json!({
        "content": [{ "type": "text", "text": format!("{words} words") }],
        "structuredContent": { "words": words, "caller": caller, "traceparent": event.payload["traceparent"] },
    }))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    lambda_runtime::run(service_fn(handle)).await
}
