//! A tool: typed arguments whose JSON Schema is derived from their type, and a text result.
//! Serve it with `cargo run -p mcp-server --example tool` (HTTP at
//! http://127.0.0.1:8787/mcp, WebSocket at ws://127.0.0.1:8787/ws, or `-- --stdio`).

use mcp_protocol::model::CallToolResult;
use mcp_server::{DefinitionError, JsonSchema, RequestContext, Server, ToolDef};
use serde::Deserialize;

/// What `shout` takes: the input schema a client sees is derived from this type, and the
/// arguments are checked against it before the handler runs.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ShoutArgs {
    /// The text to shout.
    #[schemars(length(min = 1, max = 1000))]
    text: String,
    /// How many exclamation marks (1 unless given).
    #[schemars(range(min = 1, max = 10))]
    marks: Option<usize>,
}

/// A server with one tool.
pub fn server() -> Result<Server, DefinitionError> {
    let shout = ToolDef::builder("shout").description("Repeats a text in capitals.").input::<ShoutArgs>().handler(
        |_ctx: RequestContext, args: ShoutArgs| async move {
            let marks = "!".repeat(args.marks.unwrap_or(1));
            Ok(CallToolResult::text(format!("{}{marks}", args.text.to_uppercase())))
        },
    )?;
    Server::builder("example-tool", "1.0.0").tool(shout).build()
}

#[allow(dead_code)]
fn main() -> anyhow::Result<()> {
    mcp_local::main(server)
}
