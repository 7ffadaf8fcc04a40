//! Tasks (the tasks extension): one record per task, read strongly and replaced under a
//! version, so that whichever instance serves `tasks/get`, `tasks/update` or `tasks/cancel`
//! sees the last write, and a worker finishing a task cannot overwrite a cancellation.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use mcp_protocol::model::tasks::{DetailedTask, TaskInfo, iso8601};
use mcp_protocol::model::{InputRequest, TaskStatus};

use super::{StateError, StateResult, now_ms};

/// A task as the stores keep it: what runs (server, tool, arguments, the capabilities the
/// creating request declared), where it is, and what it produced.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The task's id: random, unguessable.
    pub id: String,
    /// The server (its registry name) whose tool runs.
    pub server: String,
    /// The principal that created the task: only it may read, update or cancel it.
    pub principal: Option<String>,
    /// The tool.
    pub tool: String,
    /// The tool's arguments.
    pub arguments: Value,
    /// The client capabilities of the request that created the task (its input requests are
    /// checked against them).
    pub capabilities: Value,
    /// Where the task is.
    pub status: TaskStatus,
    /// What it is doing, for people.
    pub status_message: Option<String>,
    /// When it was created.
    pub created_at_ms: u64,
    /// When it last changed.
    pub updated_at_ms: u64,
    /// Its lifetime from creation; it is gone after `created_at_ms + ttl_ms`.
    pub ttl_ms: u64,
    /// The input requests it waits on, while `input_required`.
    pub input_requests: BTreeMap<String, InputRequest>,
    /// Every answer given so far, by key: a rerun of the work finds them.
    pub answers: BTreeMap<String, Value>,
    /// The `CallToolResult`, once `completed`.
    pub result: Option<Value>,
    /// The JSON-RPC error, once `failed`.
    pub error: Option<Value>,
    /// Bumped by every replace: the condition of the next one.
    pub version: u64,
    /// Who runs the work, while the task is `working`: past its `until_ms` unrenewed, the
    /// runner is taken for dead and the task fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<TaskLease>,
}

/// A run of a task's work, and how long it may go unheard of. The run is named when it is
/// started (at creation, or when the last answer arrives); the runner claims it, once, and
/// renews it while the work goes on. A duplicate start (an asynchronous invoke delivered
/// twice) finds the run claimed and does nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskLease {
    /// The run's id, carried by the event that starts it.
    pub run: String,
    /// The runner that took it (an id of its own, so that of two deliveries of one run that
    /// claim it at once, the one whose write lost can tell), `None` until one has.
    pub claimed_by: Option<String>,
    /// When it lapses unless renewed.
    pub until_ms: u64,
}

impl TaskRecord {
    /// When the record expires.
    pub fn expires_at_ms(&self) -> u64 {
        self.created_at_ms.saturating_add(self.ttl_ms)
    }

    /// The task's state on the wire.
    pub fn info(&self, poll_interval_ms: Option<u64>) -> TaskInfo {
        TaskInfo {
            task_id: self.id.clone(),
            status: self.status,
            status_message: self.status_message.clone(),
            created_at: iso8601(self.created_at_ms),
            last_updated_at: iso8601(self.updated_at_ms),
            ttl_ms: Some(self.ttl_ms),
            poll_interval_ms,
        }
    }

    /// `tasks/get`'s view: the state, with what goes with the status.
    pub fn detailed(&self, poll_interval_ms: Option<u64>) -> DetailedTask {
        DetailedTask {
            info: self.info(poll_interval_ms),
            input_requests: (self.status == TaskStatus::InputRequired).then(|| self.input_requests.clone()),
            result: (self.status == TaskStatus::Completed).then(|| self.result.clone()).flatten(),
            error: (self.status == TaskStatus::Failed)
                .then(|| self.error.clone().and_then(|e| serde_json::from_value(e).ok()))
                .flatten(),
        }
    }
}

/// Where tasks are kept.
#[async_trait]
pub trait TaskStore: Send + Sync {
    /// Writes a new task. Once this returns, a `get` on any instance finds it (the extension
    /// returns a task's handle only when `tasks/get` would succeed).
    async fn create(&self, task: &TaskRecord) -> StateResult<()>;
    /// The live task `id`, read strongly; `None` if there is none or it has expired.
    async fn get(&self, id: &str) -> StateResult<Option<TaskRecord>>;
    /// Replaces the task if its stored version is still `task.version - 1`; `false` when
    /// another write came first (the caller reads again and decides again).
    async fn replace(&self, task: &TaskRecord) -> StateResult<bool>;
    /// The tasks whose lease ran out in `[from_ms, to_ms)`, as their records last said, and
    /// possibly others near it (a store may answer by the minute); the caller reads each again
    /// before it acts: a lease renewed meanwhile is not lapsed.
    async fn stalled(&self, from_ms: u64, to_ms: u64) -> StateResult<Vec<String>>;
}

/// Tasks in this process's memory.
#[derive(Default)]
pub struct MemoryTasks {
    tasks: Mutex<HashMap<String, TaskRecord>>,
}

#[async_trait]
impl TaskStore for MemoryTasks {
    async fn create(&self, task: &TaskRecord) -> StateResult<()> {
        let mut tasks = self.tasks.lock().map_err(|_| StateError::Unavailable("poisoned".into()))?;
        let now = now_ms();
        tasks.retain(|_, t| t.expires_at_ms() > now);
        if tasks.contains_key(&task.id) {
            return Err(StateError::Conflict);
        }
        tasks.insert(task.id.clone(), task.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> StateResult<Option<TaskRecord>> {
        let tasks = self.tasks.lock().map_err(|_| StateError::Unavailable("poisoned".into()))?;
        Ok(tasks.get(id).filter(|t| t.expires_at_ms() > now_ms()).cloned())
    }

    async fn replace(&self, task: &TaskRecord) -> StateResult<bool> {
        let mut tasks = self.tasks.lock().map_err(|_| StateError::Unavailable("poisoned".into()))?;
        match tasks.get_mut(&task.id) {
            Some(stored) if stored.version + 1 == task.version => {
                *stored = task.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn stalled(&self, from_ms: u64, to_ms: u64) -> StateResult<Vec<String>> {
        let tasks = self.tasks.lock().map_err(|_| StateError::Unavailable("poisoned".into()))?;
        let lapsed = |t: &TaskRecord| t.lease.as_ref().is_some_and(|l| (from_ms..to_ms).contains(&l.until_ms));
        Ok(tasks.values().filter(|t| lapsed(t)).map(|t| t.id.clone()).collect())
    }
}
