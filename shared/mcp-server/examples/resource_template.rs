//! Resources: a fixed resource, and a resource template (`greeting://{name}`) whose
//! variables come to the handler, with completion of the variable's values.
//! Serve it with `cargo run -p mcp-server --example resource_template`.

use std::collections::BTreeMap;

use mcp_protocol::model::{ReadResourceResult, Resource, ResourceContents, ResourceTemplate};
use mcp_server::{DefinitionError, HandlerError, ResourceDef, ResourceTemplateDef, Server};

const NAMES: [&str; 3] = ["ada", "alan", "grace"];

/// A server with a resource and a resource template.
pub fn server() -> Result<Server, DefinitionError> {
    let names = ResourceDef::new(
        Resource { uri: "greeting://names".into(), name: "names".into(), ..Default::default() },
        |_ctx, uri| {
            Box::pin(async move {
                Ok(ReadResourceResult { contents: vec![ResourceContents::text(uri, "text/plain", NAMES.join("\n"))] })
            })
        },
    );
    let template = ResourceTemplate {
        uri_template: "greeting://{name}".into(),
        name: "greeting".into(),
        mime_type: Some("text/plain".into()),
        ..Default::default()
    };
    let greetings = ResourceTemplateDef::new(template, |_ctx, uri, vars: BTreeMap<String, String>| {
        Box::pin(async move {
            let name = vars.get("name").cloned().unwrap_or_default();
            if !NAMES.contains(&name.as_str()) {
                // A URI that matches the template but names nothing: "Resource not found".
                return Err(HandlerError::ResourceNotFound(uri));
            }
            Ok(ReadResourceResult {
                contents: vec![ResourceContents::text(uri, "text/plain", format!("Hello, {name}!"))],
            })
        })
    })?
    // `completion/complete` of the template's `name`: the names that start with what is typed.
    .completer(|_variable, prefix, _others| {
        NAMES.iter().filter(|n| n.starts_with(prefix)).map(|n| n.to_string()).collect()
    });
    Server::builder("example-resource-template", "1.0.0").resource(names).resource_template(greetings).build()
}

#[allow(dead_code)]
fn main() -> anyhow::Result<()> {
    mcp_local::main(server)
}
