//! What the registry holds: named servers, and for each its tools, resources, resource
//! templates and prompts. An entry is the protocol's own description of the item (what a
//! list shows, unchanged) plus what serves it: a Lambda function for a tool, a text for a
//! resource or a template, message texts for a prompt.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use mcp_protocol::model::{Prompt, Resource, ResourceTemplate, Role, Tool};

use crate::uri_template::UriTemplate;

/// A server of the deployment: its identity and who may use it. Its catalogue is the
/// entries registered under its name (and, for a server defined in code, the code's).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerEntry {
    /// The server's name: a path segment (see [`is_server_name`]) and the key of its sessions,
    /// topics, rate counters and registry rows.
    pub name: String,
    /// The server's title, for a server whose code gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The server's instructions (`initialize`, `server/discover`), for a server whose code
    /// gives none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// Principals (token subjects) that may use the server; absent: anyone the deployment
    /// admits. A request without a principal (authorization off) is refused by a server
    /// that sets it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_principals: Option<Vec<String>>,
    /// Requests per principal per minute on this server, counted across instances (on top
    /// of the deployment's own limit). Requests without a principal are not counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<u64>,
}

/// Most principals a server may list (its item stays small).
const MAX_PRINCIPALS: usize = 1000;
/// Longest server name: a path segment, and part of every key of the server.
const MAX_SERVER_NAME: usize = 64;

impl ServerEntry {
    /// Whether `principal` may use the server.
    pub fn admits(&self, principal: Option<&str>) -> bool {
        match (&self.allowed_principals, principal) {
            (None, _) => true,
            (Some(allowed), Some(p)) => allowed.iter().any(|a| a == p),
            (Some(_), None) => false,
        }
    }

    /// Everything checked before a server is written: its name, its principals, its rate limit.
    pub fn validate(&self) -> Result<(), InvalidEntry> {
        let refuse = |reason: &str| InvalidEntry { kind: "server", name: self.name.clone(), reason: reason.into() };
        if !is_server_name(&self.name) {
            return Err(refuse("a server name is 1 to 64 of A-Z a-z 0-9 _ -"));
        }
        if let Some(allowed) = &self.allowed_principals {
            if allowed.len() > MAX_PRINCIPALS {
                return Err(refuse("allowedPrincipals holds at most 1000 principals"));
            }
            if allowed.iter().any(|p| p.is_empty() || p.len() > MAX_NAME * 2) {
                return Err(refuse("a principal is 1 to 256 bytes"));
            }
        }
        if self.rate_limit == Some(0) {
            return Err(refuse("rateLimit is at least 1 request per minute (leave it out for no limit)"));
        }
        Ok(())
    }
}

/// A server name is a path segment: 1 to 64 of `A-Z a-z 0-9 _ -`.
pub fn is_server_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_SERVER_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
}

/// How a registered tool runs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ToolImplementation {
    /// A Lambda function (name, ARN or partial ARN), invoked synchronously with the payload
    /// of `docs/lambda-tools.md`; a reply later than `timeout_ms` is a tool error.
    #[serde(rename_all = "camelCase")]
    Lambda {
        /// The function's name, ARN or partial ARN, as Lambda's `Invoke` takes it.
        function: String,
        /// How long a call waits for the function's reply: 1 to [`MAX_TOOL_TIMEOUT_MS`]; 10 s if
        /// absent.
        #[serde(default = "default_timeout_ms")]
        timeout_ms: u64,
    },
}

fn default_timeout_ms() -> u64 {
    10_000
}

/// The longest a Lambda-backed tool may be given (API Gateway answers a WebSocket message
/// within 29 s; the gateway needs some of that).
pub const MAX_TOOL_TIMEOUT_MS: u64 = 25_000;

/// A registered tool: the protocol's description of it and the function that runs it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ToolEntry {
    /// What `tools/list` shows, unchanged (its fields are the entry's own in JSON); its schemas
    /// are compiled as a code tool's are.
    #[serde(flatten)]
    pub tool: Tool,
    /// What runs the tool.
    pub implementation: ToolImplementation,
}

