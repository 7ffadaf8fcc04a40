//! `subscriptions/listen` (2026-07-28): one long-lived request that carries notifications.

use serde::{Deserialize, Serialize};

/// Which notifications a listener wants. Everything is opt-in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubscriptionFilter {
    /// `toolsListChanged`: send `notifications/tools/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools_list_changed: Option<bool>,
    /// `promptsListChanged`: send `notifications/prompts/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts_list_changed: Option<bool>,
    /// `resourcesListChanged`: send `notifications/resources/list_changed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources_list_changed: Option<bool>,
    /// `resourceSubscriptions`: the URIs whose `notifications/resources/updated` to send.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_subscriptions: Option<Vec<String>>,
}

/// `subscriptions/listen` params.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct ListenParams {
    /// The notifications wanted; none when absent.
    #[serde(default)]
    pub notifications: SubscriptionFilter,
}

/// `notifications/subscriptions/acknowledged` params: the subset the server honours.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AcknowledgedParams {
    /// The notifications the stream will carry.
    pub notifications: SubscriptionFilter,
}
