//! The reference server: what a user copies to start their own. A few useful tools, notes
//! as a subscribable resource template, and a prompt with argument completion, all kept in
//! the deployment's store so that any instance serves any request.

mod arithmetic;
mod notes;
mod prompts;
mod tools;

use mcp_server::{DefinitionError, Server};

pub fn server() -> Result<Server, DefinitionError> {
    let mut b = Server::builder("mcp-serverless-reference", env!("CARGO_PKG_VERSION"))
        .title("Reference MCP server")
        .instructions(
            "Keeps short notes (note://{name}); can echo, calculate, count words, count down with \
             progress, and ask the user or the client's model for help.",
        );
    for t in tools::all()? {
        b = b.tool(t);
    }
    for t in notes::tools()? {
        b = b.tool(t);
    }
    b = b.resource(notes::index()).resource_template(notes::template()?);
    b = b.prompt(prompts::review_note());
    b.build()
}

#[cfg(test)]
mod tests {
    #[test]
    fn builds() {
        let s = super::server().expect("reference server builds");
        assert!(s.tool("echo").is_some());
    }
}
