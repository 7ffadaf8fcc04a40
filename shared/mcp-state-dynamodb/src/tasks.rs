//! Tasks (`task#<id>`): the record as JSON with its version beside it. A create is a
//! conditional put (a task id is never reused while its task lives); a read is strongly
//! consistent (a handle is returned only once `tasks/get` anywhere finds the task, and a
//! read after `tasks/update` sees the update); a replace is conditional on the version the
//! writer read, so a finishing worker cannot overwrite a cancellation.
//!
//! A task whose work runs carries the minute its runner's lease lapses (`lapse`, the key of
//! the sparse `by-lapse` index, as connections do): the sweeper finds the tasks whose worker
//! died with one query per minute, not a scan. Every renewal moves it.

use async_trait::async_trait;

use mcp_server::state::{StateError, StateResult, TaskRecord, TaskStore};

use crate::DynamoState;
use crate::error::written;
use crate::item::{DATA, PK, data, get_n, get_s, item, n, record, s};
use crate::schema::{BY_LAPSE, LAPSE};

const TASK: &str = "task";
/// The record's version, beside it: the condition of the next replace.
const VERSION: &str = "v";

fn task_pk(id: &str) -> String {
    format!("task#{id}")
}

const MINUTE_MS: u64 = 60_000;

/// The `by-lapse` partition of the tasks whose lease lapses in `minute`.
fn lease_bucket(minute: u64) -> String {
    format!("task-lease#{minute}")
}

fn task_item(task: &TaskRecord) -> StateResult<crate::item::Item> {
    let mut i = item(task_pk(&task.id), TASK, task.expires_at_ms());
    i.insert(DATA.into(), data(task)?);
    i.insert(VERSION.into(), n(task.version));
    if let Some(lease) = &task.lease {
        i.insert(LAPSE.into(), s(lease_bucket(lease.until_ms / MINUTE_MS)));
    }
    Ok(i)
}

#[async_trait]
impl TaskStore for DynamoState {
    async fn create(&self, task: &TaskRecord) -> StateResult<()> {
        if self.put_unless_live(task_item(task)?).await? { Ok(()) } else { Err(StateError::Conflict) }
    }

    async fn get(&self, id: &str) -> StateResult<Option<TaskRecord>> {
        let Some(item) = self.get_live(task_pk(id), TASK).await? else { return Ok(None) };
        let mut task: TaskRecord = record(&item)?;
        task.version = get_n(&item, VERSION).unwrap_or(task.version);
        Ok(Some(task))
    }

    async fn replace(&self, task: &TaskRecord) -> StateResult<bool> {
        let previous = task.version.checked_sub(1).ok_or(StateError::Conflict)?;
        written(
            self.call()
                .put_item()
                .table_name(&*self.table)
                .set_item(Some(task_item(task)?))
                .condition_expression("attribute_exists(#pk) AND #v = :previous")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#v", VERSION)
                .expression_attribute_values(":previous", n(previous))
                .send()
                .await,
        )
    }

    async fn stalled(&self, from_ms: u64, to_ms: u64) -> StateResult<Vec<String>> {
        if to_ms <= from_ms {
            return Ok(Vec::new());
        }
        // One query per minute of the window, all at once. The index keeps keys only: the
        // caller reads each task (strongly) before it decides.
        let minutes = from_ms / MINUTE_MS..=(to_ms - 1) / MINUTE_MS;
        let pages = futures_util::future::try_join_all(minutes.map(|m| self.stalled_in(m))).await?;
        Ok(pages.into_iter().flatten().collect())
    }
}

impl DynamoState {
    /// The tasks whose lease lapses in `minute`, by the index (eventually consistent).
    async fn stalled_in(&self, minute: u64) -> StateResult<Vec<String>> {
        let query = self
            .call()
            .query()
            .table_name(&*self.table)
            .index_name(BY_LAPSE)
            .key_condition_expression("#l = :l")
            .expression_attribute_names("#l", LAPSE)
            .expression_attribute_values(":l", s(lease_bucket(minute)));
        let rows = crate::query_all(query).await?;
        Ok(rows.iter().filter_map(|row| get_s(row, PK)?.strip_prefix("task#").map(str::to_owned)).collect())
    }
}
