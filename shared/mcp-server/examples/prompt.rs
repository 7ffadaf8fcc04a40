//! A prompt whose arguments are the fields of a type (listed with their descriptions and
//! whether they are required), handed to the handler as that type.
//! Serve it with `cargo run -p mcp-server --example prompt`.

use mcp_protocol::model::{ContentBlock, GetPromptResult, Prompt, PromptMessage};
use mcp_server::{DefinitionError, JsonSchema, PromptDef, Server};
use serde::Deserialize;

/// The arguments of `explain`.
#[derive(Deserialize, JsonSchema)]
pub struct ExplainArgs {
    /// What to explain.
    topic: String,
    /// Who it is for (a beginner unless given).
    audience: Option<String>,
}

/// A server with one prompt.
pub fn server() -> Result<Server, DefinitionError> {
    let prompt = Prompt { name: "explain".into(), description: Some("Explains a topic".into()), ..Default::default() };
    let explain = PromptDef::typed(prompt, |_ctx, args: ExplainArgs| async move {
        let audience = args.audience.as_deref().unwrap_or("a beginner");
        Ok(GetPromptResult {
            description: None,
            messages: vec![PromptMessage::user(ContentBlock::text(format!(
                "Explain {} to {audience}, in three short paragraphs.",
                args.topic
            )))],
        })
    });
    Server::builder("example-prompt", "1.0.0").prompt(explain).build()
}

#[allow(dead_code)]
fn main() -> anyhow::Result<()> {
    mcp_local::main(server)
}
