//! Where the messages of one request go besides its response: progress, logs and
//! server-to-client requests. HTTP gives an SSE stream, WebSocket `@connections`, stdio
//! the process's stdout.

use async_trait::async_trait;

/// The receiving side is gone (stream closed, connection dead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("outbound channel closed: {0}")]
pub struct OutboundClosed(pub String);

#[async_trait]
pub trait Outbound: Send + Sync {
    /// Sends one encoded JSON-RPC message.
    async fn send(&self, message: Vec<u8>) -> Result<(), OutboundClosed>;

    /// Ends the client's connection now and lets it resume later (SSE polling, SEP-1699):
    /// what is sent afterwards is kept for the resumed stream. A long request on a platform
    /// with connection time limits (Lambda) uses this. `false` if the transport cannot.
    async fn detach(&self, _retry: std::time::Duration) -> bool {
        false
    }
}

/// Delivers messages that belong to no request (resource updates, list changes) to a
/// [`DeliveryTarget`](crate::state::DeliveryTarget): a bus channel, or a WebSocket
/// connection through `@connections`.
#[async_trait]
pub trait ConnectionSink: Send + Sync {
    /// Posts to a WebSocket connection. `Err` means the connection is gone (`410 Gone`).
    async fn post(&self, connection_id: &str, message: Vec<u8>) -> Result<(), OutboundClosed>;
}

/// An outbound that drops everything: for requests whose transport has no side channel.
pub struct Discard;

#[async_trait]
impl Outbound for Discard {
    async fn send(&self, _message: Vec<u8>) -> Result<(), OutboundClosed> {
        Ok(())
    }
}
