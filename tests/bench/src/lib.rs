//! Benchmarks of this workspace side by side with the official Rust SDK (`rmcp`), on the same
//! messages in the same run: `cargo bench -p mcp-bench`. The crate has no code of its own;
//! rmcp stays out of every other crate's dependencies.
