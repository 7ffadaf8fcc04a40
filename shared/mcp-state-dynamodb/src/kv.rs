//! Application data: one partition per scope (`kv#<scope>`, sorted by key so that prefixes
//! list in order), so that each principal's data is its own partition and no one scope's
//! traffic lands on another's. Beside each value, a marker item in `kvkeys#<scope>` holds
//! the key alone: listing and counting a scope's keys (the bound on how many it may hold)
//! reads markers of a few dozen bytes, not values of up to 64 KiB (a Query is billed by the
//! size of what it reads). Items with a lifetime carry the table's expiry attributes: reads
//! filter on `exp`, DynamoDB's TTL deletes them later.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::AttributeValue;

use mcp_server::state::{KvStore, StateResult, now_ms};

use crate::DynamoState;
use crate::error::state_error;
use crate::item::{EXP, Item, PK, SK, TTL, get_n, get_s, key, n, s};

const VALUE: &str = "value";

fn partition(scope: &str) -> String {
    format!("kv#{scope}")
}

fn markers(scope: &str) -> String {
    format!("kvkeys#{scope}")
}

/// Whether an item is not past its expiry (items without one never expire).
fn unexpired(item: &Item) -> bool {
    get_n(item, EXP).is_none_or(|exp| exp > now_ms())
}

fn with_expiry(mut item: Item, expires_at_ms: Option<u64>) -> Item {
    if let Some(exp) = expires_at_ms {
        item.insert(EXP.into(), n(exp));
        item.insert(TTL.into(), n(exp.div_ceil(1000)));
    }
    item
}

#[async_trait]
impl KvStore for DynamoState {
    async fn get(&self, scope: &str, k: &str) -> StateResult<Option<Vec<u8>>> {
        let r = self
            .call()
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(key(partition(scope), k)))
            .consistent_read(true)
            .send()
            .await;
        Ok(r.map_err(state_error)?.item.filter(unexpired).and_then(|i| match i.get(VALUE) {
            Some(AttributeValue::B(b)) => Some(b.clone().into_inner()),
            _ => None,
        }))
    }

    async fn put(&self, scope: &str, k: &str, value: &[u8], expires_at_ms: Option<u64>) -> StateResult<()> {
        // The marker first: a value is never there without its marker (a marker without its
        // value, if the second write fails, lists a key whose get is empty until rewritten).
        let marker = with_expiry(key(markers(scope), k), expires_at_ms);
        self.call().put_item().table_name(&*self.table).set_item(Some(marker)).send().await.map_err(state_error)?;
        let mut i = with_expiry(key(partition(scope), k), expires_at_ms);
        i.insert(VALUE.into(), AttributeValue::B(value.to_vec().into()));
        self.call().put_item().table_name(&*self.table).set_item(Some(i)).send().await.map_err(state_error)?;
        Ok(())
    }

    async fn delete(&self, scope: &str, k: &str) -> StateResult<bool> {
        let old = self.delete_returning(partition(scope), k).await?;
        self.call()
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key(markers(scope), k)))
            .send()
            .await
            .map_err(state_error)?;
        Ok(old.is_some_and(|a| unexpired(&a)))
    }

    async fn keys(&self, scope: &str, prefix: &str, limit: usize) -> StateResult<Vec<String>> {
        let mut keys = Vec::new();
        let mut start = None;
        while keys.len() < limit {
            // DynamoDB refuses an empty string in a key condition: no prefix, no begins_with.
            let query = match prefix {
                "" => self.call().query().key_condition_expression("#pk = :pk"),
                _ => self
                    .call()
                    .query()
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :p)")
                    .expression_attribute_values(":p", s(prefix)),
            };
            let page = query
                .table_name(&*self.table)
                .filter_expression("attribute_not_exists(#exp) OR #exp > :now")
                .projection_expression("#sk, #exp")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#sk", SK)
                .expression_attribute_names("#exp", EXP)
                .expression_attribute_values(":pk", s(markers(scope)))
                .expression_attribute_values(":now", n(now_ms()))
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
