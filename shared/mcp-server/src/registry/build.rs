//! A server's catalogue with its registry entries merged in: each entry becomes the same
//! kind of definition code makes (a tool with its compiled schemas and a handler, a
//! resource, a template, a prompt). The code's definitions win on a name clash; every
//! clash, and every entry that cannot be served, is reported.

use std::collections::BTreeMap;
use std::sync::Arc;

use mcp_protocol::model::{ContentBlock, GetPromptResult, PromptMessage, ReadResourceResult, ResourceContents};

use super::entry::{Entry, PromptEntry, ResourceEntry, ResourceTemplateEntry, fill};
use super::lambda::{ToolInvoker, tool_def};
use super::store::Catalogue;
use crate::error::DefinitionError;
use crate::prompt::PromptDef;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::server::{Server, ServerBuilder};

/// What a merge left out, one line per entry: `tool word_count: defined in code`.
pub type Skipped = Vec<String>;

impl Server {
    /// This server's definitions plus the catalogue's entries (`invoker` runs the
    /// Lambda-backed tools). The result offers every list with `listChanged`, since the
    /// registry can change it. Fails only if the code's own definitions do not build again.
    pub fn merged(
        &self,
        catalogue: &Catalogue,
        invoker: Option<&Arc<dyn ToolInvoker>>,
    ) -> Result<(Server, Skipped), DefinitionError> {
        let mut info = self.info.clone();
        if info.title.is_none() {
            info.title.clone_from(&catalogue.server.title);
        }
        let mut b = ServerBuilder {
            info,
            instructions: self.instructions.clone().or_else(|| catalogue.server.instructions.clone()),
            tools: self.tools.clone(),
            resources: self.resources.clone(),
            templates: self.templates.clone(),
            prompts: self.prompts.clone(),
            list_cache: self.list_cache,
            changeable: true,
        };
        let mut skipped = Skipped::new();
        for entry in &catalogue.entries {
            let what = format!("{} {}", entry.kind().as_str(), entry.name());
            if let Err(why) = add(&mut b, self, entry, &catalogue.server.name, invoker) {
                tracing::warn!(server = %catalogue.server.name, entry = %what, %why, "registry entry not served");
                skipped.push(format!("{what}: {why}"));
            }
        }
        Ok((b.build()?, skipped))
    }
}

fn add(
    b: &mut ServerBuilder,
    code: &Server,
    entry: &Entry,
    server: &str,
    invoker: Option<&Arc<dyn ToolInvoker>>,
) -> Result<(), String> {
    if code_defines(code, entry) {
        return Err("defined in code, which wins".into());
    }
    entry.validate().map_err(|e| e.reason)?;
    let definition_error = |e: DefinitionError| e.to_string();
    match entry {
        Entry::Tool(t) => {
            let invoker = invoker.ok_or("no Lambda client is configured to run it")?;
            b.tools.push(Arc::new(tool_def(t, server, invoker.clone()).map_err(definition_error)?));
        }
        Entry::Resource(r) => b.resources.push(Arc::new(resource_def(r))),
        Entry::ResourceTemplate(t) => b.templates.push(Arc::new(template_def(t).map_err(definition_error)?)),
        Entry::Prompt(p) => b.prompts.push(Arc::new(prompt_def(p))),
    }
    Ok(())
}

/// Whether code defines an item of the entry's kind and name.
pub(crate) fn code_defines(code: &Server, entry: &Entry) -> bool {
    match entry {
        Entry::Tool(t) => code.tool_index.contains_key(&t.tool.name),
        // A code template that answers the URI defines it too.
        Entry::Resource(r) => code.serves_uri(&r.resource.uri),
        Entry::ResourceTemplate(t) => code.templates.iter().any(|d| d.template.uri_template == t.template.uri_template),
        Entry::Prompt(p) => code.prompt_index.contains_key(&p.prompt.name),
    }
}

fn resource_def(entry: &ResourceEntry) -> ResourceDef {
    let (text, mime) = (entry.text.clone(), entry.resource.mime_type.clone().unwrap_or_else(|| "text/plain".into()));
    ResourceDef::new(entry.resource.clone(), move |_ctx, uri| {
        let result = ReadResourceResult { contents: vec![ResourceContents::text(uri, mime.clone(), text.clone())] };
        Box::pin(async move { Ok(result) })
    })
}

fn template_def(entry: &ResourceTemplateEntry) -> Result<ResourceTemplateDef, DefinitionError> {
    let (text, mime) = (entry.text.clone(), entry.template.mime_type.clone().unwrap_or_else(|| "text/plain".into()));
    ResourceTemplateDef::new(entry.template.clone(), move |_ctx, uri, vars| {
        let result =
            ReadResourceResult { contents: vec![ResourceContents::text(uri, mime.clone(), fill(&text, &vars))] };
        Box::pin(async move { Ok(result) })
    })
}

fn prompt_def(entry: &PromptEntry) -> PromptDef {
    let (messages, description) = (entry.messages.clone(), entry.prompt.description.clone());
    PromptDef::new(entry.prompt.clone(), move |_ctx, args: BTreeMap<String, String>| {
        let messages = messages
            .iter()
            .map(|m| PromptMessage { role: m.role, content: ContentBlock::text(fill(&m.text, &args)) })
            .collect();
        let result = GetPromptResult { description: description.clone(), messages };
        Box::pin(async move { Ok(result) })
    })
}
