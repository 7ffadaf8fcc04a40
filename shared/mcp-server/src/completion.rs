//! Argument completion callbacks.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;

use crate::context::RequestContext;
use crate::error::HandlerError;
use crate::handler::BoxFuture;

/// What is being completed.
#[derive(Clone, Debug)]
pub struct CompletionRequest {
    /// The argument (prompt) or variable (resource template) name.
    pub argument: String,
    /// What the user typed so far.
    pub value: String,
    /// Arguments already resolved.
    pub context: BTreeMap<String, String>,
}

/// A completion callback: the values to offer for one prompt argument or template variable.
/// Prompts and resource templates keep one behind an `Arc`; make it with [`sync_completer`] or
/// [`async_completer`].
pub type Completer =
    dyn Fn(RequestContext, CompletionRequest) -> BoxFuture<'static, Result<Vec<String>, HandlerError>> + Send + Sync;

/// A completer from a synchronous function of (argument, prefix, resolved arguments).
pub fn sync_completer<F>(f: F) -> Arc<Completer>
where
    F: Fn(&str, &str, &BTreeMap<String, String>) -> Vec<String> + Send + Sync + 'static,
{
    Arc::new(move |_ctx, r: CompletionRequest| {
        let values = f(&r.argument, &r.value, &r.context);
        Box::pin(async move { Ok(values) })
    })
}

/// A completer from an async function (one that reads the store, say).
pub fn async_completer<F, Fut>(f: F) -> Arc<Completer>
where
    F: Fn(RequestContext, CompletionRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Vec<String>, HandlerError>> + Send + 'static,
{
    Arc::new(move |ctx, r| Box::pin(f(ctx, r)))
}
