//! Tools of the tasks extension's scenarios (`tasks-*`): which may become tasks, how long
//! they run, how they end, and what they ask.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

use mcp_protocol::model::input::ELICITATION_CREATE;
use mcp_protocol::model::{CallToolResult, ElicitRequestParams, InputRequest};
use mcp_server::{DefinitionError, HandlerError, RequestContext, TaskSupport, ToolDef};

type Args = Map<String, Value>;

fn no_args() -> Value {
    json!({ "type": "object", "properties": {} })
}

#[derive(Deserialize)]
struct GreetArgs {
    name: String,
}

#[derive(Deserialize)]
struct ComputeArgs {
    seconds: f64,
    #[serde(default)]
    label: Option<String>,
}

#[derive(Deserialize)]
struct FileArgs {
    filename: String,
}

/// An `elicitation/create` form asking for the given properties.
fn form(message: &str, properties: Value, required: &[&str]) -> InputRequest {
    let params =
        ElicitRequestParams::form(message, json!({ "type": "object", "properties": properties, "required": required }));
    InputRequest { method: ELICITATION_CREATE.into(), params: serde_json::to_value(params).ok() }
}

/// Sleeps, returning early (`false`) when the task is cancelled.
async fn work_for(ctx: &RequestContext, seconds: f64) -> bool {
    tokio::select! {
        () = tokio::time::sleep(Duration::from_secs_f64(seconds.clamp(0.0, 900.0))) => true,
        () = ctx.cancelled() => false,
    }
}

pub fn tools() -> Result<Vec<ToolDef>, DefinitionError> {
    Ok(vec![
        // Never a task.
        ToolDef::builder("greet")
            .description("Greets by name, at once")
            .input_schema(json!({ "type": "object", "properties": { "name": { "type": "string" } }, "required": ["name"] }))
            .handler(|_ctx: RequestContext, a: GreetArgs| async move {
                Ok(CallToolResult::text(format!("Hello, {}!", a.name)))
            })?,
        ToolDef::builder("slow_compute")
            .description("Works for the given seconds; a task when the client supports tasks")
            .input_schema(json!({
                "type": "object",
                "properties": { "seconds": { "type": "number", "minimum": 0 }, "label": { "type": "string" } },
                "required": ["seconds"]
            }))
            .task_support(TaskSupport::Optional)
            .handler(|ctx: RequestContext, a: ComputeArgs| async move {
                if !work_for(&ctx, a.seconds).await {
                    return Ok(CallToolResult::error("cancelled"));
                }
                let label = a.label.unwrap_or_default();
                Ok(CallToolResult::text(format!("computed {label} in {} s", a.seconds)))
            })?,
        ToolDef::builder("failing_job")
            .description("Runs only as a task, and ends with a tool error")
            .input_schema(no_args())
            .task_support(TaskSupport::Required)
            .handler(|ctx: RequestContext, _: Args| async move {
                work_for(&ctx, 1.0).await;
                Ok(CallToolResult::error("the job failed, as it always does"))
            })?,
        ToolDef::builder("protocol_error_job")
            .description("A task that fails with a protocol error")
            .input_schema(no_args())
            .task_support(TaskSupport::Optional)
            .handler(|ctx: RequestContext, _: Args| async move {
                work_for(&ctx, 0.2).await;
                Err::<CallToolResult, _>(HandlerError::Internal("the job broke, as it always does".into()))
            })?,
        ToolDef::builder("confirm_delete")
            .description("Asks the user to confirm, then deletes (nothing)")
            .input_schema(json!({ "type": "object", "properties": { "filename": { "type": "string" } }, "required": ["filename"] }))
            .task_support(TaskSupport::Optional)
            .handler(|ctx: RequestContext, a: FileArgs| async move {
                let ask = form(&format!("Delete {}?", a.filename), json!({ "confirm": { "type": "boolean" } }), &["confirm"]);
                let answer = ctx.input(None, ask).await?;
                let confirmed = answer["action"] == "accept" && answer["content"]["confirm"] == true;
                Ok(CallToolResult::text(if confirmed { format!("deleted {}", a.filename) } else { "kept".into() }))
            })?,
        ToolDef::builder("multi_input")
            .description("Asks two questions at once")
            .input_schema(no_args())
            .task_support(TaskSupport::Optional)
            .handler(|ctx: RequestContext, _: Args| async move {
                let properties = json!({ "name": { "type": "string" }, "confirm": { "type": "boolean" } });
                let asks = vec![
                    (None, form("First answer?", properties.clone(), &[])),
                    (None, form("Second answer?", properties, &[])),
                ];
                let answers = ctx.input_all(asks).await?;
                let names: Vec<String> =
                    answers.iter().map(|a| a["content"]["name"].as_str().unwrap_or_default().to_owned()).collect();
                Ok(CallToolResult::text(format!("answered: {}", names.join(", "))))
            })?,
        // Input first, in the request; then a task.
        ToolDef::builder("test_tool_with_task")
            .description("Asks for a name, then greets it from a task")
            .input_schema(no_args())
            .task_support(TaskSupport::Required)
            .before_task(|ctx: RequestContext, _: Args| async move {
                ask_name(&ctx).await.map(|_| ())
            })
            .handler(|ctx: RequestContext, _: Args| async move {
                let name = ask_name(&ctx).await?;
                Ok(CallToolResult::text(format!("Hello, {name}!")))
            })?,
    ])
}

/// The question `test_tool_with_task` asks before its task, and finds answered in it.
async fn ask_name(ctx: &RequestContext) -> Result<String, HandlerError> {
    let ask = form("What is your name?", json!({ "name": { "type": "string" } }), &["name"]);
    let answer = ctx.input(Some("user_name"), ask).await?;
    Ok(answer["content"]["name"].as_str().unwrap_or_default().to_owned())
}
