//! The tasks extension (`io.modelcontextprotocol/tasks`, SEP-2663, 2026-07-28): a
//! `tools/call` the server turns into a task answers at once with the task's handle
//! (`resultType: "task"`); the client follows it with `tasks/get`, answers its input
//! requests with `tasks/update` and may stop it with `tasks/cancel`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::input::{InputRequest, InputResponses};
use crate::ErrorObject;

/// The extension's identifier, under `extensions` in the client's and the server's
/// capabilities.
pub const TASKS_EXTENSION: &str = "io.modelcontextprotocol/tasks";

/// Where a task is. `working` and `input_required` may alternate; the other three are final.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TaskStatus {
    /// `working`: the work runs.
    Working,
    /// `input_required`: the work waits for answers to its `inputRequests`.
    InputRequired,
    /// `completed`: the tool ran to its result (which may be a tool error, `isError`).
    Completed,
    /// `failed`: the request failed with a protocol error, inlined as `error`.
    Failed,
    /// `cancelled`: the client cancelled the task before it finished.
    Cancelled,
}

impl TaskStatus {
    /// Whether the task has finished: no later status replaces this one.
    pub fn is_terminal(self) -> bool {
        matches!(self, TaskStatus::Completed | TaskStatus::Failed | TaskStatus::Cancelled)
    }
}

/// A task's state as both its handle (the `tools/call` result) and `tasks/get` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskInfo {
    /// `taskId`: the task's unguessable id.
    pub task_id: String,
    /// `status`.
    pub status: TaskStatus,
    /// `statusMessage`: what the task is doing, for people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
    /// `createdAt`: ISO 8601, UTC.
    pub created_at: String,
    /// `lastUpdatedAt`: ISO 8601, UTC.
    pub last_updated_at: String,
    /// `ttlMs`: how long after its creation the task is kept; `null` for no bound. Always
    /// written, as the extension requires.
    pub ttl_ms: Option<u64>,
    /// `pollIntervalMs`: how often the client should poll `tasks/get`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub poll_interval_ms: Option<u64>,
}

/// The result of `tasks/get`: the task's state, and what goes with it: its pending input
/// requests while `input_required`, its result once `completed`, its error once `failed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetailedTask {
    /// The task's state.
    #[serde(flatten)]
    pub info: TaskInfo,
    /// `inputRequests`, while `input_required`: keyed as the answers must be.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_requests: Option<BTreeMap<String, InputRequest>>,
    /// `result`, once `completed`: the tool's `CallToolResult`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
    /// `error`, once `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorObject>,
}

/// Params of `tasks/get` and `tasks/cancel`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskIdParams {
    /// `taskId`.
    pub task_id: String,
}

/// Params of `tasks/update`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateTaskParams {
    /// `taskId`.
    pub task_id: String,
    /// `inputResponses`: answers keyed like the task's `inputRequests`; keys the task did not
    /// ask (or no longer asks) are ignored.
    #[serde(default)]
    pub input_responses: InputResponses,
}

/// A time in milliseconds since the Unix epoch as ISO 8601 in UTC with milliseconds
/// (`2026-12-07T04:40:00.000Z`), without a calendar library.
pub fn iso8601(ms: u64) -> String {
    let secs = ms / 1000;
    let (days, rest) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3600,
        rest % 3600 / 60,
        rest % 60,
        ms % 1000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso_8601_in_utc() {
        assert_eq!(iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(iso8601(1_796_618_400_123), "2026-12-07T04:40:00.123Z");
    }

    #[test]
    fn a_handle_always_carries_its_ttl_even_when_unbounded() {
        let info = TaskInfo {
            task_id: "t".into(),
            status: TaskStatus::InputRequired,
            status_message: None,
            created_at: iso8601(0),
            last_updated_at: iso8601(0),
            ttl_ms: None,
            poll_interval_ms: None,
        };
        let json = serde_json::to_value(&info).unwrap();
        assert_eq!(json["ttlMs"], Value::Null);
        assert_eq!(json["status"], "input_required");
        assert!(json.get("pollIntervalMs").is_none());
    }
}
