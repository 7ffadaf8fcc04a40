//! The local gateway (`cargo run -p gateway -- --help`): the server at
//! http://127.0.0.1:8787/mcp and ws://127.0.0.1:8787/ws, or over stdio with `--stdio`; with
//! `--functions target/debug`, the function binaries run as Lambda runs them.

fn main() -> anyhow::Result<()> {
    mcp_local::main(starter_server::server)
}
