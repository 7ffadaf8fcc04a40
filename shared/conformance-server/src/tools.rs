//! Tools of the session-era and shared scenarios.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use mcp_protocol::model::input::SamplingMessage;
use mcp_protocol::model::{
    CallToolResult, ContentBlock, CreateMessageParams, ElicitRequestParams, LoggingLevel, ResourceContents, Role,
};
use mcp_server::{DefinitionError, HandlerError, ListKind, RequestContext, ToolDef};

use crate::media::{PNG_1X1, WAV};

const NO_ARGS: fn() -> Value = || json!({ "type": "object", "properties": {} });

type Args = Map<String, Value>;

fn fixed(name: &str, description: &str, result: fn() -> CallToolResult) -> Result<ToolDef, DefinitionError> {
    ToolDef::builder(name)
        .description(description)
        .input_schema(NO_ARGS())
        .handler(move |_ctx: RequestContext, _: Args| async move { Ok(result()) })
}

pub fn all() -> Result<Vec<ToolDef>, DefinitionError> {
    Ok(vec![
        fixed("test_simple_text", "Returns a simple text response", || {
            CallToolResult::text("This is a simple text response for testing.")
        })?,
        fixed("test_image_content", "Returns an image", || {
            CallToolResult::new(vec![ContentBlock::image(PNG_1X1, "image/png")])
        })?,
        fixed("test_audio_content", "Returns audio", || CallToolResult::new(vec![ContentBlock::audio(WAV, "audio/wav")]))?,
        fixed("test_embedded_resource", "Returns an embedded resource", || {
            CallToolResult::new(vec![ContentBlock::resource(ResourceContents::text(
                "test://embedded-resource",
                "text/plain",
                "This is an embedded resource content.",
            ))])
        })?,
        fixed("test_multiple_content_types", "Returns text, image and resource content", || {
            CallToolResult::new(vec![
                ContentBlock::text("Multiple content types test:"),
                ContentBlock::image(PNG_1X1, "image/png"),
                ContentBlock::resource(ResourceContents::text(
                    "test://mixed-content-resource",
                    "application/json",
                    r#"{"test":"data","value":123}"#,
                )),
            ])
        })?,
        fixed("test_error_handling", "Always returns a tool error", || {
            CallToolResult::error("This tool intentionally returns an error for testing")
        })?,
        ToolDef::builder("test_tool_with_progress")
            .description("Reports progress three times, then returns")
            .input_schema(NO_ARGS())
            .handler(|ctx: RequestContext, _: Args| async move {
                for step in [0.0, 50.0, 100.0] {
                    ctx.progress(step, Some(100.0), Some(format!("step {step}"))).await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(CallToolResult::text("Progress test completed"))
            })?,
        ToolDef::builder("test_tool_with_logging")
            .description("Logs three messages, then returns")
            .input_schema(NO_ARGS())
            .handler(|ctx: RequestContext, _: Args| async move {
                for text in ["Tool execution started", "Tool processing data", "Tool execution completed"] {
                    ctx.log(LoggingLevel::Info, Some("conformance"), json!(text)).await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Ok(CallToolResult::text("Logging test completed"))
            })?,
        sampling()?,
        elicitation()?,
        elicitation_with_schema(
            "test_elicitation_sep1034_defaults",
            "Elicits a form whose fields all have defaults (SEP-1034)",
            json!({
                "type": "object",
                "properties": {
                    "name": { "type": "string", "description": "Name", "default": "John Doe" },
                    "age": { "type": "integer", "description": "Age", "default": 30 },
                    "score": { "type": "number", "description": "Score", "default": 95.5 },
                    "status": { "type": "string", "description": "Status", "enum": ["active", "inactive", "pending"], "default": "active" },
                    "verified": { "type": "boolean", "description": "Verified", "default": true }
                },
                "required": []
            }),
        )?,
        elicitation_with_schema(
            "test_elicitation_sep1330_enums",
            "Elicits every enum form of SEP-1330",
            json!({
                "type": "object",
                "properties": {
                    "untitledSingle": { "type": "string", "enum": ["option1", "option2", "option3"] },
                    "titledSingle": { "type": "string", "oneOf": [
                        { "const": "value1", "title": "First Option" },
                        { "const": "value2", "title": "Second Option" },
                        { "const": "value3", "title": "Third Option" }
                    ] },
                    "legacyEnum": { "type": "string", "enum": ["opt1", "opt2", "opt3"], "enumNames": ["Option One", "Option Two", "Option Three"] },
                    "untitledMulti": { "type": "array", "minItems": 1, "maxItems": 3, "items": { "type": "string", "enum": ["option1", "option2", "option3"] } },
                    "titledMulti": { "type": "array", "minItems": 1, "maxItems": 3, "items": { "anyOf": [
                        { "const": "value1", "title": "First Choice" },
                        { "const": "value2", "title": "Second Choice" },
                        { "const": "value3", "title": "Third Choice" }
                    ] } }
                }
            }),
        )?,
        ToolDef::builder("test_reconnection")
            .description("Detaches the SSE stream (SEP-1699 polling), finishes, and is resumed with Last-Event-ID")
            .input_schema(NO_ARGS())
            .handler(|ctx: RequestContext, _: Args| async move {
                ctx.detach_stream(Duration::from_millis(500)).await;
                tokio::time::sleep(Duration::from_millis(100)).await;
                Ok(CallToolResult::text("Reconnection test completed"))
            })?,
        ToolDef::builder("json_schema_2020_12_tool")
            .description("Declares a JSON Schema 2020-12 input schema with composition and conditionals")
            .input_schema(json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": { "address": { "$anchor": "addressDef", "type": "object", "properties": { "street": { "type": "string" }, "city": { "type": "string" } } } },
                "properties": {
                    "name": { "type": "string" },
                    "address": { "$ref": "#/$defs/address" },
                    "contactMethod": { "type": "string", "enum": ["phone", "email"] },
                    "phone": { "type": "string" },
                    "email": { "type": "string" }
                },
                "allOf": [{ "anyOf": [{ "required": ["phone"] }, { "required": ["email"] }] }],
                "if": { "properties": { "contactMethod": { "const": "phone" } }, "required": ["contactMethod"] },
                "then": { "required": ["phone"] },
                "else": { "required": ["email"] },
                "additionalProperties": false
            }))
            .handler(|_ctx: RequestContext, args: Args| async move { Ok(CallToolResult::structured(Value::Object(args))) })?,
        ToolDef::builder("test_missing_capability")
            .description("Needs the client's sampling capability")
            .input_schema(NO_ARGS())
            .handler(|ctx: RequestContext, _: Args| async move {
                let answer = ctx.create_message(ask("Say hello", 20)).await?;
                Ok(CallToolResult::text(format!("Sampled: {}", answer.content)))
            })?,
        ToolDef::builder("test_streaming_elicitation")
            .description("Asks for input through the era's mechanism (MRTR in 2026-07-28)")
            .input_schema(NO_ARGS())
            .handler(|ctx: RequestContext, _: Args| async move {
                let schema = json!({ "type": "object", "properties": { "answer": { "type": "string" } }, "required": ["answer"] });
                let r = ctx.elicit(ElicitRequestParams::form("Any answer will do", schema)).await?;
                Ok(CallToolResult::text(format!("action={:?}", r.action)))
            })?,
        ToolDef::builder("test_logging_tool")
            .description("Logs one message; sent only when the request asked for a log level")
            .input_schema(NO_ARGS())
            .handler(|ctx: RequestContext, _: Args| async move {
                ctx.log(LoggingLevel::Info, None, json!("logging tool ran")).await;
                Ok(CallToolResult::text("Logged"))
            })?,
        ToolDef::builder("test_trigger_tool_change")
            .description("Announces that the tool list changed")
            .input_schema(NO_ARGS())
            .handler(|ctx: RequestContext, _: Args| async move {
                let n = ctx.notifier().list_changed(ListKind::Tools).await?;
                Ok(CallToolResult::text(format!("notified {n} listeners")))
            })?,
        ToolDef::builder("test_trigger_prompt_change")
            .description("Announces that the prompt list changed")
            .input_schema(NO_ARGS())
            .handler(|ctx: RequestContext, _: Args| async move {
                let n = ctx.notifier().list_changed(ListKind::Prompts).await?;
                Ok(CallToolResult::text(format!("notified {n} listeners")))
            })?,
        ToolDef::builder("test_custom_header")
            .description("Mirrors its region argument into the Mcp-Param-Region header (x-mcp-header)")
            .input_schema(json!({
                "type": "object",
                "properties": { "region": { "type": "string", "x-mcp-header": "Region" } },
                "required": ["region"]
            }))
            .handler(|_ctx: RequestContext, args: RegionArgs| async move { Ok(CallToolResult::text(format!("region={}", args.region))) })?,
    ])
}

