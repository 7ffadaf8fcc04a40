//! The `@connections` emulator: which WebSocket each connection id is, so that any instance
//! can post to any connection (as `PostToConnection` does on AWS). `410 Gone` is an unknown
//! or closed connection.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{Notify, mpsc};

use mcp_server::{ConnectionSink, PostError};

/// What the socket writer of a connection receives.
pub enum Frame {
    Text(String),
    Close,
    /// API Gateway's close when a connection was idle too long or reached its lifetime:
    /// 1001 (going away).
    GoingAway,
}

/// One open connection: its writer's queue, and a switch that ends it.
struct Open {
    tx: mpsc::Sender<Frame>,
    kill: Arc<Notify>,
}

pub struct LocalConnections {
    open: Mutex<HashMap<String, Open>>,
    access_key: String,
}

impl Default for LocalConnections {
    fn default() -> Self {
        let access_key = format!("MCPLOCAL{}", mcp_server::ids::random_id().to_ascii_uppercase());
        LocalConnections { open: Mutex::new(HashMap::new()), access_key }
    }
}

impl LocalConnections {
    /// The access key id a `@connections` call must be signed with: random to this gateway,
    /// given to its own instances (and printed for the user), so that another process on the
    /// machine cannot post to or close the gateway's connections.
    pub fn access_key(&self) -> &str {
        &self.access_key
    }

    /// Whether a request's SigV4 `Authorization` names this gateway's access key.
    pub fn admits(&self, authorization: Option<&str>) -> bool {
        let key = authorization.and_then(signing_key);
        key.is_some_and(|k| constant_time_eq(k.as_bytes(), self.access_key.as_bytes()))
    }

    /// Registers a connection; `kill` is notified when the gateway drops it.
    pub fn register(&self, id: &str, tx: mpsc::Sender<Frame>, kill: Arc<Notify>) {
        if let Ok(mut open) = self.open.lock() {
            open.insert(id.to_owned(), Open { tx, kill });
        }
    }

    pub fn remove(&self, id: &str) {
        if let Ok(mut open) = self.open.lock() {
            open.remove(id);
        }
    }

    pub fn sender(&self, id: &str) -> Option<mpsc::Sender<Frame>> {
        self.open.lock().ok().and_then(|open| open.get(id).map(|o| o.tx.clone()))
    }

    /// Ends a connection from the server side (its client stopped reading).
    fn drop_connection(&self, id: &str) {
        let removed = self.open.lock().ok().and_then(|mut open| open.remove(id));
        if let Some(o) = removed {
            o.kill.notify_one();
        }
    }

    pub fn is_open(&self, id: &str) -> bool {
        self.sender(id).is_some_and(|tx| !tx.is_closed())
    }

    /// `DeleteConnection`: closes the socket. A client whose queue stays full (it does not
    /// read) is dropped without a close handshake, so a close never waits on it for long.
    pub async fn close(&self, id: &str) -> bool {
        let Some(tx) = self.sender(id) else { return false };
        match tokio::time::timeout(POST_TIMEOUT, tx.send(Frame::Close)).await {
            Ok(sent) => sent.is_ok(),
            Err(_) => {
                self.drop_connection(id);
                true
            }
        }
    }
}

/// The access key id of a SigV4 `Authorization` header
/// (`AWS4-HMAC-SHA256 Credential=KEY/DATE/REGION/SERVICE/aws4_request, ...`).
pub fn signing_key(authorization: &str) -> Option<&str> {
    let credential = authorization.strip_prefix("AWS4-HMAC-SHA256 ")?.split("Credential=").nth(1)?;
    credential.split('/').next().filter(|k| !k.is_empty())
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How long a post waits for room in a connection's queue. A client that does not read for
/// this long is dropped, as API Gateway drops connections it cannot deliver to.
const POST_TIMEOUT: Duration = Duration::from_secs(5);

#[async_trait]
impl ConnectionSink for LocalConnections {
    async fn post(&self, connection_id: &str, message: Vec<u8>) -> Result<(), PostError> {
        let gone = || PostError::Gone(format!("410 Gone: {connection_id}"));
        let tx = self.sender(connection_id).ok_or_else(gone)?;
        let text = String::from_utf8(message).map_err(|_| PostError::Failed("message is not UTF-8".into()))?;
        match tokio::time::timeout(POST_TIMEOUT, tx.send(Frame::Text(text))).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(gone()),
            Err(_) => {
                tracing::warn!(connection = connection_id, "client does not read; dropping the connection");
                self.drop_connection(connection_id);
                Err(gone())
            }
        }
    }

    async fn close(&self, connection_id: &str) -> Result<(), PostError> {
        if LocalConnections::close(self, connection_id).await {
            Ok(())
        } else {
            Err(PostError::Gone(format!("410 Gone: {connection_id}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{LocalConnections, signing_key};

    fn signed(key: &str) -> String {
        format!(
            "AWS4-HMAC-SHA256 Credential={key}/20261207/us-east-1/execute-api/aws4_request, SignedHeaders=host, Signature=0"
        )
    }

    #[test]
    fn only_calls_signed_with_the_gateways_key_are_admitted() {
        let connections = LocalConnections::default();
        assert!(connections.admits(Some(&signed(connections.access_key()))));
        assert!(!connections.admits(Some(&signed("AKIDEXAMPLE"))));
        assert!(!connections.admits(Some(&signed(""))));
        assert!(!connections.admits(Some("Bearer x")));
        assert!(!connections.admits(None));
        assert_ne!(connections.access_key(), LocalConnections::default().access_key(), "a key per gateway");
        assert_eq!(signing_key(&signed("K")), Some("K"));
    }
}
