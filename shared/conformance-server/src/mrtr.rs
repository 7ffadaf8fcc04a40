//! Tools of the MRTR scenarios (2026-07-28 `input-required-result-*`). Each asks for input
//! under a fixed key; the framework returns an `InputRequiredResult` until the answers
//! arrive, then the handler runs to completion.

use serde_json::{Map, Value, json};

use mcp_protocol::model::input::{ELICITATION_CREATE, ROOTS_LIST, SAMPLING_CREATE_MESSAGE};
use mcp_protocol::model::{CallToolResult, ElicitRequestParams, ElicitResult, InputRequest};
use mcp_server::{DefinitionError, HandlerError, InputError, RequestContext, ToolDef};

use crate::tools::ask;

type Args = Map<String, Value>;

fn no_args() -> Value {
    json!({ "type": "object", "properties": {} })
}

pub fn elicit_request(message: &str, field: &str, kind: &str) -> InputRequest {
    let schema = json!({ "type": "object", "properties": { field: { "type": kind } }, "required": [field] });
    InputRequest {
        method: ELICITATION_CREATE.to_owned(),
        params: serde_json::to_value(ElicitRequestParams::form(message, schema)).ok(),
    }
}

pub fn sampling_request(text: &str, max_tokens: u32) -> InputRequest {
    InputRequest {
        method: SAMPLING_CREATE_MESSAGE.to_owned(),
        params: serde_json::to_value(ask(text, max_tokens)).ok(),
    }
}

pub fn roots_request() -> InputRequest {
    InputRequest { method: ROOTS_LIST.to_owned(), params: Some(json!({})) }
}

/// The accepted content of an elicitation answer, or `None` if it was declined.
pub fn accepted(answer: Value) -> Result<Option<Map<String, Value>>, HandlerError> {
    let r: ElicitResult = serde_json::from_value(answer).map_err(|e| InputError::Malformed(e.to_string()))?;
    Ok(r.content.filter(|_| r.action == mcp_protocol::model::ElicitAction::Accept))
}

fn field(content: &Option<Map<String, Value>>, name: &str) -> String {
    content
        .as_ref()
        .and_then(|c| c.get(name))
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        .unwrap_or_default()
}

fn tool<F, Fut>(name: &str, description: &str, f: F) -> Result<ToolDef, DefinitionError>
where
    F: Fn(RequestContext) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = Result<CallToolResult, HandlerError>> + Send + 'static,
{
    let f = std::sync::Arc::new(f);
    ToolDef::builder(name).description(description).input_schema(no_args()).handler(
        move |ctx: RequestContext, _: Args| {
            let f = f.clone();
            async move { f(ctx).await }
        },
    )
}

pub fn tools() -> Result<Vec<ToolDef>, DefinitionError> {
    Ok(vec![
        tool("test_input_required_result_elicitation", "Asks for the user's name", |ctx| async move {
            let answer = ctx.input(Some("user_name"), elicit_request("What is your name?", "name", "string")).await?;
            Ok(CallToolResult::text(format!("Hello, {}!", field(&accepted(answer)?, "name"))))
        })?,
        tool("test_input_required_result_sampling", "Asks the client's model a question", |ctx| async move {
            let answer =
                ctx.input(Some("capital_question"), sampling_request("What is the capital of France?", 100)).await?;
            let text = answer.pointer("/content/text").and_then(Value::as_str).unwrap_or_default().to_owned();
            Ok(CallToolResult::text(format!("The model said: {text}")))
        })?,
        tool("test_input_required_result_list_roots", "Asks for the client's roots", |ctx| async move {
            let answer = ctx.input(Some("client_roots"), roots_request()).await?;
            let n = answer.get("roots").and_then(Value::as_array).map_or(0, Vec::len);
            Ok(CallToolResult::text(format!("The client has {n} roots")))
        })?,
        tool(
            "test_input_required_result_request_state",
            "Asks for a confirmation; state travels in requestState",
            |ctx| async move {
                let answer = ctx.input(Some("confirm"), elicit_request("Please confirm", "ok", "boolean")).await?;
                Ok(CallToolResult::text(format!("state-ok: confirmed={}", field(&accepted(answer)?, "ok"))))
            },
        )?,
        tool("test_input_required_result_multiple_inputs", "Asks for three inputs in one round", |ctx| async move {
            let answers = ctx
                .input_all(vec![
                    (Some("user_name".into()), elicit_request("What is your name?", "name", "string")),
                    (Some("greeting".into()), sampling_request("Say a greeting", 50)),
                    (Some("client_roots".into()), roots_request()),
                ])
                .await?;
            let mut answers = answers.into_iter();
            let name = field(&accepted(answers.next().unwrap_or_default())?, "name");
            Ok(CallToolResult::text(format!("All inputs received for {name}")))
        })?,
        tool("test_input_required_result_multi_round", "Asks two questions, one per round", |ctx| async move {
            let name = field(
                &accepted(
                    ctx.input(Some("step1"), elicit_request("Step 1: What is your name?", "name", "string")).await?,
                )?,
                "name",
            );
            let color = field(
                &accepted(
                    ctx.input(Some("step2"), elicit_request("Step 2: What is your favorite color?", "color", "string"))
                        .await?,
                )?,
                "color",
            );
            Ok(CallToolResult::text(format!("{name} likes {color}")))
        })?,
        tool(
            "test_input_required_result_tampered_state",
            "Asks for a confirmation; a tampered requestState is refused",
            |ctx| async move {
                let answer = ctx.input(Some("confirm"), elicit_request("Please confirm", "ok", "boolean")).await?;
                Ok(CallToolResult::text(format!("confirmed={}", field(&accepted(answer)?, "ok"))))
            },
        )?,
        tool("test_input_required_result_capabilities", "Asks only for what the client declared", |ctx| async move {
            let caps = ctx.client_capabilities();
            let request = if caps.elicitation_form() {
                elicit_request("What is your name?", "name", "string")
            } else if caps.sampling.is_some() {
                sampling_request("What is your name?", 20)
            } else {
                roots_request()
            };
            ctx.input(Some("adaptive"), request).await?;
            Ok(CallToolResult::text("Input received"))
        })?,
    ])
}
