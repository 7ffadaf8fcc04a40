//! Notes: short texts kept in the caller's own scope of the deployment's store (one
//! principal never sees, overwrites or deletes another's), readable as `note://{name}`,
//! subscribable (a write notifies the writer's subscriptions on any instance), completable
//! by name.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::json;

use mcp_protocol::model::{
    CallToolResult, ElicitAction, ElicitRequestParams, ReadResourceResult, Resource, ResourceContents,
    ResourceTemplate, ToolAnnotations,
};
use mcp_server::schema::schema_of;
use mcp_server::{
    DefinitionError, HandlerError, JsonSchema, RequestContext, ResourceDef, ResourceTemplateDef, ToolDef,
};

const PREFIX: &str = "notes/";
const MAX_NOTES_LISTED: usize = 100;

pub fn uri(name: &str) -> String {
    format!("note://{name}")
}

fn key(name: &str) -> String {
    format!("{PREFIX}{name}")
}

pub async fn read(ctx: &RequestContext, name: &str) -> Result<Option<String>, HandlerError> {
    Ok(ctx.store().get(&key(name)).await?.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

pub async fn names(ctx: &RequestContext) -> Result<Vec<String>, HandlerError> {
    let keys = ctx.store().keys(PREFIX, MAX_NOTES_LISTED).await?;
    Ok(keys.into_iter().filter_map(|k| k.strip_prefix(PREFIX).map(str::to_owned)).collect())
}

/// Tells the caller's own subscriptions that one of its notes (or its index) changed: the
/// same URI of another principal is another note.
async fn changed(ctx: &RequestContext, uri: &str) -> Result<usize, HandlerError> {
    Ok(ctx.notifier().resource_updated_for(uri, ctx.principal()).await?)
}

/// A note's name: what follows `note://`.
#[derive(Deserialize, JsonSchema)]
#[serde(transparent)]
#[schemars(inline, description = "Note name")]
struct NoteName(#[schemars(regex(pattern = r"^[A-Za-z0-9_-]{1,64}$"))] String);

impl std::ops::Deref for NoteName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NoteName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct WriteArgs {
    name: NoteName,
    #[schemars(length(max = 65536))]
    text: String,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct NameArgs {
    name: NoteName,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SummarizeArgs {
    name: NoteName,
    /// The longest summary, in tokens.
    #[schemars(range(min = 16, max = 4096))]
    max_tokens: Option<u32>,
}

/// What `note_delete` asks the user before it deletes.
#[derive(JsonSchema)]
#[allow(dead_code)]
struct Confirmation {
    #[schemars(title = "Delete it?", extend("default" = false))]
    confirm: bool,
}

pub fn tools() -> Result<Vec<ToolDef>, DefinitionError> {
    Ok(vec![
        ToolDef::builder("note_write")
            .title("Write a note")
            .description("Creates or replaces a note. Subscribers of note://{name} are notified.")
            .annotations(ToolAnnotations { idempotent_hint: Some(true), destructive_hint: Some(true), ..Default::default() })
            .input::<WriteArgs>()
            .handler(|ctx: RequestContext, a: WriteArgs| async move {
                ctx.store().put(&key(&a.name), a.text.as_bytes()).await?;
                let reached = changed(&ctx, &uri(&a.name)).await?;
                changed(&ctx, INDEX_URI).await?;
                Ok(CallToolResult::text(format!("Saved {} ({} subscribers notified)", uri(&a.name), reached)))
            })?,
        ToolDef::builder("note_delete")
            .title("Delete a note")
            .description("Deletes a note after asking the user to confirm.")
            .annotations(ToolAnnotations { destructive_hint: Some(true), ..Default::default() })
            .input::<NameArgs>()
            .handler(|ctx: RequestContext, a: NameArgs| async move {
                if read(&ctx, &a.name).await?.is_none() {
                    return Ok(CallToolResult::error(format!("no note named {}", a.name)));
                }
                let schema = schema_of::<Confirmation>();
                let answer = ctx.elicit(ElicitRequestParams::form(format!("Delete note {}?", a.name), schema)).await?;
                let confirmed = answer.action == ElicitAction::Accept
                    && answer.content.as_ref().and_then(|c| c.get("confirm")).and_then(|v| v.as_bool()) == Some(true);
                if !confirmed {
                    return Ok(CallToolResult::text(format!("Kept {}", uri(&a.name))));
                }
                ctx.store().delete(&key(&a.name)).await?;
                changed(&ctx, &uri(&a.name)).await?;
                changed(&ctx, INDEX_URI).await?;
                Ok(CallToolResult::text(format!("Deleted {}", uri(&a.name))))
            })?,
        ToolDef::builder("note_summarize")
            .title("Summarize a note")
            .description("Asks the client's model to summarize a note (sampling).")
            .annotations(ToolAnnotations { read_only_hint: Some(true), ..Default::default() })
            .input::<SummarizeArgs>()
            .handler(|ctx: RequestContext, a: SummarizeArgs| async move {
                let Some(text) = read(&ctx, &a.name).await? else {
                    return Ok(CallToolResult::error(format!("no note named {}", a.name)));
                };
                let params = serde_json::from_value(json!({
                    "messages": [{ "role": "user", "content": { "type": "text", "text": format!("Summarize in one sentence:\n\n{text}") } }],
                    "maxTokens": a.max_tokens.unwrap_or(200)
                }))
                .map_err(|e| HandlerError::Internal(e.to_string()))?;
                let answer = ctx.create_message(params).await?;
                let summary = answer.content.get("text").and_then(|t| t.as_str()).unwrap_or_default().to_owned();
                Ok(CallToolResult::text(summary))
            })?,
    ])
}

pub const INDEX_URI: &str = "note://index";

/// `note://index`: the names of every note, one per line.
pub fn index() -> ResourceDef {
    let resource = Resource {
        uri: INDEX_URI.into(),
        name: "notes-index".into(),
        title: Some("All notes".into()),
        description: Some("The names of every note, one per line".into()),
        mime_type: Some("text/plain".into()),
        size: None,
        annotations: None,
        icons: None,
        meta: None,
    };
    ResourceDef::new(resource, |ctx, uri| {
        Box::pin(async move {
            Ok(ReadResourceResult {
                contents: vec![ResourceContents::text(uri, "text/plain", names(&ctx).await?.join("\n"))],
            })
        })
    })
}

/// `note://{name}`: one note.
pub fn template() -> Result<ResourceTemplateDef, DefinitionError> {
    let template = ResourceTemplate {
        uri_template: "note://{name}".into(),
        name: "note".into(),
        title: Some("Note".into()),
        description: Some("A note by name; subscribe to hear about changes".into()),
        mime_type: Some("text/plain".into()),
        annotations: None,
        icons: None,
        meta: None,
    };
    Ok(ResourceTemplateDef::new(template, |ctx, uri, vars: BTreeMap<String, String>| {
        Box::pin(async move {
            let name = vars.get("name").cloned().unwrap_or_default();
            match read(&ctx, &name).await? {
                Some(text) => {
                    Ok(ReadResourceResult { contents: vec![ResourceContents::text(uri, "text/plain", text)] })
                }
                None => Err(HandlerError::ResourceNotFound(uri)),
            }
        })
    })?
    .completer_async(|ctx, r| async move { complete_name(&ctx, &r.value).await }))
}

/// Note names starting with `prefix`.
pub async fn complete_name(ctx: &RequestContext, prefix: &str) -> Result<Vec<String>, HandlerError> {
    Ok(names(ctx).await?.into_iter().filter(|n| n.starts_with(prefix)).collect())
}
