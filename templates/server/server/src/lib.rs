//! The server: what its tools, resources and prompts are. The Lambda functions
//! (`functions/`) and the local gateway (`gateway/`) serve whatever [`server`] returns.

use mcp_server::{DefinitionError, JsonSchema, RequestContext, Server, ToolDef, ToolError};
use serde::{Deserialize, Serialize};

/// The arguments of `greet`: its input schema is derived from this type.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct GreetArgs {
    /// Whom to greet.
    #[schemars(length(min = 1, max = 100))]
    name: String,
}

/// The result of `greet`: its output schema is derived from this type.
#[derive(Serialize, JsonSchema)]
struct Greeting {
    /// The greeting.
    text: String,
}

/// The server's definition. Each function instance calls it once when it starts.
pub fn server() -> Result<Server, DefinitionError> {
    let greet = ToolDef::builder("greet").title("Greet").description("Greets someone by name.").structured_handler(
        |_ctx: RequestContext, args: GreetArgs| async move {
            if args.name.trim().is_empty() {
                return Err(ToolError::execution("a name is needed"));
            }
            Ok(Greeting { text: format!("Hello, {}!", args.name) })
        },
    )?;
    Server::builder("starter-server", env!("CARGO_PKG_VERSION")).tool(greet).build()
}
