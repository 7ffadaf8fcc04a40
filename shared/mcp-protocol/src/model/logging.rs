//! Logging: levels, `logging/setLevel` (session era), `notifications/message`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Syslog severities (RFC 5424), least severe first so that `>=` means "at least as severe".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoggingLevel {
    /// `"debug"`: detailed debugging information.
    Debug,
    /// `"info"`: informational messages.
    Info,
    /// `"notice"`: normal but significant events.
    Notice,
    /// `"warning"`: warning conditions.
    Warning,
    /// `"error"`: error conditions.
    Error,
    /// `"critical"`: critical conditions.
    Critical,
    /// `"alert"`: action must be taken immediately.
    Alert,
    /// `"emergency"`: the system is unusable.
    Emergency,
}

/// `logging/setLevel` params (session era).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SetLevelParams {
    /// The least severe level the client wants to receive.
    pub level: LoggingLevel,
}

/// `notifications/message` params: one log entry.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoggingMessageParams {
    /// The entry's severity.
    pub level: LoggingLevel,
    /// The name of the logger that emitted the entry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    /// The entry itself: any JSON value.
    pub data: Value,
}
