//! The body of an HTTP reply: nothing, bytes, or a stream of SSE frames.

use bytes::Bytes;
use futures_util::stream::BoxStream;

/// The body an [`HttpEdge`](super::HttpEdge) answers with, which its host turns into its own
/// (a Function URL's streamed response, the local gateway's axum body).
pub enum HttpBody {
    /// No body: a reply that has none (a notification's `202`), a DELETE's `200`.
    Empty,
    /// A whole body at once: JSON (a JSON-RPC response or error, the resource metadata).
    Full(Bytes),
    /// Server-sent events, already framed.
    Stream(BoxStream<'static, Bytes>),
}

impl std::fmt::Debug for HttpBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HttpBody::Empty => f.write_str("Empty"),
            HttpBody::Full(b) => write!(f, "Full({} bytes)", b.len()),
            HttpBody::Stream(_) => f.write_str("Stream"),
        }
    }
}

/// One SSE event carrying a JSON-RPC message (compact JSON has no newlines).
pub fn sse_event(id: Option<&str>, data: &[u8]) -> Bytes {
    let mut out = Vec::with_capacity(data.len() + 48);
    if let Some(id) = id {
        out.extend_from_slice(b"id: ");
        out.extend_from_slice(id.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"event: message\ndata: ");
    out.extend_from_slice(data);
    out.extend_from_slice(b"\n\n");
    Bytes::from(out)
}

/// The priming event of a resumable stream (SEP-1699): an id to resume from, the
/// reconnection delay, and empty data.
pub fn sse_priming(id: &str, retry_ms: u64) -> Bytes {
    Bytes::from(format!("id: {id}\nretry: {retry_ms}\ndata: \n\n"))
}

pub fn sse_retry(retry_ms: u64) -> Bytes {
    Bytes::from(format!("retry: {retry_ms}\n\n"))
}

pub const SSE_KEEPALIVE: &[u8] = b":\n\n";
