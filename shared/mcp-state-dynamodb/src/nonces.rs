//! Single-use nonces (`nonce#<n>`): one conditional put decides the one winner.

use async_trait::async_trait;

use mcp_server::state::{NonceStore, StateResult};

use crate::DynamoState;
use crate::item::item;

#[async_trait]
impl NonceStore for DynamoState {
    async fn consume(&self, nonce: &str, expires_at_ms: u64) -> StateResult<bool> {
        self.put_unless_live(item(format!("nonce#{nonce}"), "nonce", expires_at_ms)).await
    }
}
