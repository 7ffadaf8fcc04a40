//! Request method names a server receives.

pub const INITIALIZE: &str = "initialize";
pub const PING: &str = "ping";
pub const DISCOVER: &str = "server/discover";
pub const LOGGING_SET_LEVEL: &str = "logging/setLevel";
pub const TOOLS_LIST: &str = "tools/list";
pub const TOOLS_CALL: &str = "tools/call";
pub const RESOURCES_LIST: &str = "resources/list";
pub const RESOURCES_TEMPLATES_LIST: &str = "resources/templates/list";
pub const RESOURCES_READ: &str = "resources/read";
pub const RESOURCES_SUBSCRIBE: &str = "resources/subscribe";
pub const RESOURCES_UNSUBSCRIBE: &str = "resources/unsubscribe";
pub const PROMPTS_LIST: &str = "prompts/list";
pub const PROMPTS_GET: &str = "prompts/get";
pub const COMPLETION_COMPLETE: &str = "completion/complete";
pub const SUBSCRIPTIONS_LISTEN: &str = "subscriptions/listen";

/// Every method a server serves, requests and the client's notifications: the names metrics
/// may carry.
const SERVED: &[&str] = &[
    INITIALIZE,
    PING,
    DISCOVER,
    LOGGING_SET_LEVEL,
    TOOLS_LIST,
    TOOLS_CALL,
    RESOURCES_LIST,
    RESOURCES_TEMPLATES_LIST,
    RESOURCES_READ,
    RESOURCES_SUBSCRIBE,
    RESOURCES_UNSUBSCRIBE,
    PROMPTS_LIST,
    PROMPTS_GET,
    COMPLETION_COMPLETE,
    SUBSCRIPTIONS_LISTEN,
    crate::model::notifications::INITIALIZED,
    crate::model::notifications::CANCELLED,
    crate::model::notifications::ROOTS_LIST_CHANGED,
];

/// What a metric may call `method`: itself when it is a method this server knows, `other`
/// when it is anything else a client sent, so that a client cannot mint a metric dimension
/// (and a CloudWatch custom metric, billed each) per string it makes up.
pub fn metric_name(method: &str) -> &'static str {
    SERVED.iter().find(|known| **known == method).copied().unwrap_or("other")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_names_known_methods_and_calls_everything_else_other() {
        assert_eq!(metric_name(TOOLS_CALL), "tools/call");
        assert_eq!(metric_name("notifications/initialized"), "notifications/initialized");
        assert_eq!(metric_name("tools/call-1f3a9"), "other");
        assert_eq!(metric_name(""), "other");
    }
}
