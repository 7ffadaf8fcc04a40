//! Resources (fixed URIs) and resource templates (URI patterns), with their handlers.

use std::collections::BTreeMap;
use std::sync::Arc;

use mcp_protocol::model::{CacheHint, ReadResourceResult, Resource, ResourceTemplate};

use crate::completion::{Completer, CompletionRequest, async_completer, sync_completer};
use crate::context::RequestContext;
use crate::error::{DefinitionError, HandlerError};
use crate::handler::BoxFuture;
use crate::uri_template::UriTemplate;

pub(crate) type ReadFn = dyn Fn(RequestContext, String, BTreeMap<String, String>) -> BoxFuture<'static, Result<ReadResourceResult, HandlerError>>
    + Send
    + Sync;

/// A resource with a fixed URI.
pub struct ResourceDef {
    pub(crate) resource: Resource,
    pub(crate) cache: CacheHint,
    pub(crate) handler: Arc<ReadFn>,
}

impl ResourceDef {
    /// A resource read by `handler`, which gets the URI asked for (the resource's own). Its
    /// replies say no-store until [`cache`](Self::cache) sets another hint.
    pub fn new<F>(resource: Resource, handler: F) -> Self
    where
        F: Fn(RequestContext, String) -> BoxFuture<'static, Result<ReadResourceResult, HandlerError>>
            + Send
            + Sync
            + 'static,
    {
        ResourceDef { resource, cache: CacheHint::NO_STORE, handler: Arc::new(move |ctx, uri, _| handler(ctx, uri)) }
    }

    /// The cache hint of `resources/read` replies (2026-07-28). Default: no store.
    pub fn cache(mut self, hint: CacheHint) -> Self {
        self.cache = hint;
        self
    }
}

/// A family of resources addressed by an RFC 6570 template.
pub struct ResourceTemplateDef {
    pub(crate) template: ResourceTemplate,
    pub(crate) matcher: UriTemplate,
    pub(crate) cache: CacheHint,
    pub(crate) handler: Arc<ReadFn>,
    pub(crate) completer: Option<Arc<Completer>>,
}

impl ResourceTemplateDef {
    /// The handler gets the URI and the template's variables.
    pub fn new<F>(template: ResourceTemplate, handler: F) -> Result<Self, DefinitionError>
    where
        F: Fn(
                RequestContext,
                String,
                BTreeMap<String, String>,
            ) -> BoxFuture<'static, Result<ReadResourceResult, HandlerError>>
            + Send
            + Sync
            + 'static,
    {
        let matcher = UriTemplate::parse(&template.uri_template)
            .ok_or_else(|| DefinitionError::InvalidTemplate(template.uri_template.clone()))?;
        Ok(ResourceTemplateDef {
            template,
            matcher,
            cache: CacheHint::NO_STORE,
            handler: Arc::new(handler),
            completer: None,
        })
    }

    /// The cache hint of `resources/read` replies for the template's URIs (2026-07-28). Default:
    /// no store.
    pub fn cache(mut self, hint: CacheHint) -> Self {
        self.cache = hint;
        self
    }

    /// Completion of the template's variables (`completion/complete` with `ref/resource`).
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
}