/// A registered resource with a fixed URI, read as a stored text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceEntry {
    /// What `resources/list` shows, unchanged (its fields are the entry's own in JSON).
    #[serde(flatten)]
    pub resource: Resource,
    /// What `resources/read` returns.
    pub text: String,
}

/// A registered resource template: every URI it matches reads as its text, filled with the
/// URI's values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceTemplateEntry {
    /// What `resources/templates/list` shows, unchanged (its fields are the entry's own in JSON).
    #[serde(flatten)]
    pub template: ResourceTemplate,
    /// What `resources/read` returns for a matching URI, with `{variable}` replaced by the
    /// URI's values.
    pub text: String,
}

/// One message of a registered prompt; `{argument}` is replaced by the argument's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromptMessageText {
    /// Who speaks the message.
    pub role: Role,
    /// The message, with `{argument}` placeholders; each must name a declared argument.
    pub text: String,
}

/// A registered prompt: its description and the messages `prompts/get` returns, filled with
/// the arguments given.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PromptEntry {
    /// What `prompts/list` shows, unchanged (its fields are the entry's own in JSON); its
    /// arguments are the placeholders the messages may use.
    #[serde(flatten)]
    pub prompt: Prompt,
    /// The messages returned, in order; at least one.
    pub messages: Vec<PromptMessageText>,
}

/// One catalogue item of a registered server, as stored and as the admin interface takes it
/// (`{"kind": "tool", "name": ..., "inputSchema": ..., "implementation": ...}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Entry {
    /// A tool run by a Lambda function.
    Tool(ToolEntry),
    /// A resource with a fixed URI and a stored text.
    Resource(ResourceEntry),
    /// A resource template whose URIs read as a stored text filled with their values.
    ResourceTemplate(ResourceTemplateEntry),
    /// A prompt of stored message texts.
    Prompt(PromptEntry),
}

/// The kinds of entry, each with its own namespace of names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum EntryKind {
    /// Tools, named by their name.
    Tool,
    /// Resources, named by their URI.
    Resource,
    /// Resource templates, named by their URI template.
    ResourceTemplate,
    /// Prompts, named by their name.
    Prompt,
}

impl EntryKind {
    /// Every kind: what [`FromStr`](std::str::FromStr) accepts.
    pub const ALL: [EntryKind; 4] =
        [EntryKind::Tool, EntryKind::Resource, EntryKind::ResourceTemplate, EntryKind::Prompt];

    /// The kind as the entries' `kind` tag, the CLI and the registry table's sort keys spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::Tool => "tool",
            EntryKind::Resource => "resource",
            EntryKind::ResourceTemplate => "resourceTemplate",
            EntryKind::Prompt => "prompt",
        }
    }
}

impl std::str::FromStr for EntryKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EntryKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown kind `{s}` (tool, resource, resourceTemplate, prompt)"))
    }
}

/// Why an entry cannot be registered.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {name}: {reason}")]
pub struct InvalidEntry {
    /// What was refused: `server`, or an entry's kind as [`EntryKind::as_str`] spells it.
    pub kind: &'static str,
    /// Its name as given (a server or entry name, a URI, a URI template).
    pub name: String,
    /// What is wrong with it, for whoever registers it.
    pub reason: String,
}

/// Longest name of a tool or prompt (the protocol recommends 1 to 128 characters).
const MAX_NAME: usize = 128;
/// Largest text of a resource, template or prompt message: what fits a message with room.
const MAX_TEXT: usize = 64 * 1024;
/// Largest entry, as JSON (a DynamoDB item holds 400 KB).
const MAX_ENTRY: usize = 350 * 1024;
/// Longest URI or URI template: it is part of a DynamoDB sort key (1,024 bytes at most).
const MAX_URI: usize = 1000;

impl Entry {
    /// The entry's kind; with its [`name`](Self::name), it identifies the entry in its server.
    pub fn kind(&self) -> EntryKind {
        match self {
            Entry::Tool(_) => EntryKind::Tool,
            Entry::Resource(_) => EntryKind::Resource,
            Entry::ResourceTemplate(_) => EntryKind::ResourceTemplate,
            Entry::Prompt(_) => EntryKind::Prompt,
        }
    }

