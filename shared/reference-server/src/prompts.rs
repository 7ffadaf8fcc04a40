//! `review_note`: a prompt that puts a note in front of the model, with completion of the
//! note's name (from the store) and of the review focus.

use serde::Deserialize;

use mcp_protocol::model::{ContentBlock, GetPromptResult, Prompt, PromptMessage, ResourceContents};
use mcp_server::{HandlerError, JsonSchema, PromptDef};

use crate::notes;

const FOCUSES: [&str; 4] = ["clarity", "correctness", "brevity", "tone"];

/// The arguments of `review_note`.
#[derive(Deserialize, JsonSchema)]
struct ReviewArgs {
    /// Which note.
    #[schemars(title = "Note")]
    name: String,
    /// What to look at: clarity, correctness, brevity or tone.
    #[schemars(title = "Focus")]
    focus: Option<String>,
}

pub fn review_note() -> PromptDef {
    let prompt = Prompt {
        name: "review_note".into(),
        title: Some("Review a note".into()),
        description: Some("Asks the model to review one of the notes".into()),
        arguments: None,
        icons: None,
        meta: None,
    };
    PromptDef::typed(prompt, |ctx, args: ReviewArgs| async move {
        let name = args.name;
        let text = notes::read(&ctx, &name)
            .await?
            .ok_or_else(|| HandlerError::InvalidParams(format!("no note named {name}")))?;
        let focus = args.focus.as_deref().unwrap_or("clarity");
        Ok(GetPromptResult {
            description: Some(format!("Review of {}", notes::uri(&name))),
            messages: vec![
                PromptMessage::user(ContentBlock::resource(ResourceContents::text(
                    notes::uri(&name),
                    "text/plain",
                    text,
                ))),
                PromptMessage::user(ContentBlock::text(format!(
                    "Review the note above for {focus}. Suggest concrete edits."
                ))),
            ],
        })
    })
    .completer_async(|ctx, r| async move {
        match r.argument.as_str() {
            "name" => notes::complete_name(&ctx, &r.value).await,
            "focus" => Ok(FOCUSES.iter().filter(|f| f.starts_with(&r.value)).map(|f| (*f).to_owned()).collect()),
            _ => Ok(Vec::new()),
        }
    })
}