#[derive(Deserialize)]
struct RegionArgs {
    region: String,
}

#[derive(Deserialize)]
struct PromptArgs {
    prompt: String,
}

#[derive(Deserialize)]
struct MessageArgs {
    message: String,
}

/// A one-message sampling request.
pub fn ask(text: &str, max_tokens: u32) -> CreateMessageParams {
    CreateMessageParams {
        messages: vec![SamplingMessage { role: Role::User, content: json!({ "type": "text", "text": text }) }],
        max_tokens,
        system_prompt: None,
        temperature: None,
        stop_sequences: None,
        model_preferences: None,
        include_context: None,
        metadata: None,
    }
}

fn sampling() -> Result<ToolDef, DefinitionError> {
    ToolDef::builder("test_sampling")
        .description("Asks the client's model to answer a prompt")
        .input_schema(
            json!({ "type": "object", "properties": { "prompt": { "type": "string" } }, "required": ["prompt"] }),
        )
        .handler(|ctx: RequestContext, args: PromptArgs| async move {
            let answer = ctx.create_message(ask(&args.prompt, 100)).await?;
            let text = answer.content.get("text").and_then(Value::as_str).unwrap_or_default().to_owned();
            Ok(CallToolResult::text(format!("LLM response: {text}")))
        })
}

