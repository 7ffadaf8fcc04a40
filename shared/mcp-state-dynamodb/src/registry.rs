//! The registry table (`RegistryTable` of `infra/template.yaml`): one partition per server.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | server | `server#<name>` | `server` (+ `version`) |
//! | entry | `server#<name>` | `<kind>#<name or URI>` (+ `data`: the entry as JSON) |
//!
//! Every change is one transaction: the entry's write and the server item's `version`
//! increase, the latter conditional on the server existing. A server's catalogue is one
//! strongly consistent query of its partition, so the entries and the version read agree.
//! A new server's version starts at its creation time in microseconds, so a server removed
//! and registered again never repeats an earlier version.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::types::{Delete, Put, ReturnValue, TransactWriteItem, Update};

use mcp_server::registry::entry::{Entry, EntryKind, ServerEntry};
use mcp_server::registry::store::{Catalogue, RegistryStore};
use mcp_server::state::{StateError, StateResult, now_ms};

use crate::error::state_error;
use crate::item::{DATA, Item, PK, SK, get_n, get_s, key, n, s};

const SERVER: &str = "server";
const VERSION: &str = "version";

/// The registry in a DynamoDB table.
#[derive(Clone)]
pub struct DynamoRegistry {
    client: Client,
    table: String,
}

fn partition(server: &str) -> String {
    format!("server#{server}")
}

fn sort_key(kind: EntryKind, name: &str) -> String {
    format!("{}#{name}", kind.as_str())
}

fn unreadable(e: impl std::fmt::Display) -> StateError {
    StateError::Unavailable(format!("unreadable registry item: {e}"))
}

impl DynamoRegistry {
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoRegistry { client, table: table.into() }
    }

    fn call(&self) -> &Client {
        mcp_server::state::calls::dynamodb();
        &self.client
    }

    /// The server item's version increase, conditional on the server existing.
    fn bump(&self, server: &str) -> StateResult<TransactWriteItem> {
        let update = Update::builder()
            .table_name(&self.table)
            .set_key(Some(key(partition(server), SERVER)))
            .update_expression("ADD #v :one")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(|e| StateError::Rejected(e.to_string()))?;
        Ok(TransactWriteItem::builder().update(update).build())
    }

    /// Runs a change and the version increase together; `None` if a condition failed (the
    /// server, or the entry to remove, is missing).
    async fn change(&self, server: &str, write: TransactWriteItem) -> StateResult<Option<u64>> {
        let sent =
            self.call().transact_write_items().transact_items(write).transact_items(self.bump(server)?).send().await;
        match sent {
            Ok(_) => self.version(server).await,
            Err(e) if e.code() == Some("TransactionCanceledException") && cancelled_by_condition(&e) => Ok(None),
            Err(e) => Err(state_error(e)),
        }
    }

    async fn partition_items(&self, server: &str) -> StateResult<Vec<Item>> {
        let mut items = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .call()
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", s(partition(server)))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(state_error)?;
            items.extend(page.items.unwrap_or_default());
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => return Ok(items),
            }
        }
    }
}

