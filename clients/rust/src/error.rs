//! What can go wrong, each with what a caller needs to act on it.

use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The server refused the handshake: 401 (no or bad token), 403, 404 (no such server),
    /// 429, 503.
    #[error("WebSocket handshake refused: HTTP {status}{}", if reason.is_empty() { String::new() } else { format!(" ({reason})") })]
    Handshake { status: u16, reason: String },
    /// A message refused over a limit (`-32010`): by this client before sending (its size),
    /// or by the server.
    #[error("refused over a limit: {message}")]
    Limit { message: String, data: Option<Value> },
    /// Any other JSON-RPC error reply.
    #[error("JSON-RPC error {code}: {message}")]
    Rpc { code: i64, message: String, data: Option<Value> },
    /// The connection ended before the reply, and the request may or may not have run; or
    /// the client is closed.
    #[error("the connection ended before the reply: {0}")]
    Closed(String),
    #[error("no reply within {0:?}")]
    Timeout(std::time::Duration),
    #[error("WebSocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("{0}")]
    Invalid(String),
}

impl Error {
    /// The error a JSON-RPC `error` member stands for.
    pub(crate) fn from_reply(error: &Value) -> Error {
        let code = error["code"].as_i64().unwrap_or(0);
        let message = error["message"].as_str().unwrap_or_default().to_owned();
        let data = error.get("data").cloned();
        if code == crate::LIMIT_EXCEEDED { Error::Limit { message, data } } else { Error::Rpc { code, message, data } }
    }
}
