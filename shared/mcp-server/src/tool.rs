//! Tools: a definition, its compiled schemas and its typed async handler.

use std::future::Future;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use mcp_protocol::model::{CallToolResult, Tool, ToolAnnotations};

use crate::context::RequestContext;
use crate::error::{DefinitionError, HandlerError};
use crate::handler::BoxFuture;
use crate::schema::{JsonSchema, schema_of};

/// What runs before a tool's task is created ([`ToolBuilder::before_task`]).
pub(crate) type BeforeTaskFn =
    dyn Fn(RequestContext, Map<String, Value>) -> BoxFuture<'static, Result<(), HandlerError>> + Send + Sync;

type ToolFn = dyn Fn(RequestContext, Map<String, Value>) -> BoxFuture<'static, Result<CallToolResult, HandlerError>>
    + Send
    + Sync;

/// A tool ready to serve: what `tools/list` shows, the validators, the handler.
pub struct ToolDef {
    pub(crate) tool: Tool,
    pub(crate) input_validator: jsonschema::Validator,
    pub(crate) output_validator: Option<jsonschema::Validator>,
    pub(crate) handler: Arc<ToolFn>,
    pub(crate) task_support: TaskSupport,
    pub(crate) before_task: Option<Arc<BeforeTaskFn>>,
}

/// Whether a call of a tool may become a task (the tasks extension): answered at once with
/// a handle, the work running on without the request, its result collected with `tasks/get`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TaskSupport {
    /// Never: every call is answered with its result.
    #[default]
    Forbidden,
    /// When the client declares the extension; otherwise the call runs as any other.
    Optional,
    /// Always: a client without the extension is told it needs it (`-32021`).
    Required,
}

impl ToolDef {
    /// Starts a tool named `name`, whose input schema accepts any object until one is given.
    pub fn builder(name: impl Into<String>) -> ToolBuilder {
        ToolBuilder {
            tool: Tool {
                name: name.into(),
                title: None,
                description: None,
                input_schema: default_input_schema(),
                output_schema: None,
                annotations: None,
                icons: None,
                meta: None,
            },
            task_support: TaskSupport::Forbidden,
            before_task: None,
        }
    }

    /// A builder starting from a complete description (a registry entry's).
    pub(crate) fn from_tool(tool: Tool) -> ToolBuilder {
        ToolBuilder { tool, task_support: TaskSupport::Forbidden, before_task: None }
    }

    /// Whether its calls may become tasks.
    pub fn task_support(&self) -> TaskSupport {
        self.task_support
    }

    /// The tool as `tools/list` shows it.
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

/// Describes a tool; a handler method ends it, compiling the schemas (one that does not
/// compile is a [`DefinitionError`]).
pub struct ToolBuilder {
    tool: Tool,
    task_support: TaskSupport,
    before_task: Option<Arc<BeforeTaskFn>>,
}

impl ToolBuilder {
    /// Lets calls become tasks (the tasks extension): the client gets a handle at once and
    /// the handler runs on without the request, in an invocation of its own on Lambda. The
    /// handler is the same: its progress, logs and input requests go through its
    /// [`RequestContext`] (input requests become the task's `inputRequests`, answered with
    /// `tasks/update`; the handler then runs again with every answer given so far).
    pub fn task_support(mut self, support: TaskSupport) -> Self {
        self.task_support = support;
        self
    }

    /// Input to ask before a call becomes a task: `f` runs in the request (its input
    /// requests are ordinary `InputRequiredResult` rounds) and the task is created once it
    /// returns `Ok`; the handler then finds the same answers when it asks the same questions.
    pub fn before_task<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(RequestContext, Map<String, Value>) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
    {
        self.before_task = Some(Arc::new(move |ctx, args| Box::pin(f(ctx, args))));
        self
    }

    /// A human-readable name that clients show instead of the name.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.tool.title = Some(title.into());
        self
    }

    /// What the tool does, for the model that decides whether to call it.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.tool.description = Some(description.into());
        self
    }

    /// The arguments' schema from their type (see [`crate::schema`]).
    pub fn input<A: JsonSchema>(self) -> Self {
        self.input_schema(schema_of::<A>())
    }

    /// The schema of `structuredContent` from its type; results are checked against it.
    pub fn output<O: JsonSchema>(self) -> Self {
        self.output_schema(schema_of::<O>())
    }

    /// The JSON Schema of the arguments, written by hand (2020-12 unless `$schema` names
    /// another draft).
    pub fn input_schema(mut self, schema: Value) -> Self {
        self.tool.input_schema = schema;
        self
    }

    /// The JSON Schema of `structuredContent`, written by hand; results are checked against it.
    pub fn output_schema(mut self, schema: Value) -> Self {
        self.tool.output_schema = Some(schema);
        self
    }

    /// Hints for clients about the tool's behaviour (read-only, destructive, idempotent, open
    /// world); nothing enforces them.
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

    /// A handler whose arguments and result are both typed: the input schema comes from
    /// `A` (unless [`input_schema`](Self::input_schema) gave one), the output schema from
    /// `O`, and the result is `O` as `structuredContent` with its JSON as text content for
    /// clients that read only content. `Err(ToolError::Execution)` is a tool error the model
    /// reads (`isError`); any other error is the request's.
    pub fn structured_handler<A, O, F, Fut>(mut self, f: F) -> Result<ToolDef, DefinitionError>
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        O: Serialize + JsonSchema + 'static,
        F: Fn(RequestContext, A) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<O, ToolError>> + Send + 'static,
    {
        if self.tool.input_schema == default_input_schema() {
            self = self.input::<A>();
        }
        let f = Arc::new(f);
        self.output::<O>().handler(move |ctx, a: A| {
            let result = f(ctx, a);
            async move {
                match result.await {
                    Ok(output) => match serde_json::to_value(output) {
                        Ok(value) => Ok(CallToolResult::structured(value)),
                        Err(e) => Err(HandlerError::Internal(format!("the tool's result is not JSON: {e}"))),
                    },
                    Err(ToolError::Execution(message)) => Ok(CallToolResult::error(message)),
                    Err(ToolError::Handler(e)) => Err(e),
                }
            }
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
        Ok(ToolDef {
            tool: self.tool,
            input_validator,
            output_validator,
            handler: Arc::new(f),
            task_support: self.task_support,
            before_task: self.before_task,
        })
    }
}

/// The input schema of a tool that says nothing of its arguments.
fn default_input_schema() -> Value {
    serde_json::json!({ "type": "object" })
}

/// How a typed tool fails ([`ToolBuilder::structured_handler`]).
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    /// The tool ran and failed: the model reads this (`isError: true`) and may try again.
    #[error("{0}")]
    Execution(String),
    /// The request failed: a protocol error (bad params, a store that did not answer, input
    /// the client must give first).
    #[error(transparent)]
    Handler(#[from] HandlerError),
}

impl ToolError {
    /// A failure the model reads.
    pub fn execution(message: impl Into<String>) -> Self {
        ToolError::Execution(message.into())
    }
}

impl From<crate::error::InputError> for ToolError {
    fn from(e: crate::error::InputError) -> Self {
        ToolError::Handler(e.into())
    }
}

impl From<crate::state::StateError> for ToolError {
    fn from(e: crate::state::StateError) -> Self {
        ToolError::Handler(e.into())
    }
}

impl From<crate::store::StoreError> for ToolError {
    fn from(e: crate::store::StoreError) -> Self {
        ToolError::Handler(e.into())
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
