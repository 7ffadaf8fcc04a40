//! Request method names a server receives.

/// `initialize`: opens a session and negotiates its version (2025-11-25 and older).
pub const INITIALIZE: &str = "initialize";
/// `ping`: a liveness check answered with an empty result (session era; removed in 2026-07-28).
pub const PING: &str = "ping";
/// `server/discover` (2026-07-28): the server's supported versions, capabilities and identity.
pub const DISCOVER: &str = "server/discover";
/// `logging/setLevel`: the session's least severe log level to send (session era).
pub const LOGGING_SET_LEVEL: &str = "logging/setLevel";
/// `tools/list`: the tools the server offers, one page per request.
pub const TOOLS_LIST: &str = "tools/list";
/// `tools/call`: runs one tool with the given arguments.
pub const TOOLS_CALL: &str = "tools/call";
/// `resources/list`: the concrete resources the server offers, one page per request.
pub const RESOURCES_LIST: &str = "resources/list";
/// `resources/templates/list`: the URI templates of parameterized resources, one page per request.
pub const RESOURCES_TEMPLATES_LIST: &str = "resources/templates/list";
/// `resources/read`: the contents of one resource.
pub const RESOURCES_READ: &str = "resources/read";
/// `resources/subscribe`: asks for `notifications/resources/updated` on one URI (session era).
pub const RESOURCES_SUBSCRIBE: &str = "resources/subscribe";
/// `resources/unsubscribe`: ends an earlier `resources/subscribe` (session era).
pub const RESOURCES_UNSUBSCRIBE: &str = "resources/unsubscribe";
/// `prompts/list`: the prompts the server offers, one page per request.
pub const PROMPTS_LIST: &str = "prompts/list";
/// `prompts/get`: one prompt, rendered with the given arguments.
pub const PROMPTS_GET: &str = "prompts/get";
/// `completion/complete`: suggested values for a prompt argument or a template variable.
pub const COMPLETION_COMPLETE: &str = "completion/complete";
/// `subscriptions/listen` (2026-07-28): a long-lived request whose stream carries change notifications.
pub const SUBSCRIPTIONS_LISTEN: &str = "subscriptions/listen";
/// `tasks/get` (the tasks extension): a task's state, with its result once it has one.
pub const TASKS_GET: &str = "tasks/get";
/// `tasks/update` (the tasks extension): answers to a task's input requests.
pub const TASKS_UPDATE: &str = "tasks/update";
/// `tasks/cancel` (the tasks extension): asks a task to stop.
pub const TASKS_CANCEL: &str = "tasks/cancel";

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
    TASKS_GET,
    TASKS_UPDATE,
    TASKS_CANCEL,
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
