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
