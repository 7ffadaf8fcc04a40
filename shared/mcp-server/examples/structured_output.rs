//! Structured output: a tool whose result is a Rust type. Its output schema is derived from
//! the type, the result is checked against it, and clients get it as `structuredContent`.
//! A failure the model should read is a `ToolError::Execution` (`isError: true`).
//! Serve it with `cargo run -p mcp-server --example structured_output`.

use mcp_server::{DefinitionError, JsonSchema, RequestContext, Server, ToolDef, ToolError};
use serde::{Deserialize, Serialize};

/// What `divide` takes.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DivideArgs {
    /// The dividend.
    a: f64,
    /// The divisor (not zero).
    b: f64,
}

/// What `divide` returns: its output schema.
#[derive(Serialize, JsonSchema)]
pub struct Quotient {
    /// `a / b`.
    quotient: f64,
}

/// A server with one structured tool.
pub fn server() -> Result<Server, DefinitionError> {
    let divide = ToolDef::builder("divide").description("Divides a by b.").structured_handler(
        |_ctx: RequestContext, args: DivideArgs| async move {
            if args.b == 0.0 {
                return Err(ToolError::execution("b must not be zero"));
            }
            Ok(Quotient { quotient: args.a / args.b })
        },
    )?;
    Server::builder("example-structured-output", "1.0.0").tool(divide).build()
}

#[allow(dead_code)]
fn main() -> anyhow::Result<()> {
    mcp_local::main(server)
}
