//! Where the messages of one request go besides its response: progress, logs and
//! server-to-client requests. HTTP gives an SSE stream, WebSocket `@connections`, stdio
//! the process's stdout.

use async_trait::async_trait;

/// The receiving side is gone (stream closed, connection dead).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("outbound channel closed: {0}")]
pub struct OutboundClosed(pub String);

/// The side channel of one request, which its transport edge provides: progress, logs and
/// server-to-client requests go here while the response waits for the handler.
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

/// Why a post to a WebSocket connection failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    /// The connection no longer exists (`410 Gone`): forget it.
    #[error("connection gone: {0}")]
    Gone(String),
    /// The post failed for another reason (throttling, network): the connection may live.
    #[error("post failed: {0}")]
    Failed(String),
}

/// Posts to WebSocket connections through `@connections` (`PostToConnection`), from any
/// instance.
#[async_trait]
pub trait ConnectionSink: Send + Sync {
    /// Sends one encoded JSON-RPC message to the connection (`PostToConnection`);
    /// [`PostError::Gone`] means the connection is no more and what is kept for it can go.
    async fn post(&self, connection_id: &str, message: Vec<u8>) -> Result<(), PostError>;

    /// Closes the connection (`DeleteConnection`), e.g. when its token has expired.
    async fn close(&self, connection_id: &str) -> Result<(), PostError>;
}

/// An outbound that drops everything: for requests whose transport has no side channel.
pub struct Discard;

#[async_trait]
impl Outbound for Discard {
    async fn send(&self, _message: Vec<u8>) -> Result<(), OutboundClosed> {
        Ok(())
    }
}
