//! Elicitation: a tool asks the user for input through the client, in both protocol eras
//! with one call. In the session era (2025-11-25) the server sends `elicitation/create` and
//! waits for the answer, on whichever instance it arrives; in 2026-07-28 the call returns an
//! `InputRequiredResult` and the client retries with the answer (`?` propagates that).
//! Serve it with `cargo run -p mcp-server --example elicitation`.

use mcp_protocol::model::{CallToolResult, ElicitAction, ElicitRequestParams};
use mcp_server::schema::schema_of;
use mcp_server::{DefinitionError, JsonSchema, RequestContext, Server, ToolDef};
use serde::Deserialize;

/// The form the user fills in: its schema is derived from this type.
#[derive(Deserialize, JsonSchema)]
pub struct Order {
    /// How many cups.
    #[schemars(range(min = 1, max = 9))]
    cups: u8,
}

/// A server with one tool that asks.
pub fn server() -> Result<Server, DefinitionError> {
    let order = ToolDef::builder("order_coffee").description("Orders coffee, asking how many cups.").handler(
        |ctx: RequestContext, _: serde_json::Map<String, serde_json::Value>| async move {
            let answer = ctx.elicit(ElicitRequestParams::form("How many cups?", schema_of::<Order>())).await?;
            let content = answer.content.map(serde_json::Value::Object);
            Ok(match (answer.action, content.map(serde_json::from_value::<Order>)) {
                (ElicitAction::Accept, Some(Ok(order))) => CallToolResult::text(format!("{} cups ordered", order.cups)),
                (ElicitAction::Accept, _) => CallToolResult::error("the answer is not an order"),
                _ => CallToolResult::text("nothing ordered"),
            })
        },
    )?;
    Server::builder("example-elicitation", "1.0.0").tool(order).build()
}

#[allow(dead_code)]
fn main() -> anyhow::Result<()> {
    mcp_local::main(server)
}
