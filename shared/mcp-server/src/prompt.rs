//! Prompts with their handlers and argument completion.

use std::collections::BTreeMap;
use std::sync::Arc;

use mcp_protocol::model::{GetPromptResult, Prompt};

use crate::completion::{Completer, CompletionRequest, async_completer, sync_completer};
use crate::context::RequestContext;
use crate::error::HandlerError;
use crate::handler::BoxFuture;

pub(crate) type PromptFn = dyn Fn(RequestContext, BTreeMap<String, String>) -> BoxFuture<'static, Result<GetPromptResult, HandlerError>>
    + Send
    + Sync;

pub struct PromptDef {
    pub(crate) prompt: Prompt,
    pub(crate) handler: Arc<PromptFn>,
    pub(crate) completer: Option<Arc<Completer>>,
}

impl PromptDef {
    /// Required arguments (per `prompt.arguments`) are checked before the handler runs.
    pub fn new<F>(prompt: Prompt, handler: F) -> Self
    where
        F: Fn(RequestContext, BTreeMap<String, String>) -> BoxFuture<'static, Result<GetPromptResult, HandlerError>>
            + Send
            + Sync
            + 'static,
    {
        PromptDef { prompt, handler: Arc::new(handler), completer: None }
    }

    /// Completion of the prompt's arguments: `(argument, prefix, other arguments) -> values`.
    pub fn completer<F>(mut self, f: F) -> Self
    where
        F: Fn(&str, &str, &BTreeMap<String, String>) -> Vec<String> + Send + Sync + 'static,
    {
        self.completer = Some(sync_completer(f));
        self
    }

    /// An async completer, for values that come from a store.
    pub fn completer_async<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(RequestContext, CompletionRequest) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Vec<String>, HandlerError>> + Send + 'static,
    {
        self.completer = Some(async_completer(f));
        self
    }

    pub(crate) fn missing_required(&self, args: &BTreeMap<String, String>) -> Option<String> {
        self.prompt
            .arguments
            .iter()
            .flatten()
            .find(|a| a.required == Some(true) && !args.contains_key(&a.name))
            .map(|a| a.name.clone())
    }
}