fn elicitation() -> Result<ToolDef, DefinitionError> {
    ToolDef::builder("test_elicitation")
        .description("Asks the user for a username and an email address")
        .input_schema(
            json!({ "type": "object", "properties": { "message": { "type": "string" } }, "required": ["message"] }),
        )
        .handler(|ctx: RequestContext, args: MessageArgs| async move {
            let schema = json!({
                "type": "object",
                "properties": {
                    "username": { "type": "string", "description": "User's response" },
                    "email": { "type": "string", "description": "User's email address" }
                },
                "required": ["username", "email"]
            });
            let r = ctx.elicit(ElicitRequestParams::form(args.message, schema)).await?;
            Ok(CallToolResult::text(format!("User response: action={:?}, content={}", r.action, json!(r.content))))
        })
}

fn elicitation_with_schema(name: &str, description: &str, schema: Value) -> Result<ToolDef, DefinitionError> {
    ToolDef::builder(name).description(description).input_schema(NO_ARGS()).handler(
        move |ctx: RequestContext, _: Args| {
            let schema = schema.clone();
            async move {
                let r =
                    ctx.elicit(ElicitRequestParams::form("Please review and update the form fields", schema)).await?;
                Ok::<_, HandlerError>(CallToolResult::text(format!(
                    "Elicitation completed: action={:?}, content={}",
                    r.action,
                    json!(r.content)
                )))
            }
        },
    )
}
