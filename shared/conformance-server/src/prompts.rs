//! Prompts of the conformance scenarios.

use mcp_protocol::model::{ContentBlock, GetPromptResult, Prompt, PromptArgument, PromptMessage, ResourceContents};
use mcp_server::{HandlerError, PromptDef};

use crate::media::PNG_1X1;
use crate::mrtr::{accepted, elicit_request};

fn prompt(name: &str, description: &str, args: &[&str]) -> Prompt {
    let arguments = (!args.is_empty()).then(|| {
        args.iter()
            .map(|a| PromptArgument {
                name: (*a).into(),
                title: None,
                description: Some(format!("The {a} argument")),
                required: Some(true),
            })
            .collect()
    });
    Prompt { name: name.into(), title: None, description: Some(description.into()), arguments, icons: None, meta: None }
}

fn messages(messages: Vec<PromptMessage>) -> GetPromptResult {
    GetPromptResult { description: None, messages }
}

pub fn all() -> Vec<PromptDef> {
    vec![
        PromptDef::new(prompt("test_simple_prompt", "A prompt without arguments", &[]), |_ctx, _args| {
            Box::pin(async move {
                Ok(messages(vec![PromptMessage::user(ContentBlock::text("This is a simple prompt for testing."))]))
            })
        }),
        PromptDef::new(
            prompt("test_prompt_with_arguments", "A prompt with two required arguments", &["arg1", "arg2"]),
            |_ctx, args| {
                Box::pin(async move {
                    let text = format!("Prompt with arguments: arg1='{}', arg2='{}'", args["arg1"], args["arg2"]);
                    Ok(messages(vec![PromptMessage::user(ContentBlock::text(text))]))
                })
            },
        )
        .completer(|argument, prefix, _| {
            let pool: &[&str] = match argument {
                "arg1" => &["test", "testing", "tested", "value1"],
                _ => &["alpha", "beta"],
            };
            pool.iter().filter(|v| v.starts_with(prefix)).map(|v| (*v).to_owned()).collect()
        }),
        PromptDef::new(
            prompt("test_prompt_with_embedded_resource", "A prompt embedding a resource", &["resourceUri"]),
            |_ctx, args| {
                Box::pin(async move {
                    let uri = args["resourceUri"].clone();
                    Ok(messages(vec![
                        PromptMessage::user(ContentBlock::resource(ResourceContents::text(
                            uri,
                            "text/plain",
                            "Embedded resource content for testing.",
                        ))),
                        PromptMessage::user(ContentBlock::text("Please process the embedded resource above.")),
                    ]))
                })
            },
        ),
        PromptDef::new(prompt("test_prompt_with_image", "A prompt with an image", &[]), |_ctx, _args| {
            Box::pin(async move {
                Ok(messages(vec![
                    PromptMessage::user(ContentBlock::image(PNG_1X1, "image/png")),
                    PromptMessage::user(ContentBlock::text("Please analyze the image above.")),
                ]))
            })
        }),
        PromptDef::new(
            prompt("test_input_required_result_prompt", "A prompt that asks the user for context first", &[]),
            |ctx, _args| {
                Box::pin(async move {
                    let answer = ctx
                        .input(
                            Some("user_context"),
                            elicit_request("What context should the prompt use?", "context", "string"),
                        )
                        .await?;
                    let context = accepted(answer)?
                        .and_then(|c| c.get("context").and_then(|v| v.as_str()).map(str::to_owned))
                        .unwrap_or_default();
                    Ok::<_, HandlerError>(messages(vec![PromptMessage::user(ContentBlock::text(format!(
                        "Use this context: {context}"
                    )))]))
                })
            },
        ),
    ]
}