/// Whether a cancelled transaction failed only on its conditions.
fn cancelled_by_condition<R>(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> bool {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    match e.as_service_error() {
        Some(TransactWriteItemsError::TransactionCanceledException(c)) => c
            .cancellation_reasons()
            .iter()
            .all(|r| matches!(r.code(), None | Some("None") | Some("ConditionalCheckFailed"))),
        _ => false,
    }
}

#[async_trait]
impl RegistryStore for DynamoRegistry {
    async fn put_server(&self, server: &ServerEntry) -> StateResult<u64> {
        let data = serde_json::to_string(server).map_err(|e| StateError::Rejected(e.to_string()))?;
        let created = now_ms().saturating_mul(1000);
        let updated = self
            .call()
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key(partition(&server.name), SERVER)))
            .update_expression("SET #d = :d, #v = if_not_exists(#v, :start) + :one")
            .expression_attribute_names("#d", DATA)
            .expression_attribute_names("#v", VERSION)
            .expression_attribute_values(":d", s(data))
            .expression_attribute_values(":start", n(created))
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(state_error)?;
        updated.attributes.as_ref().and_then(|a| get_n(a, VERSION)).ok_or_else(|| unreadable("no version"))
    }

    async fn remove_server(&self, name: &str) -> StateResult<bool> {
        let items = self.partition_items(name).await?;
        if !items.iter().any(|i| get_s(i, SK) == Some(SERVER)) {
            return Ok(false);
        }
        // The server item first: from then on the server is gone for every reader, and an
        // entry left by a failure below is never served (nor listed: its server is gone).
        let removed =
            self.call().delete_item().table_name(&self.table).set_key(Some(key(partition(name), SERVER))).send();
        removed.await.map_err(state_error)?;
        for item in items.iter().filter(|i| get_s(i, SK) != Some(SERVER)) {
            let Some(sk) = get_s(item, SK) else { continue };
            let delete = self.call().delete_item().table_name(&self.table).set_key(Some(key(partition(name), sk)));
            delete.send().await.map_err(state_error)?;
        }
        Ok(true)
    }

    async fn put_entry(&self, server: &str, entry: &Entry) -> StateResult<Option<u64>> {
        let data = serde_json::to_string(entry).map_err(|e| StateError::Rejected(e.to_string()))?;
        let put = Put::builder()
            .table_name(&self.table)
            .item(PK, s(partition(server)))
            .item(SK, s(sort_key(entry.kind(), entry.name())))
            .item(DATA, s(data))
            .build()
            .map_err(|e| StateError::Rejected(e.to_string()))?;
        self.change(server, TransactWriteItem::builder().put(put).build()).await
    }

    async fn remove_entry(&self, server: &str, kind: EntryKind, name: &str) -> StateResult<Option<u64>> {
        let delete = Delete::builder()
            .table_name(&self.table)
            .set_key(Some(key(partition(server), &sort_key(kind, name))))
            .condition_expression("attribute_exists(pk)")
            .build()
            .map_err(|e| StateError::Rejected(e.to_string()))?;
        self.change(server, TransactWriteItem::builder().delete(delete).build()).await
    }

    async fn version(&self, server: &str) -> StateResult<Option<u64>> {
        let got = self
            .call()
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key(partition(server), SERVER)))
            .consistent_read(true)
            .projection_expression("#v")
            .expression_attribute_names("#v", VERSION)
            .send()
            .await
            .map_err(state_error)?;
        Ok(got.item.as_ref().and_then(|i| get_n(i, VERSION)))
    }

    async fn catalogue(&self, server: &str) -> StateResult<Option<Catalogue>> {
        let items = self.partition_items(server).await?;
        let Some(head) = items.iter().find(|i| get_s(i, SK) == Some(SERVER)) else { return Ok(None) };
        let entry: ServerEntry = serde_json::from_str(get_s(head, DATA).unwrap_or("{}")).map_err(unreadable)?;
        let version = get_n(head, VERSION).ok_or_else(|| unreadable("no version"))?;
        let mut entries = Vec::new();
        for item in items.iter().filter(|i| get_s(i, SK) != Some(SERVER)) {
            match get_s(item, DATA).map(serde_json::from_str::<Entry>) {
                Some(Ok(e)) => entries.push(e),
                // An entry written by a newer version with a kind this one does not know.
                other => tracing::warn!(server, sk = ?get_s(item, SK), ?other, "registry entry skipped"),
            }
        }
        Ok(Some(Catalogue { server: entry, version, entries }))
    }

    async fn servers(&self) -> StateResult<Vec<ServerEntry>> {
        let mut servers = Vec::new();
        let mut start = None;
        loop {
            let page = self
                .call()
                .scan()
                .table_name(&self.table)
                .filter_expression("sk = :s")
                .expression_attribute_values(":s", s(SERVER))
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(state_error)?;
            for item in page.items.unwrap_or_default() {
                servers.push(serde_json::from_str(get_s(&item, DATA).unwrap_or("{}")).map_err(unreadable)?);
            }
            match page.last_evaluated_key {
                Some(k) => start = Some(k),
                None => break,
            }
        }
        servers.sort_by(|a: &ServerEntry, b| a.name.cmp(&b.name));
        Ok(servers)
    }
}