    /// The name the entry is known by in its kind: a tool's or prompt's name, a resource's
    /// URI, a template's URI template.
    pub fn name(&self) -> &str {
        match self {
            Entry::Tool(t) => &t.tool.name,
            Entry::Resource(r) => &r.resource.uri,
            Entry::ResourceTemplate(t) => &t.template.uri_template,
            Entry::Prompt(p) => &p.prompt.name,
        }
    }

    /// Everything checked before an entry is written: names, schemas (compiled as the
    /// server will compile them), URIs and templates, texts, and placeholders.
    pub fn validate(&self) -> Result<(), InvalidEntry> {
        let invalid =
            |reason: String| InvalidEntry { kind: self.kind().as_str(), name: self.name().to_owned(), reason };
        match self {
            Entry::Tool(t) => {
                check_name(&t.tool.name).map_err(invalid)?;
                if t.tool.input_schema.get("type") != Some(&Value::String("object".into())) {
                    return Err(invalid("inputSchema must have \"type\": \"object\"".into()));
                }
                // Compiled exactly as the server compiles them (draft 2020-12 unless `$schema`).
                let def = crate::tool::ToolDef::from_tool(t.tool.clone());
                def.compile_output().map_err(|e| invalid(e.to_string()))?;
                def.raw_handler(|_, _| Box::pin(async { Ok(mcp_protocol::model::CallToolResult::default()) }))
                    .map_err(|e| invalid(e.to_string()))?;
                let ToolImplementation::Lambda { function, timeout_ms } = &t.implementation;
                if function.trim().is_empty() || function.len() > 256 {
                    return Err(invalid("implementation.function must name a Lambda function".into()));
                }
                if *timeout_ms == 0 || *timeout_ms > MAX_TOOL_TIMEOUT_MS {
                    return Err(invalid(format!("implementation.timeoutMs must be 1 to {MAX_TOOL_TIMEOUT_MS}")));
                }
            }
            Entry::Resource(r) => {
                check_uri(&r.resource.uri).map_err(invalid)?;
                check_text(&r.text).map_err(invalid)?;
            }
            Entry::ResourceTemplate(t) => {
                let template = UriTemplate::parse(&t.template.uri_template)
                    .ok_or_else(|| invalid("not an RFC 6570 URI template".into()))?;
                check_uri(&t.template.uri_template).map_err(invalid)?;
                check_text(&t.text).map_err(invalid)?;
                if let Some(unknown) = placeholders(&t.text).find(|p| !template.variables().any(|v| v == *p)) {
                    return Err(invalid(format!("text names {{{unknown}}}, which the template does not define")));
                }
            }
            Entry::Prompt(p) => {
                check_name(&p.prompt.name).map_err(invalid)?;
                if p.messages.is_empty() {
                    return Err(invalid("a prompt needs at least one message".into()));
                }
                let declared: Vec<&str> = p.prompt.arguments.iter().flatten().map(|a| a.name.as_str()).collect();
                for m in &p.messages {
                    check_text(&m.text).map_err(invalid)?;
                    if let Some(unknown) = placeholders(&m.text).find(|a| !declared.contains(a)) {
                        return Err(invalid(format!("a message names {{{unknown}}}, which is not an argument")));
                    }
                }
            }
        }
        // A DynamoDB item holds at most 400 KB; keep room for the keys.
        let size = serde_json::to_vec(self).map_or(usize::MAX, |v| v.len());
        if size > MAX_ENTRY {
            return Err(invalid(format!("the entry is {size} bytes as JSON; at most {MAX_ENTRY}")));
        }
        Ok(())
    }
}

fn check_name(name: &str) -> Result<(), String> {
    let valid = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if valid { Ok(()) } else { Err(format!("a name is 1 to {MAX_NAME} of A-Z a-z 0-9 _ - .")) }
}

fn check_uri(uri: &str) -> Result<(), String> {
    let scheme = uri.split_once(':').map(|(s, _)| s).unwrap_or_default();
    let valid = !scheme.is_empty()
        && scheme.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        && uri.len() <= MAX_URI
        && !uri.chars().any(char::is_whitespace);
    if valid { Ok(()) } else { Err(format!("a URI with a scheme, no spaces, at most {MAX_URI} bytes")) }
}

