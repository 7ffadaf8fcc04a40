//! What a handler may announce beyond its own request: that a resource changed, or that
//! one of the lists clients follow did. Handlers see only this interface; the router's
//! [`Notifier`](crate::Notifier) implements it by fanning the notification out to every
//! subscriber, on whichever instance holds the subscriber's stream.

use async_trait::async_trait;

use mcp_protocol::model::notifications::{PROMPTS_LIST_CHANGED, RESOURCES_LIST_CHANGED, TOOLS_LIST_CHANGED};

use crate::state::StateResult;

/// The lists whose changes clients can follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// `tools/list`.
    Tools,
    /// `resources/list` and `resources/templates/list`.
    Resources,
    /// `prompts/list`.
    Prompts,
}

impl ListKind {
    /// The topic of this list's changes on `server`.
    pub fn topic(self, server: &str) -> String {
        let list = match self {
            ListKind::Tools => "tools",
            ListKind::Resources => "resources",
            ListKind::Prompts => "prompts",
        };
        format!("{server}/list:{list}")
    }

    /// The `list_changed` notification's method.
    pub fn method(self) -> &'static str {
        match self {
            ListKind::Tools => TOOLS_LIST_CHANGED,
            ListKind::Resources => RESOURCES_LIST_CHANGED,
            ListKind::Prompts => PROMPTS_LIST_CHANGED,
        }
    }
}

/// Notifications that belong to no request. Each returns how many subscribers it reached.
#[async_trait]
pub trait Notifications: Send + Sync {
    /// Sends `notifications/resources/updated` to everyone subscribed to `uri`.
    async fn resource_updated(&self, uri: &str) -> StateResult<usize>;

    /// Sends `notifications/resources/updated` to the subscribers of `uri` who are
    /// `principal`: for a resource whose content is the principal's own (a value in its
    /// [`Store`](crate::Store) scope), which other principals' subscriptions do not see.
    async fn resource_updated_for(&self, uri: &str, principal: Option<&str>) -> StateResult<usize>;

    /// Sends the `list_changed` notification of a list to everyone following it.
    async fn list_changed(&self, kind: ListKind) -> StateResult<usize>;
}
