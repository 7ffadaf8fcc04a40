//! Tasks (`task#<id>`): the record as JSON with its version beside it. A create is a
//! conditional put (a task id is never reused while its task lives); a read is strongly
//! consistent (a handle is returned only once `tasks/get` anywhere finds the task, and a
//! read after `tasks/update` sees the update); a replace is conditional on the version the
//! writer read, so a finishing worker cannot overwrite a cancellation.

use async_trait::async_trait;

use mcp_server::state::{StateError, StateResult, TaskRecord, TaskStore};

use crate::DynamoState;
use crate::error::written;
use crate::item::{DATA, PK, data, get_n, item, n, record};

const TASK: &str = "task";
/// The record's version, beside it: the condition of the next replace.
const VERSION: &str = "v";

fn task_pk(id: &str) -> String {
    format!("task#{id}")
}

fn task_item(task: &TaskRecord) -> StateResult<crate::item::Item> {
    let mut i = item(task_pk(&task.id), TASK, task.expires_at_ms());
    i.insert(DATA.into(), data(task)?);
    i.insert(VERSION.into(), n(task.version));
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
}
