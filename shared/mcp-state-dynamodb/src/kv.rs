//! Application data (`kv` partition, sorted by key so that prefixes list in order). One
//! partition: meant for the small amounts of data a server keeps itself, not for bulk data.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use mcp_server::state::{KvStore, StateResult};

use crate::DynamoState;
use crate::error::state_error;
use crate::item::{Item, PK, SK, get_s, key, s};

const KV_PK: &str = "kv";
const VALUE: &str = "value";

#[async_trait]
impl KvStore for DynamoState {
    async fn get(&self, k: &str) -> StateResult<Option<Vec<u8>>> {
        let r = self
            .call()
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(key(KV_PK.into(), k)))
            .consistent_read(true)
            .send()
            .await;
        Ok(r.map_err(state_error)?.item.and_then(|i| match i.get(VALUE) {
            Some(AttributeValue::B(b)) => Some(b.clone().into_inner()),
            _ => None,
        }))
    }

    async fn put(&self, k: &str, value: &[u8]) -> StateResult<()> {
        let mut i: Item = key(KV_PK.into(), k);
        i.insert(VALUE.into(), AttributeValue::B(value.to_vec().into()));
        self.call().put_item().table_name(&*self.table).set_item(Some(i)).send().await.map_err(state_error)?;
        Ok(())
    }

    async fn delete(&self, k: &str) -> StateResult<bool> {
        let r = self
            .call()
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key(KV_PK.into(), k)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(state_error)?;
        Ok(r.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn keys(&self, prefix: &str, limit: usize) -> StateResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut start = None;
        while keys.len() < limit {
            let page = self
                .call()
                .query()
                .table_name(&*self.table)
                .key_condition_expression("#pk = :pk AND begins_with(#sk, :p)")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_values(":pk", s(KV_PK))
                .expression_attribute_values(":p", s(prefix))
                .limit(i32::try_from(limit - keys.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(state_error)?;
            keys.extend(page.items.unwrap_or_default().iter().filter_map(|i| get_s(i, SK).map(str::to_owned)));
            start = page.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        keys.truncate(limit);
        Ok(keys)
    }
}
