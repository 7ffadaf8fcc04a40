//! Logging: levels, `logging/setLevel` (session era), `notifications/message`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Syslog severities (RFC 5424), least severe first so that `>=` means "at least as severe".
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoggingLevel {
    Debug,
    Info,
    Notice,
    Warning,
    Error,
    Critical,
    Alert,
    Emergency,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SetLevelParams {
    pub level: LoggingLevel,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LoggingMessageParams {
    pub level: LoggingLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logger: Option<String>,
    pub data: Value,
}
