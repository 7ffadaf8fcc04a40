//! The server this repository deploys. The framework serves whatever `fn server()` a crate
//! gives it (`mcp_aws::run_websocket(server)`, `mcp_local::main(server)`); this repository
//! has two such servers and picks one at start, by `MCP_SERVER`, which its template sets
//! from the `ServerName` parameter:
//!
//! - `reference` (the default): [`reference_server`], what the README's examples call;
//! - `conformance`: [`conformance_server`], the fixtures of the official conformance suite.
//!
//! A crate with one server passes its own `server` function instead and needs none of this.

use mcp_server::Server;

/// The error of [`server`]: a name it does not know, or a definition that did not build.
pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// The server `MCP_SERVER` names.
pub fn server() -> Result<Server, Error> {
    by_name(std::env::var("MCP_SERVER").ok().as_deref().unwrap_or("reference"))
}

/// The server called `name` in this repository.
pub fn by_name(name: &str) -> Result<Server, Error> {
    match name {
        "reference" => Ok(reference_server::server()?),
        "conformance" => Ok(conformance_server::server()?),
        other => Err(format!("MCP_SERVER: unknown server {other:?} (reference or conformance)").into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_name_gives_its_server_and_an_unknown_one_says_which_exist() {
        assert_eq!(by_name("reference").unwrap().info().name, "mcp-serverless-reference");
        assert_ne!(by_name("conformance").unwrap().info().name, "mcp-serverless-reference");
        let refused = by_name("other").err().unwrap().to_string();
        assert!(refused.contains("\"other\"") && refused.contains("reference or conformance"), "{refused}");
    }
}
