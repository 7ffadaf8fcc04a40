//! A server definition: identity, instructions and the catalogue of tools, resources,
//! resource templates and prompts. Immutable once built; shared by every request.

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use mcp_protocol::model::lifecycle::{ListChangedCapability, ResourcesCapability};
use mcp_protocol::model::meta::SERVER_INFO_KEY;
use mcp_protocol::model::{CacheHint, Implementation, Meta, ServerCapabilities};

use crate::error::DefinitionError;
use crate::prompt::PromptDef;
use crate::resource::{ResourceDef, ResourceTemplateDef};
use crate::tool::ToolDef;

/// A built server definition: identity, instructions, capabilities and catalogue, each list
/// item encoded once. Immutable; every request of every router shares it.
pub struct Server {
    pub(crate) info: Implementation,
    pub(crate) instructions: Option<String>,
    pub(crate) tools: Vec<Arc<ToolDef>>,
    pub(crate) tool_index: HashMap<String, usize>,
    pub(crate) resources: Vec<Arc<ResourceDef>>,
    pub(crate) resource_index: HashMap<String, usize>,
    pub(crate) templates: Vec<Arc<ResourceTemplateDef>>,
    pub(crate) prompts: Vec<Arc<PromptDef>>,
    pub(crate) prompt_index: HashMap<String, usize>,
    /// Each list item encoded once, at build time: a list request only concatenates.
    pub(crate) tools_json: Listing,
    pub(crate) resources_json: Listing,
    pub(crate) templates_json: Listing,
    pub(crate) prompts_json: Listing,
    pub(crate) capabilities: ServerCapabilities,
    /// `_meta` of every 2026-07-28 result: the server's identity.
    pub(crate) result_meta: Meta,
    /// Cache hint of list results and `server/discover` (2026-07-28).
    pub(crate) list_cache: CacheHint,
}

impl Server {
    /// Starts a definition. `name` and `version` are its `serverInfo`; `name` is also its name
    /// in the deployment (the key of its sessions and topics) unless a registry gives another.
    pub fn builder(name: impl Into<String>, version: impl Into<String>) -> ServerBuilder {
        ServerBuilder {
            info: Implementation { name: name.into(), version: version.into(), ..Default::default() },
            instructions: None,
            tools: Vec::new(),
            resources: Vec::new(),
            templates: Vec::new(),
            prompts: Vec::new(),
            list_cache: CacheHint::public(60_000),
            changeable: false,
        }
    }

    /// The server's identity (`serverInfo`).
    pub fn info(&self) -> &Implementation {
        &self.info
    }

    /// What the server declares, derived from its catalogue when it was built: a list is
    /// offered if it has items, or if a registry can add some.
    pub fn capabilities(&self) -> &ServerCapabilities {
        &self.capabilities
    }

    /// The tool named `name`, if the server defines one.
    pub fn tool(&self, name: &str) -> Option<&ToolDef> {
        self.tool_index.get(name).map(|&i| &*self.tools[i])
    }

    /// The prompt named `name`, if the server defines one.
    pub fn prompt(&self, name: &str) -> Option<&PromptDef> {
        self.prompt_index.get(name).map(|&i| &*self.prompts[i])
    }

    /// Whether a resource or a template of this server answers `uri`.
    pub fn serves_uri(&self, uri: &str) -> bool {
        self.resource_index.contains_key(uri) || self.templates.iter().any(|t| t.matcher.matches(uri).is_some())
    }
}

/// Collects a server's identity and catalogue; [`build`](Self::build) checks them and
/// encodes the lists.
pub struct ServerBuilder {
    pub(crate) info: Implementation,
    pub(crate) instructions: Option<String>,
    pub(crate) tools: Vec<Arc<ToolDef>>,
    pub(crate) resources: Vec<Arc<ResourceDef>>,
    pub(crate) templates: Vec<Arc<ResourceTemplateDef>>,
    pub(crate) prompts: Vec<Arc<PromptDef>>,
    pub(crate) list_cache: CacheHint,
    /// The catalogue can change (a registry backs it): every list is offered, with
    /// `listChanged`, even while empty.
    pub(crate) changeable: bool,
}

