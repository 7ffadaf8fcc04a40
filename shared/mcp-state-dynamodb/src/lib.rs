//! DynamoDB backend of the state stores (sessions, connections, subscriptions, single-use
//! nonces, application data), in one table whose name comes from configuration.
//!
//! Every item carries `exp` (expiry, ms, filtered on read) and `ttl` (seconds, for DynamoDB's
//! lazy TTL deletion). Concurrent updates are conditional writes; nothing is read-modified-
//! written. See [`schema`] for the keys.

pub mod client;
mod connections;
mod error;
mod item;
mod kv;
mod nonces;
pub mod registry;
pub mod schema;
mod sessions;
mod subscriptions;
mod tasks;

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;

use mcp_server::state::{
    ConnectionStore, KvStore, NonceStore, SessionStore, StateResult, SubscriptionStore, TaskStore,
};

use crate::error::state_error;
use crate::item::Item;

/// The stores over one table.
#[derive(Clone)]
pub struct DynamoState {
    client: Client,
    table: Arc<str>,
    /// Subscription rows of one topic are spread over this many partitions.
    shards: u32,
}

impl DynamoState {
    pub fn new(client: Client, table: impl Into<Arc<str>>) -> Self {
        DynamoState { client, table: table.into(), shards: schema::DEFAULT_TOPIC_SHARDS }
    }

    /// Spreads each topic's subscribers over `shards` partitions (a hot URI with many
    /// subscribers then costs `shards` queries to fan out, and no single partition takes
    /// every write).
    pub fn with_topic_shards(mut self, shards: u32) -> Self {
        self.shards = shards.max(1);
        self
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The client, for one call (counted for the request being served).
    pub(crate) fn call(&self) -> &Client {
        mcp_server::state::calls::dynamodb();
        &self.client
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn sessions(self: &Arc<Self>) -> Arc<dyn SessionStore> {
        self.clone()
    }

    pub fn connections(self: &Arc<Self>) -> Arc<dyn ConnectionStore> {
        self.clone()
    }

    pub fn subscriptions(self: &Arc<Self>) -> Arc<dyn SubscriptionStore> {
        self.clone()
    }

    pub fn nonces(self: &Arc<Self>) -> Arc<dyn NonceStore> {
        self.clone()
    }

    pub fn kv(self: &Arc<Self>) -> Arc<dyn KvStore> {
        self.clone()
    }

    /// The tasks of the tasks extension.
    pub fn tasks(self: &Arc<Self>) -> Arc<dyn TaskStore> {
        self.clone()
    }
}

/// Every item a query finds, page after page. The query is built from a client the caller
/// counted for its first page; each further page counts too.
pub(crate) async fn query_all(query: QueryFluentBuilder) -> StateResult<Vec<Item>> {
    let mut items = Vec::new();
    let mut page = query.clone().send().await.map_err(state_error)?;
    loop {
        items.extend(page.items.unwrap_or_default());
        let Some(start) = page.last_evaluated_key else { return Ok(items) };
        mcp_server::state::calls::dynamodb();
        page = query.clone().set_exclusive_start_key(Some(start)).send().await.map_err(state_error)?;
    }
}
