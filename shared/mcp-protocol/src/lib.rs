//! The MCP JSON-RPC codec and protocol model.
//!
//! Pure: no IO, no async runtime, no AWS. Decoding is lazy: [`jsonrpc::decode`] reads a
//! borrowed envelope (`method`, `id`, raw `params`) and the handler that needs typed params
//! decodes them with [`jsonrpc::Request::params_as`].

// The crate is part of the public API a server author reads: every public item says what it is.
#![warn(missing_docs)]

pub mod error;
pub mod jsonrpc;
pub mod methods;
pub mod model;

pub use error::{ErrorCode, ErrorObject};
pub use jsonrpc::{DecodeError, Message, Notification, Request, RequestId, Response};
