//! WebSocket connections (`conn#<id>`). Each item also carries the minute its lifetime ends
//! (`lapse`), the key of the sparse `by-lapse` index, so the sweeper finds the connections
//! to close with one query per minute instead of a scan. Items stay for
//! [`LAPSED_KEPT_MS`] past their expiry (reads ignore them at once) so that DynamoDB's TTL
//! cannot remove one before the sweeper has closed it.

use async_trait::async_trait;

use mcp_server::state::{ConnectionRecord, ConnectionStore, LAPSED_KEPT_MS, StateResult};

use crate::DynamoState;
use crate::error::state_error;
use crate::item::{DATA, EXP, PK, TTL, data, get_s, item, n, record, s};
use crate::schema::{BY_LAPSE, LAPSE};

const CONNECTION: &str = "conn";
const MINUTE_MS: u64 = 60_000;

fn connection_pk(id: &str) -> String {
    format!("conn#{id}")
}

fn lapse_bucket(minute: u64) -> String {
    format!("minute#{minute}")
}

#[async_trait]
impl ConnectionStore for DynamoState {
    async fn put(&self, connection: &ConnectionRecord) -> StateResult<()> {
        let mut i = item(connection_pk(&connection.id), CONNECTION, connection.expires_at_ms);
        i.insert(DATA.into(), data(connection)?);
        i.insert(LAPSE.into(), s(lapse_bucket(connection.expires_at_ms / MINUTE_MS)));
        i.insert(TTL.into(), n((connection.expires_at_ms + LAPSED_KEPT_MS).div_ceil(1000)));
        self.call().put_item().table_name(&*self.table).set_item(Some(i)).send().await.map_err(state_error)?;
        Ok(())
    }

    async fn get(&self, id: &str) -> StateResult<Option<ConnectionRecord>> {
        match self.get_live(connection_pk(id), CONNECTION).await? {
            Some(item) => record(&item).map(Some),
            None => Ok(None),
        }
    }

    async fn delete(&self, id: &str) -> StateResult<bool> {
        self.delete_existing(connection_pk(id), CONNECTION).await
    }

    async fn lapsed(&self, from_ms: u64, to_ms: u64) -> StateResult<Vec<String>> {
        if to_ms <= from_ms {
            return Ok(Vec::new());
        }
        // One query per minute of the window, all at once: a run costs one round trip.
        let minutes = from_ms / MINUTE_MS..=(to_ms - 1) / MINUTE_MS;
        let pages = futures_util::future::try_join_all(minutes.map(|m| self.lapsed_in(m, from_ms, to_ms))).await?;
        Ok(pages.into_iter().flatten().collect())
    }
}

impl DynamoState {
    /// The connections of one minute bucket whose expiry is in `[from_ms, to_ms)`.
    async fn lapsed_in(&self, minute: u64, from_ms: u64, to_ms: u64) -> StateResult<Vec<String>> {
        let query = self
            .call()
            .query()
            .table_name(&*self.table)
            .index_name(BY_LAPSE)
            .key_condition_expression("#l = :l AND #e BETWEEN :from AND :last")
            .expression_attribute_names("#l", LAPSE)
            .expression_attribute_names("#e", EXP)
            .expression_attribute_values(":l", s(lapse_bucket(minute)))
            .expression_attribute_values(":from", n(from_ms))
            .expression_attribute_values(":last", n(to_ms - 1));
        let rows = crate::query_all(query).await?;
        Ok(rows.iter().filter_map(|row| get_s(row, PK)?.strip_prefix("conn#").map(str::to_owned)).collect())
    }
}
