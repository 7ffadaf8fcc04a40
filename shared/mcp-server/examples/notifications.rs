//! Notifications: a tool that changes a resource tells the resource's subscribers
//! (`notifications/resources/updated`, on whichever instance holds each subscriber's
//! stream), and sends log messages to the caller (`notifications/message`).
//! Serve it with `cargo run -p mcp-server --example notifications`.

use mcp_protocol::model::{CallToolResult, LoggingLevel, ReadResourceResult, Resource, ResourceContents};
use mcp_server::{DefinitionError, JsonSchema, RequestContext, ResourceDef, Server, ToolDef};
use serde::Deserialize;

const STATUS: &str = "status://current";

/// What `set_status` takes.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StatusArgs {
    /// The new status.
    #[schemars(length(max = 200))]
    status: String,
}

/// A server with a subscribable resource and a tool that changes it.
pub fn server() -> Result<Server, DefinitionError> {
    let status =
        ResourceDef::new(Resource { uri: STATUS.into(), name: "status".into(), ..Default::default() }, |ctx, uri| {
            Box::pin(async move {
                // The deployment's store: every instance reads the same value.
                let value = ctx.shared_store().get("status").await?.unwrap_or_default();
                Ok(ReadResourceResult {
                    contents: vec![ResourceContents::text(uri, "text/plain", String::from_utf8_lossy(&value))],
                })
            })
        });
    let set_status = ToolDef::builder("set_status")
        .description("Sets the status; subscribers of status://current hear of it.")
        .input::<StatusArgs>()
        .handler(|ctx: RequestContext, args: StatusArgs| async move {
            ctx.shared_store().put("status", args.status.as_bytes()).await?;
            let reached = ctx.notifier().resource_updated(STATUS).await?;
            ctx.log(LoggingLevel::Info, Some("status"), serde_json::json!({ "reached": reached })).await;
            Ok(CallToolResult::text(format!("status set; {reached} subscribers told")))
        })?;
    Server::builder("example-notifications", "1.0.0").resource(status).tool(set_status).build()
}

#[allow(dead_code)]
fn main() -> anyhow::Result<()> {
    mcp_local::main(server)
}