fn check_text(text: &str) -> Result<(), String> {
    if text.len() <= MAX_TEXT { Ok(()) } else { Err(format!("a text is at most {MAX_TEXT} bytes")) }
}

/// The `{name}` placeholders of a text.
pub(crate) fn placeholders(text: &str) -> impl Iterator<Item = &str> {
    text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
}

/// `text` with each `{name}` replaced by its value (unknown names stay as they are).
pub(crate) fn fill(text: &str, values: &std::collections::BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.split_once('}') {
            Some((name, tail)) if values.contains_key(name) => {
                out.push_str(&values[name]);
                rest = tail;
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn tool(schema: Value) -> Entry {
        serde_json::from_value(json!({
            "kind": "tool", "name": "word_count", "description": "Counts words",
            "inputSchema": schema,
            "implementation": { "type": "lambda", "function": "word-count" },
        }))
        .unwrap()
    }

    #[test]
    fn entries_read_as_the_protocol_describes_them_plus_their_implementation() {
        let entry = tool(json!({"type": "object", "properties": {"text": {"type": "string"}}}));
        let Entry::Tool(t) = &entry else { panic!("a tool") };
        assert_eq!(t.implementation, ToolImplementation::Lambda { function: "word-count".into(), timeout_ms: 10_000 });
        assert_eq!(entry.validate(), Ok(()));
        let back: Entry = serde_json::from_value(serde_json::to_value(&entry).unwrap()).unwrap();
        assert_eq!(back, entry);
    }

    #[test]
    fn bad_entries_are_refused_with_the_reason() {
        let e = tool(json!({"type": "object", "properties": {"n": {"type": "integer", "minimum": "zero"}}}));
        assert!(e.validate().unwrap_err().reason.contains("invalid input schema"), "{:?}", e.validate());
        assert!(tool(json!({"type": "string"})).validate().unwrap_err().reason.contains("\"type\": \"object\""));
        let template: Entry = serde_json::from_value(json!({
            "kind": "resourceTemplate", "uriTemplate": "doc://{id}", "name": "doc", "text": "Document {name}",
        }))
        .unwrap();
        assert!(template.validate().unwrap_err().reason.contains("{name}"));
        let prompt: Entry = serde_json::from_value(json!({
            "kind": "prompt", "name": "greet", "arguments": [{"name": "who", "required": true}],
            "messages": [{"role": "user", "text": "Say hello to {who} in {language}"}],
        }))
        .unwrap();
        assert!(prompt.validate().unwrap_err().reason.contains("{language}"));
    }

    #[test]
    fn placeholders_are_filled_and_unknown_ones_kept() {
        let values = [("who".to_owned(), "Ada".to_owned())].into_iter().collect();
        assert_eq!(fill("Hello {who}, {nobody} {", &values), "Hello Ada, {nobody} {");
        assert_eq!(placeholders("a {x} b {y}").collect::<Vec<_>>(), ["x", "y"]);
    }

    #[test]
    fn a_server_admits_its_principals_and_is_validated_as_a_path_segment() {
        let open = ServerEntry { name: "reports".into(), ..Default::default() };
        assert!(open.admits(None) && open.admits(Some("anyone")));
        let closed = ServerEntry { allowed_principals: Some(vec!["alice".into()]), ..open.clone() };
        assert!(closed.admits(Some("alice")));
        assert!(!closed.admits(Some("bob")) && !closed.admits(None), "no principal: refused");
        assert!(closed.validate().is_ok());
        for bad in ["", "a/b", "a b", &"x".repeat(65)] {
            assert!(ServerEntry { name: bad.into(), ..Default::default() }.validate().is_err(), "{bad:?}");
        }
        assert!(ServerEntry { rate_limit: Some(0), ..open.clone() }.validate().is_err());
        let empty = ServerEntry { allowed_principals: Some(vec![String::new()]), ..open };
        assert!(empty.validate().is_err());
    }
}
