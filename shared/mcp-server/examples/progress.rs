//! Progress and cancellation: a long tool reports `notifications/progress` (when the request
//! asked for it with a progress token) and stops when the client cancels.
//! Serve it with `cargo run -p mcp-server --example progress`.

use std::time::Duration;

use mcp_protocol::model::CallToolResult;
use mcp_server::{DefinitionError, JsonSchema, RequestContext, Server, ToolDef};
use serde::Deserialize;

/// What `count` takes.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CountArgs {
    /// How far to count, one step every 100 ms.
    #[schemars(range(min = 1, max = 100))]
    to: u32,
}

/// A server with one long tool.
pub fn server() -> Result<Server, DefinitionError> {
    let count = ToolDef::builder("count")
        .description("Counts slowly, reporting progress.")
        .input::<CountArgs>()
        .handler(|ctx: RequestContext, args: CountArgs| async move {
            let total = f64::from(args.to);
            for step in 1..=args.to {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(100)) => {}
                    // A cancelled request's reply is dropped: return at once.
                    () = ctx.cancelled() => return Ok(CallToolResult::error("cancelled")),
                }
                ctx.progress(f64::from(step), Some(total), Some(format!("{step} of {}", args.to))).await;
            }
            Ok(CallToolResult::text(format!("counted to {}", args.to)))
        })?;
    Server::builder("example-progress", "1.0.0").tool(count).build()
}

#[allow(dead_code)]
fn main() -> anyhow::Result<()> {
    mcp_local::main(server)
}
