//! An MCP client over API Gateway WebSockets, the project's binding (`docs/websocket.md`).
//! The official Rust SDK has no WebSocket transport; this crate is a small client of its own.
//!
//! ```no_run
//! # async fn run() -> Result<(), mcp_ws_client::Error> {
//! use mcp_ws_client::{Client, Era, Options};
//! let options = Options::new("wss://abc123.execute-api.us-east-1.amazonaws.com/prod")
//!     .token("eyJ...")
//!     .era(Era::Stateless);
//! let client = Client::connect(options).await?;
//! let result = client.request("tools/call", serde_json::json!({"name": "echo", "arguments": {"text": "hi"}})).await?;
//! # let _ = result; Ok(()) }
//! ```
//!
//! What it adds to a bare WebSocket, because API Gateway needs it: the token as the
//! `mcp.auth.<token>` subprotocol or an `Authorization` header; a refused handshake as
//! [`Error::Handshake`] with the status and the reason; a keepalive request after an idle
//! spell (API Gateway closes a connection idle for 10 minutes); a new connection when one
//! ends (API Gateway closes every connection after 2 hours): the session era starts a new
//! session and says so ([`Event::Reconnected`] with `session_restarted`), 2026-07-28 just
//! goes on; a message over 128 KiB refused before it is sent and a `-32010` reply as
//! [`Error::Limit`].

mod client;
mod connection;
mod error;
mod options;

pub use client::{Client, Event};
pub use error::Error;
pub use options::{Era, Options, TokenIn};

/// The JSON-RPC error code of a refusal over a limit (size, rate, requests in flight).
pub const LIMIT_EXCEEDED: i64 = -32010;
/// API Gateway's largest WebSocket message.
pub const MAX_MESSAGE_BYTES: usize = 128 * 1024;
