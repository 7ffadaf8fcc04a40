//! General-purpose tools: echo, calculate, word statistics, a countdown with progress.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use mcp_protocol::model::{CallToolResult, ToolAnnotations};
use mcp_server::{DefinitionError, JsonSchema, RequestContext, TaskSupport, ToolDef, ToolError};

use crate::arithmetic::evaluate;

fn read_only() -> ToolAnnotations {
    ToolAnnotations { read_only_hint: Some(true), open_world_hint: Some(false), ..Default::default() }
}

/// Arguments of the tools that take a text.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct TextArgs {
    text: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CalculateArgs {
    /// An arithmetic expression.
    #[schemars(length(max = 1000), example = "(2 + 3) * 4")]
    expression: String,
}

#[derive(Serialize, JsonSchema)]
struct Calculation {
    /// The expression evaluated.
    expression: String,
    /// Its value.
    result: f64,
}

#[derive(Serialize, JsonSchema)]
struct WordStats {
    words: usize,
    lines: usize,
    characters: usize,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SurveyArgs {
    /// What to survey.
    #[schemars(length(min = 1, max = 200))]
    topic: String,
    /// How many sources to read, one a second.
    #[schemars(range(min = 1, max = 600))]
    sources: u32,
}

#[derive(Serialize, JsonSchema)]
struct Survey {
    /// What was surveyed.
    topic: String,
    /// How many sources were read.
    sources: u32,
    /// What they say.
    summary: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CountdownArgs {
    /// Seconds to count down from.
    #[schemars(range(min = 1, max = 30))]
    seconds: u32,
}

pub fn all() -> Result<Vec<ToolDef>, DefinitionError> {
    Ok(vec![
        // Long enough to outlive a request (and API Gateway's 29 s): a client that supports
        // the tasks extension gets a handle at once and collects the result when it likes,
        // from any connection.
        ToolDef::builder("survey")
            .title("Survey")
            .description("Reads a number of sources on a topic, one a second, and summarizes them. Runs as a task for clients that support tasks.")
            .annotations(read_only())
            .task_support(TaskSupport::Optional)
            .structured_handler(|ctx: RequestContext, a: SurveyArgs| async move {
                for read in 0..a.sources {
                    ctx.progress(f64::from(read), Some(f64::from(a.sources)), None).await;
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        () = ctx.cancelled() => return Err(ToolError::execution("cancelled")),
                    }
                }
                Ok(Survey {
                    summary: format!("{} sources on {} agree to disagree", a.sources, a.topic),
                    topic: a.topic,
                    sources: a.sources,
                })
            })?,
        ToolDef::builder("echo")
            .title("Echo")
            .description("Returns the text it is given.")
            .annotations(read_only())
            .input::<TextArgs>()
            .handler(|_ctx: RequestContext, a: TextArgs| async move { Ok(CallToolResult::text(a.text)) })?,
        ToolDef::builder("calculate")
            .title("Calculator")
            .description("Evaluates an arithmetic expression: numbers, + - * / % ^ and parentheses.")
            .annotations(read_only())
            .structured_handler(|_ctx: RequestContext, a: CalculateArgs| async move {
                match evaluate(&a.expression) {
                    Ok(result) => Ok(Calculation { expression: a.expression, result }),
                    Err(e) => Err(ToolError::execution(format!("cannot evaluate {:?}: {}", a.expression, e.0))),
                }
            })?,
        ToolDef::builder("word_stats")
            .title("Word statistics")
            .description("Counts the words, lines and characters of a text.")
            .annotations(read_only())
            .structured_handler(|_ctx: RequestContext, a: TextArgs| async move {
                Ok(WordStats {
                    words: a.text.split_whitespace().count(),
                    lines: a.text.lines().count(),
                    characters: a.text.chars().count(),
                })
            })?,
        ToolDef::builder("countdown")
            .title("Countdown")
            .description("Counts down, reporting progress every second; stops when cancelled.")
            .annotations(read_only())
            .input::<CountdownArgs>()
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
