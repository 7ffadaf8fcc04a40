//! What the router hands back to a transport edge.

use mcp_protocol::ErrorObject;

use crate::state::calls::RemoteCalls;
use mcp_protocol::jsonrpc::{self, RequestId};

/// How the edge should present a reply. HTTP maps these to status codes; WebSocket and
/// stdio only send the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyStatus {
    /// A response (HTTP 200).
    Ok,
    /// A notification or client response was taken; nothing to send (HTTP 202).
    Accepted,
    /// The message is malformed or its headers disagree with it (HTTP 400).
    BadRequest,
    /// The session named by the request does not exist (HTTP 404, session era).
    SessionNotFound,
    /// Unknown method in 2026-07-28 (HTTP 404 with a JSON-RPC body).
    MethodNotFound,
    /// The server named by the request's path or connection does not exist (HTTP 404).
    ServerNotFound,
    /// The principal may not use the server (HTTP 403).
    Forbidden,
    /// Over the server's rate limit (HTTP 429).
    Limited,
    /// The server cannot be looked up now (HTTP 503).
    Unavailable,
    /// The request was cancelled. Transports that can stay silent (WebSocket, stdio, an SSE
    /// stream) send nothing; a plain HTTP POST must be answered, and gets the body: an error
    /// the client ignores.
    Cancelled,
}

/// The router's outcome for one message: what to send, how to present it, and what the edge
/// must do besides.
#[derive(Debug)]
pub struct Reply {
    /// How the edge presents the reply (an HTTP status, or silence where allowed).
    pub status: ReplyStatus,
    /// The encoded JSON-RPC response, if there is one to send.
    pub body: Option<Vec<u8>>,
    /// A session created by this message (`initialize`): HTTP sends it as `Mcp-Session-Id`.
    pub new_session: Option<String>,
    /// This message wrote state that lives as long as its WebSocket connection (a session,
    /// listen rows). A `$disconnect` handled meanwhile may have cleaned up before the writes:
    /// the edge checks the connection is still there, and cleans up again if not.
    pub binds_connection: bool,
    /// The remote calls serving this message took.
    pub calls: RemoteCalls,
    /// The JSON-RPC error code of the reply, if it is an error (for logs and metrics).
    pub error_code: Option<i32>,
}

impl Reply {
    /// A response (HTTP 200) with its encoded body.
    pub fn ok(body: Vec<u8>) -> Self {
        Reply {
            status: ReplyStatus::Ok,
            body: Some(body),
            new_session: None,
            binds_connection: false,
            calls: RemoteCalls::default(),
            error_code: None,
        }
    }

    /// A notification or client response, taken: nothing to send (HTTP 202).
    pub fn accepted() -> Self {
        Reply {
            status: ReplyStatus::Accepted,
            body: None,
            new_session: None,
            binds_connection: false,
            calls: RemoteCalls::default(),
            error_code: None,
        }
    }

    /// The outcome of a cancelled request: its body, a request-cancelled error, is sent only by a
    /// transport that must answer (a plain HTTP POST).
    pub fn cancelled(id: &RequestId) -> Self {
        let e = ErrorObject::new(mcp_protocol::ErrorCode::REQUEST_CANCELLED, "request cancelled");
        Reply {
            status: ReplyStatus::Cancelled,
            body: Some(jsonrpc::encode_error(Some(id), &e)),
            new_session: None,
            binds_connection: false,
            calls: RemoteCalls::default(),
            error_code: Some(e.code.0),
        }
    }

    /// A JSON-RPC error; `status` says how a transport with statuses presents it.
    pub fn error(id: Option<&RequestId>, error: &ErrorObject, status: ReplyStatus) -> Self {
        Reply {
            status,
            body: Some(jsonrpc::encode_error(id, error)),
            new_session: None,
            binds_connection: false,
            calls: RemoteCalls::default(),
            error_code: Some(error.code.0),
        }
    }
}
