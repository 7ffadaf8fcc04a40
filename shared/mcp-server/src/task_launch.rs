//! Where a task's work runs. In a process that runs on after its responses (the local
//! gateway, stdio, a container), the router spawns it. On Lambda an environment is frozen
//! once its response is sent, so the work runs in an invocation of its own: a
//! [`TaskLauncher`] starts one (an asynchronous invoke of the worker function) with the
//! [`TaskRun`] it is to carry out, and the worker hands that to [`Router::run_task`].
//!
//! [`Router::run_task`]: crate::Router::run_task

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// One run of a task's work: the event a worker is started with.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskRun {
    /// The task.
    pub task_id: String,
    /// The run's id, as the task's lease names it: a run already claimed (an event
    /// delivered twice) or replaced (the task moved on) is not run again.
    pub run: String,
}

/// Starts a task's run somewhere that outlives the request that asked for it.
#[async_trait]
pub trait TaskLauncher: Send + Sync + std::fmt::Debug {
    /// Hands `run` to a worker. Returns once it is accepted (an asynchronous invoke queued);
    /// the run itself goes on without the caller. An accepted run may still never start (an
    /// event dropped after waiting too long): its unclaimed lease lapses, and the task fails.
    async fn launch(&self, run: &TaskRun) -> Result<(), String>;
}
