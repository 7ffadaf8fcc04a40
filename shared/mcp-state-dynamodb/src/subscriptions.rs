//! Subscription rows. A row lives under its topic's partition (`topic#<topic>#<shard>`, the
//! shard chosen by the subscriber id) so a publisher queries `shards` partitions to fan out;
//! the `by-subscriber` index finds every row of one subscriber for cleanup and limits.

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{ReturnValue, Select};

use mcp_server::state::{StateResult, Subscriber, SubscriptionStore, now_ms};

use crate::DynamoState;
use crate::error::state_error;
use crate::item::{DATA, EXP, Item, PK, SK, data, get_s, item, key, live, n, record, s};
use crate::schema::{BY_SUBSCRIBER, SUBSCRIBER, TOPIC};

/// FNV-1a: a stable hash, the same on every instance and every build.
fn shard_of(subscriber_id: &str, shards: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in subscriber_id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % shards
}

fn topic_pk(topic: &str, shard: u32) -> String {
    format!("topic#{topic}#{shard}")
}

fn row_sk(subscriber_id: &str) -> String {
    format!("sub#{subscriber_id}")
}

impl DynamoState {
    fn row_pk(&self, topic: &str, subscriber_id: &str) -> String {
        topic_pk(topic, shard_of(subscriber_id, self.shards))
    }

    /// Every row (keys and expiry) of one subscriber, through the index.
    async fn rows_of(&self, subscriber_id: &str) -> StateResult<Vec<Item>> {
        let query = self
            .call()
            .query()
            .table_name(&*self.table)
            .index_name(BY_SUBSCRIBER)
            .key_condition_expression("#s = :s")
            .expression_attribute_names("#s", SUBSCRIBER)
            .expression_attribute_values(":s", s(subscriber_id));
        crate::query_all(query).await
    }
}

#[async_trait]
impl SubscriptionStore for DynamoState {
    async fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> StateResult<()> {
        let mut i = item(self.row_pk(topic, &subscriber.id), &row_sk(&subscriber.id), subscriber.expires_at_ms);
        i.insert(DATA.into(), data(subscriber)?);
        i.insert(SUBSCRIBER.into(), s(&subscriber.id));
        i.insert(TOPIC.into(), s(topic));
        self.call().put_item().table_name(&*self.table).set_item(Some(i)).send().await.map_err(state_error)?;
        Ok(())
    }

    async fn unsubscribe(&self, topic: &str, subscriber_id: &str) -> StateResult<bool> {
        let r = self
            .call()
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key(self.row_pk(topic, subscriber_id), &row_sk(subscriber_id))))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(state_error)?;
        Ok(r.attributes.is_some_and(|a| !a.is_empty()))
    }

    async fn remove_subscriber(&self, subscriber_id: &str) -> StateResult<usize> {
        let rows = self.rows_of(subscriber_id).await?;
        let mut removed = 0;
        for row in rows {
            let (Some(pk), Some(sk)) = (get_s(&row, PK), get_s(&row, SK)) else { continue };
            self.call()
                .delete_item()
                .table_name(&*self.table)
                .set_key(Some(key(pk.to_owned(), sk)))
                .send()
                .await
                .map_err(state_error)?;
            removed += 1;
        }
        Ok(removed)
    }

    async fn subscribers(&self, topic: &str) -> StateResult<Vec<Subscriber>> {
        let mut out = Vec::new();
        for shard in 0..self.shards {
            let mut start = None;
            loop {
                let page = self
                    .call()
                    .query()
                    .table_name(&*self.table)
                    .key_condition_expression("#pk = :pk")
                    .filter_expression("#exp > :now")
                    .expression_attribute_names("#pk", PK)
                    .expression_attribute_names("#exp", EXP)
                    .expression_attribute_values(":pk", s(topic_pk(topic, shard)))
                    .expression_attribute_values(":now", n(now_ms()))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(state_error)?;
                for row in page.items.unwrap_or_default() {
                    if live(&row) {
                        out.push(record(&row)?);
                    }
                }
                start = page.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(out)
    }

    async fn count_for(&self, subscriber_id: &str) -> StateResult<usize> {
        let mut count = 0usize;
        let mut start = None;
        loop {
            let page = self
                .call()
                .query()
                .table_name(&*self.table)
                .index_name(BY_SUBSCRIBER)
                .select(Select::Count)
                .key_condition_expression("#s = :s")
                .filter_expression("#exp > :now")
                .expression_attribute_names("#s", SUBSCRIBER)
                .expression_attribute_names("#exp", EXP)
                .expression_attribute_values(":s", s(subscriber_id))
                .expression_attribute_values(":now", n(now_ms()))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(state_error)?;
            count += usize::try_from(page.count).unwrap_or(0);
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok(count);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(super::shard_of("conn-1", 8), super::shard_of("conn-1", 8));
        let used: std::collections::HashSet<_> = (0..200).map(|i| super::shard_of(&format!("c{i}"), 8)).collect();
        assert_eq!(used.len(), 8);
    }
}
