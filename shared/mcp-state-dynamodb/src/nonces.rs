//! Single-use nonces (`nonce#<n>`): one conditional put decides the one winner.

use async_trait::async_trait;

use mcp_server::state::{NonceStore, StateResult, now_ms};

use crate::DynamoState;
use crate::error::{condition_failed, state_error};
use crate::item::{EXP, PK, item, n};

#[async_trait]
impl NonceStore for DynamoState {
    async fn consume(&self, nonce: &str, expires_at_ms: u64) -> StateResult<bool> {
        let r = self
            .call()
            .put_item()
            .table_name(&*self.table)
            .set_item(Some(item(format!("nonce#{nonce}"), "nonce", expires_at_ms)))
            .condition_expression("attribute_not_exists(#pk) OR #exp <= :now")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#exp", EXP)
            .expression_attribute_values(":now", n(now_ms()))
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(state_error(e)),
        }
    }
}