impl ServerBuilder {
    /// A human-readable name that clients show instead of the name (`serverInfo.title`).
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.info.title = Some(title.into());
        self
    }

    /// What the server is for (`serverInfo.description`).
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.info.description = Some(description.into());
        self
    }

    /// How to use the server, for the client's model: sent in the `initialize` and
    /// `server/discover` results.
    pub fn instructions(mut self, instructions: impl Into<String>) -> Self {
        self.instructions = Some(instructions.into());
        self
    }

    /// Adds a tool; a name already taken fails [`build`](Self::build).
    pub fn tool(mut self, tool: ToolDef) -> Self {
        self.tools.push(Arc::new(tool));
        self
    }

    /// Adds a resource with a fixed URI; a URI already taken fails [`build`](Self::build).
    pub fn resource(mut self, resource: ResourceDef) -> Self {
        self.resources.push(Arc::new(resource));
        self
    }

    /// Adds a resource template. A URI that no fixed resource has is read by the first template,
    /// in the order added, that matches it.
    pub fn resource_template(mut self, template: ResourceTemplateDef) -> Self {
        self.templates.push(Arc::new(template));
        self
    }

    /// Adds a prompt; a name already taken fails [`build`](Self::build).
    pub fn prompt(mut self, prompt: PromptDef) -> Self {
        self.prompts.push(Arc::new(prompt));
        self
    }

    /// Cache hint for list results and discovery (default: public, 60 s).
    pub fn list_cache(mut self, hint: CacheHint) -> Self {
        self.list_cache = hint;
        self
    }

    /// The server: names checked for duplicates ([`DefinitionError::Duplicate`]), capabilities
    /// derived from the catalogue, and every list item encoded once.
    pub fn build(self) -> Result<Server, DefinitionError> {
        let tool_index = index("tool", self.tools.iter().map(|t| t.tool.name.as_str()))?;
        let resource_index = index("resource", self.resources.iter().map(|r| r.resource.uri.as_str()))?;
        let prompt_index = index("prompt", self.prompts.iter().map(|p| p.prompt.name.as_str()))?;
        let has_completions =
            self.prompts.iter().any(|p| p.completer.is_some()) || self.templates.iter().any(|t| t.completer.is_some());
        let has_resources = self.changeable || !self.resources.is_empty() || !self.templates.is_empty();
        let has_tools = self.changeable || !self.tools.is_empty();
        let has_prompts = self.changeable || !self.prompts.is_empty();
        let capabilities = ServerCapabilities {
            tools: has_tools.then_some(ListChangedCapability { list_changed: Some(true) }),
            resources: has_resources.then_some(ResourcesCapability { subscribe: Some(true), list_changed: Some(true) }),
            prompts: has_prompts.then_some(ListChangedCapability { list_changed: Some(true) }),
            completions: has_completions.then(Map::new),
            logging: Some(Map::new()),
            experimental: None,
            extensions: None,
        };
        let mut result_meta = Meta::new();
        result_meta.insert(SERVER_INFO_KEY.into(), serde_json::to_value(&self.info).unwrap_or(Value::Null));
        let tools_json = Listing::of(self.tools.iter().map(|t| (&t.tool.name, &t.tool)));
        let resources_json = Listing::of(self.resources.iter().map(|r| (&r.resource.uri, &r.resource)));
        let templates_json = Listing::of(self.templates.iter().map(|t| (&t.template.uri_template, &t.template)));
        let prompts_json = Listing::of(self.prompts.iter().map(|p| (&p.prompt.name, &p.prompt)));
        Ok(Server {
            tools_json,
            resources_json,
            templates_json,
            prompts_json,
            info: self.info,
            instructions: self.instructions,
            tools: self.tools,
            tool_index,
            resources: self.resources,
            resource_index,
            templates: self.templates,
            prompts: self.prompts,
            prompt_index,
            capabilities,
            result_meta,
            list_cache: self.list_cache,
        })
    }
}

fn index<'a>(
    kind: &'static str,
    names: impl Iterator<Item = &'a str>,
) -> Result<HashMap<String, usize>, DefinitionError> {
    let mut map = HashMap::new();
    for (i, name) in names.enumerate() {
        if map.insert(name.to_owned(), i).is_some() {
            return Err(DefinitionError::Duplicate { kind, name: name.to_owned() });
        }
    }
    Ok(map)
}

/// A list as it goes on the wire: its items encoded once, when the server is built, and
/// the key of each (name or URI), which list cursors remember.
pub(crate) struct Listing {
    pub(crate) keys: Vec<String>,
    pub(crate) items: Vec<Box<RawValue>>,
}

impl Listing {
    fn of<'a, T: Serialize + 'a>(entries: impl Iterator<Item = (&'a String, &'a T)>) -> Listing {
        let (keys, items) =
            entries.filter_map(|(key, item)| Some((key.clone(), serde_json::value::to_raw_value(item).ok()?))).unzip();
        Listing { keys, items }
    }
}
