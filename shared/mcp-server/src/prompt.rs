//! Prompts with their handlers and argument completion.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value;

use mcp_protocol::model::{GetPromptResult, Prompt};

use crate::completion::{Completer, CompletionRequest, async_completer, sync_completer};
use crate::context::RequestContext;
use crate::error::HandlerError;
use crate::handler::BoxFuture;
use crate::schema::{JsonSchema, prompt_arguments};

pub(crate) type PromptFn = dyn Fn(RequestContext, BTreeMap<String, String>) -> BoxFuture<'static, Result<GetPromptResult, HandlerError>>
    + Send
    + Sync;

/// A prompt ready to serve: what `prompts/list` shows, its handler and, if it has one, the
/// completer of its arguments.
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

    /// A prompt whose arguments are the fields of `A` (`String` or `Option<String>`): the
    /// listed arguments come from the type unless `prompt.arguments` gives them, and the
    /// handler receives them as an `A` (arguments that do not fit are invalid params).
    pub fn typed<A, F, Fut>(mut prompt: Prompt, handler: F) -> Self
    where
        A: DeserializeOwned + JsonSchema + Send + 'static,
        F: Fn(RequestContext, A) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<GetPromptResult, HandlerError>> + Send + 'static,
    {
        if prompt.arguments.is_none() {
            prompt.arguments = Some(prompt_arguments::<A>());
        }
        let handler = Arc::new(handler);
        PromptDef::new(prompt, move |ctx, args| {
            let handler = handler.clone();
            Box::pin(async move {
                let args = args.into_iter().map(|(name, value)| (name, Value::String(value))).collect();
                let args = serde_json::from_value::<A>(Value::Object(args))
                    .map_err(|e| HandlerError::InvalidParams(format!("invalid arguments: {e}")))?;
                handler(ctx, args).await
            })
        })
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
