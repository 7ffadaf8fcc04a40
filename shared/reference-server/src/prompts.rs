//! `review_note`: a prompt that puts a note in front of the model, with completion of the
//! note's name (from the store) and of the review focus.

use mcp_protocol::model::{ContentBlock, GetPromptResult, Prompt, PromptArgument, PromptMessage, ResourceContents};
use mcp_server::{HandlerError, PromptDef};

use crate::notes;

const FOCUSES: [&str; 4] = ["clarity", "correctness", "brevity", "tone"];

pub fn review_note() -> PromptDef {
    let prompt = Prompt {
        name: "review_note".into(),
        title: Some("Review a note".into()),
        description: Some("Asks the model to review one of the notes".into()),
        arguments: Some(vec![
            PromptArgument {
                name: "name".into(),
                title: Some("Note".into()),
                description: Some("Which note".into()),
                required: Some(true),
            },
            PromptArgument {
                name: "focus".into(),
                title: Some("Focus".into()),
                description: Some(format!("What to look at: {}", FOCUSES.join(", "))),
                required: Some(false),
            },
        ]),
        icons: None,
        meta: None,
    };
    PromptDef::new(prompt, |ctx, args| {
        Box::pin(async move {
            let name = args.get("name").cloned().unwrap_or_default();
            let text = notes::read(&ctx, &name)
                .await?
                .ok_or_else(|| HandlerError::InvalidParams(format!("no note named {name}")))?;
            let focus = args.get("focus").map(String::as_str).unwrap_or("clarity");
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
    })
    .completer_async(|ctx, r| async move {
        match r.argument.as_str() {
            "name" => notes::complete_name(&ctx, &r.value).await,
            "focus" => Ok(FOCUSES.iter().filter(|f| f.starts_with(&r.value)).map(|f| (*f).to_owned()).collect()),
            _ => Ok(Vec::new()),
        }
    })
}
