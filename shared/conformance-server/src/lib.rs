//! The server the official MCP conformance suite (`@modelcontextprotocol/conformance`) is
//! run against: the tools, resources and prompts its server scenarios call, in both eras.

mod media;
mod mrtr;
mod prompts;
mod resources;
mod tasks;
mod tools;

use mcp_server::{DefinitionError, Server};

/// Builds the conformance server.
pub fn server() -> Result<Server, DefinitionError> {
    let mut b = Server::builder("mcp-serverless-conformance", env!("CARGO_PKG_VERSION"))
        .title("Conformance test server")
        .instructions("Fixtures for the MCP conformance suite.");
    // Order matters: the suite calls the first tool with `{}` and reads the first resource.
    for t in tools::all()?.into_iter().chain(mrtr::tools()?).chain(tasks::tools()?) {
        b = b.tool(t);
    }
    for r in resources::fixed() {
        b = b.resource(r);
    }
    b = b.resource_template(resources::template()?);
    for p in prompts::all() {
        b = b.prompt(p);
    }
    b.build()
}

#[cfg(test)]
mod tests {
    #[test]
    fn builds() {
        let s = super::server().expect("conformance server builds");
        assert!(s.tool("test_simple_text").is_some());
        assert!(s.tool("json_schema_2020_12_tool").is_some());
    }
}
