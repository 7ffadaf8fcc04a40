//! `mcp-local`: the local gateway ([`mcp_local`]) serving this repository's server, the
//! reference server or, with `MCP_SERVER=conformance`, the conformance suite's fixtures
//! ([`deployed_server`]). The Lambda lane (`--functions`) serves what the template's
//! `ServerName` parameter names instead: `--parameter ServerName=conformance`.

fn main() -> anyhow::Result<()> {
    mcp_local::main(deployed_server::server)
}
