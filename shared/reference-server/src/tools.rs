//! General-purpose tools: echo, calculate, word statistics, a countdown with progress.

use std::time::Duration;

use serde::Deserialize;
use serde_json::json;

use mcp_protocol::model::{CallToolResult, ToolAnnotations};
use mcp_server::{DefinitionError, RequestContext, ToolDef};

use crate::arithmetic::evaluate;

fn read_only() -> ToolAnnotations {
    ToolAnnotations { read_only_hint: Some(true), open_world_hint: Some(false), ..Default::default() }
}

#[derive(Deserialize)]
struct EchoArgs {
    text: String,
}

#[derive(Deserialize)]
struct CalculateArgs {
    expression: String,
}

#[derive(Deserialize)]
struct CountdownArgs {
    seconds: u32,
}

pub fn all() -> Result<Vec<ToolDef>, DefinitionError> {
    Ok(vec![
        ToolDef::builder("echo")
            .title("Echo")
            .description("Returns the text it is given.")
            .annotations(read_only())
            .input_schema(json!({
                "type": "object",
                "properties": { "text": { "type": "string", "description": "Text to echo back" } },
                "required": ["text"],
                "additionalProperties": false
            }))
            .handler(|_ctx: RequestContext, a: EchoArgs| async move { Ok(CallToolResult::text(a.text)) })?,
        ToolDef::builder("calculate")
            .title("Calculator")
            .description("Evaluates an arithmetic expression: numbers, + - * / % ^ and parentheses.")
            .annotations(read_only())
            .input_schema(json!({
                "type": "object",
                "properties": { "expression": { "type": "string", "maxLength": 1000, "examples": ["(2 + 3) * 4"] } },
                "required": ["expression"],
                "additionalProperties": false
            }))
            .output_schema(json!({
                "type": "object",
                "properties": { "expression": { "type": "string" }, "result": { "type": "number" } },
                "required": ["expression", "result"]
            }))
            .handler(|_ctx: RequestContext, a: CalculateArgs| async move {
                Ok(match evaluate(&a.expression) {
                    Ok(result) => CallToolResult::structured(json!({ "expression": a.expression, "result": result })),
                    Err(e) => CallToolResult::error(format!("cannot evaluate {:?}: {}", a.expression, e.0)),
                })
            })?,
        ToolDef::builder("word_stats")
            .title("Word statistics")
            .description("Counts the words, lines and characters of a text.")
            .annotations(read_only())
            .input_schema(json!({
                "type": "object",
                "properties": { "text": { "type": "string" } },
                "required": ["text"],
                "additionalProperties": false
            }))
            .output_schema(json!({
                "type": "object",
                "properties": {
                    "words": { "type": "integer" },
                    "lines": { "type": "integer" },
                    "characters": { "type": "integer" }
                },
                "required": ["words", "lines", "characters"]
            }))
            .handler(|_ctx: RequestContext, a: EchoArgs| async move {
                Ok(CallToolResult::structured(json!({
                    "words": a.text.split_whitespace().count(),
                    "lines": a.text.lines().count(),
                    "characters": a.text.chars().count()
                })))
            })?,
        ToolDef::builder("countdown")
            .title("Countdown")
            .description("Counts down, reporting progress every second; stops when cancelled.")
            .annotations(read_only())
            .input_schema(json!({
                "type": "object",
                "properties": { "seconds": { "type": "integer", "minimum": 1, "maximum": 30 } },
                "required": ["seconds"],
                "additionalProperties": false
            }))
            .handler(|ctx: RequestContext, a: CountdownArgs| async move {
                let total = f64::from(a.seconds);
                for done in 0..a.seconds {
                    ctx.progress(f64::from(done), Some(total), Some(format!("{} s left", a.seconds - done))).await;
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = ctx.cancelled() => return Ok(CallToolResult::error("cancelled")),
                    }
                }
                ctx.progress(total, Some(total), Some("done".into())).await;
                Ok(CallToolResult::text(format!("Counted down from {}", a.seconds)))
            })?,
    ])
}
