//! Benchmarks of the whole workspace: the codec side by side with the official Rust SDK
//! (`rmcp`), on the same messages in the same run (`--bench codec_vs_rmcp`), and in-process
//! dispatch of API Gateway events (`--bench dispatch`). The crate has no code of its own; rmcp
//! stays out of every other crate's dependencies.
