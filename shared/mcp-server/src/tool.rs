//! Tools: a definition, its compiled schemas and its typed async handler.

use std::future::Future;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use mcp_protocol::model::{CallToolResult, Tool, ToolAnnotations};

use crate::context::RequestContext;
use crate::error::{DefinitionError, HandlerError};
use crate::handler::BoxFuture;

type ToolFn = dyn Fn(RequestContext, Map<String, Value>) -> BoxFuture<'static, Result<CallToolResult, HandlerError>>
    + Send
    + Sync;

/// A tool ready to serve: what `tools/list` shows, the validators, the handler.
pub struct ToolDef {
    pub(crate) tool: Tool,
    pub(crate) input_validator: jsonschema::Validator,
    pub(crate) output_validator: Option<jsonschema::Validator>,
    pub(crate) handler: Arc<ToolFn>,
}

impl ToolDef {
    pub fn builder(name: impl Into<String>) -> ToolBuilder {
        ToolBuilder {
            tool: Tool {
                name: name.into(),
                title: None,
                description: None,
                input_schema: serde_json::json!({ "type": "object" }),
                output_schema: None,
                annotations: None,
                icons: None,
                meta: None,
            },
        }
    }

    /// A builder starting from a complete description (a registry entry's).
    pub(crate) fn from_tool(tool: Tool) -> ToolBuilder {
        ToolBuilder { tool }
    }

    pub fn tool(&self) -> &Tool {
        &self.tool
    }

    /// Validates arguments against the input schema; the error lists every violation.
    pub fn validate_arguments(&self, arguments: &Value) -> Result<(), String> {
        let errors: Vec<String> = self
            .input_validator
            .iter_errors(arguments)
            .take(8)
            .map(|e| {
                let path = e.instance_path().to_string();
                if path.is_empty() { e.to_string() } else { format!("{path}: {e}") }
            })
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(errors.join("; ")) }
    }

    /// Validates a result's `structuredContent` against the output schema, if any.
    pub fn validate_output(&self, result: &CallToolResult) -> Result<(), String> {
        let Some(validator) = &self.output_validator else { return Ok(()) };
        if result.is_error == Some(true) {
            return Ok(());
        }
        match &result.structured_content {
            None => Err("the tool declares an output schema but returned no structuredContent".into()),
            Some(v) => validator.validate(v).map_err(|e| e.to_string()),
        }
    }
}

pub struct ToolBuilder {
    tool: Tool,
}

impl ToolBuilder {
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.tool.title = Some(title.into());
        self
    }

    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.tool.description = Some(description.into());
        self
    }

    /// The JSON Schema of the arguments (2020-12 unless `$schema` names another draft).
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.tool.input_schema = schema;
        self
    }

    /// The JSON Schema of `structuredContent`; results are checked against it.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.tool.output_schema = Some(schema);
        self
    }

    pub fn annotations(mut self, annotations: ToolAnnotations) -> Self {
        self.tool.annotations = Some(annotations);
        self
    }

    /// A handler taking typed arguments. The arguments were validated against the input
    /// schema first; a type that disagrees with the schema yields an invalid-arguments
    /// tool error rather than a panic.
    pub fn handler<A, F, Fut>(self, f: F) -> Result<ToolDef, DefinitionError>
    where
        A: DeserializeOwned + Send + 'static,
        F: Fn(RequestContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CallToolResult, HandlerError>> + Send + 'static,
    {
        let f = Arc::new(f);
        self.raw_handler(move |ctx, args| {
            let f = f.clone();
            Box::pin(async move {
                match serde_json::from_value::<A>(Value::Object(args)) {
                    Ok(a) => f(ctx, a).await,
                    Err(e) => Ok(CallToolResult::error(format!("invalid arguments: {e}"))),
                }
            })
        })
    }

    /// The output schema compiled as [`raw_handler`](Self::raw_handler) compiles it.
    pub(crate) fn compile_output(&self) -> Result<Option<jsonschema::Validator>, DefinitionError> {
        self.tool.output_schema.as_ref().map(|s| compile(&self.tool.name, "output", s)).transpose()
    }

    /// A handler taking the arguments object as JSON.
    pub fn raw_handler<F>(self, f: F) -> Result<ToolDef, DefinitionError>
    where
        F: Fn(RequestContext, Map<String, Value>) -> BoxFuture<'static, Result<CallToolResult, HandlerError>>
            + Send
            + Sync
            + 'static,
    {
        let name = self.tool.name.clone();
        let input_validator = compile(&name, "input", &self.tool.input_schema)?;
        let output_validator = match &self.tool.output_schema {
            Some(s) => Some(compile(&name, "output", s)?),
            None => None,
        };
        Ok(ToolDef { tool: self.tool, input_validator, output_validator, handler: Arc::new(f) })
    }
}

fn compile(tool: &str, which: &'static str, schema: &Value) -> Result<jsonschema::Validator, DefinitionError> {
    let err = |message: String| DefinitionError::InvalidSchema { tool: tool.to_owned(), which, message };
    if !schema.is_object() {
        return Err(err("a schema must be a JSON object".into()));
    }
    // Draft 2020-12 is MCP's default dialect; `$schema` in the schema overrides it.
    jsonschema::options().with_draft(jsonschema::Draft::Draft202012).build(schema).map_err(|e| err(e.to_string()))
}
