//! Argument completion (`completion/complete`) for prompts and resource templates.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What is being completed: a prompt's argument or a resource template's variable.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum CompletionRef {
    /// `ref/prompt`: an argument of a prompt.
    #[serde(rename = "ref/prompt")]
    Prompt {
        /// The prompt's name.
        name: String,
    },
    /// `ref/resource`: a variable of a resource template.
    #[serde(rename = "ref/resource")]
    Resource {
        /// The URI template (or plain URI) of the resource.
        uri: String,
    },
}

/// `argument`: the argument being completed and what has been typed so far.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CompletionArgument {
    /// The argument's or template variable's name.
    pub name: String,
    /// The partial value typed so far.
    pub value: String,
}

/// `context`: values of arguments already resolved, which may narrow the suggestions.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CompletionContext {
    /// Already-resolved argument values, by name; empty when absent.
    #[serde(default)]
    pub arguments: BTreeMap<String, String>,
}

/// `completion/complete` params.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CompleteParams {
    /// `ref`: the prompt or resource template being completed.
    #[serde(rename = "ref")]
    pub reference: CompletionRef,
    /// The argument being completed and its partial value.
    pub argument: CompletionArgument,
    /// Values of other arguments; empty when absent.
    #[serde(default)]
    pub context: CompletionContext,
}

/// The `completion` member of a `completion/complete` result: the suggested values.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Completion {
    /// At most 100 values.
    pub values: Vec<String>,
    /// `total`: how many values exist in all, which may exceed those returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// `hasMore`: whether more values exist than were returned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub has_more: Option<bool>,
}

impl Completion {
    /// The spec caps a reply at 100 values; the rest is reported through `total`/`hasMore`.
    pub const MAX_VALUES: usize = 100;

    /// Keeps the first [`Self::MAX_VALUES`] values and sets `total` and `hasMore` from the full count.
    pub fn from_values(mut values: Vec<String>) -> Self {
        let total = values.len();
        let has_more = total > Self::MAX_VALUES;
        values.truncate(Self::MAX_VALUES);
        Completion { values, total: Some(total as u64), has_more: Some(has_more) }
    }
}

/// `completion/complete` result.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CompleteResult {
    /// The suggested values.
    pub completion: Completion,
}
