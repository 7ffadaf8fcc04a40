//! Transport edges: everything that knows how bytes arrive and leave.
//!
//! - [`http`]: Streamable HTTP over `http` types (the local gateway serves it with axum; the
//!   `http` Lambda function serves it behind a Function URL).
//! - [`websocket`]: the handler of API Gateway WebSocket events (`$connect`, `$default`,
//!   `$disconnect`), replying through a [`ConnectionSink`](mcp_server::ConnectionSink).
//! - [`stdio`]: newline-delimited JSON-RPC on stdin/stdout.
//! - [`sweeper`]: closes WebSocket connections whose token or lifetime has ended.
//!
//! Only this crate (and `functions/*`) knows API Gateway event shapes.

// The crate is part of the public API a server author reads: every public item says what it is.
#![warn(missing_docs)]

pub mod auth;
pub mod http;
pub mod limits;
pub mod origin;
pub mod rate;
pub mod stdio;
pub mod sweeper;
pub mod websocket;
