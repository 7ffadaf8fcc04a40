//! The registry table (`RegistryTable` of `infra/template.yaml`): one partition per server.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | server | `server#<name>` | `server` (+ `version`) |
//! | entry | `server#<name>` | `<kind>#<name or URI>` (+ `data`: the entry as JSON) |
//!
//! Every change is one transaction: the entry's write and the server item's `version`
//! increase, the latter conditional on the server existing. A server's catalogue is a
//! strongly consistent query of its partition, checked against the version read just before
//! (a query is not a snapshot), so the entries and the version read agree.
//! A new server's version starts at its creation time in microseconds, so a server removed
//! and registered again never repeats an earlier version.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
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
    /// server, or the entry to remove, is missing). A conflict with a concurrent change is
    /// retried. The version returned is read after the change (0 if that read failed: the
    /// change itself is made).
    async fn change(&self, server: &str, write: TransactWriteItem) -> StateResult<Option<u64>> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let transaction = self.call().transact_write_items().transact_items(write.clone());
            let sent = transaction.transact_items(self.bump(server)?).send().await;
            match sent.map_err(|e| cancellation(&e).unwrap_or_else(|| Cancelled::Other(state_error(e)))) {
                Ok(_) => break,
                Err(Cancelled::Condition) => return Ok(None),
                Err(Cancelled::Conflict) if attempt < 3 => {
                    tokio::time::sleep(std::time::Duration::from_millis(20 * attempt)).await;
                }
                Err(Cancelled::Conflict) => return Err(StateError::Conflict),
                Err(Cancelled::Refused(why)) => return Err(StateError::Rejected(why)),
                Err(Cancelled::Other(e)) => return Err(e),
            }
        }
        match self.version(server).await {
            Ok(version) => Ok(Some(version.unwrap_or(0))),
            Err(e) => {
                tracing::warn!(server, error = %e, "registry changed; its new version could not be read");
                Ok(Some(0))
            }
        }
    }

    async fn partition_items(&self, server: &str) -> StateResult<Vec<Item>> {
        let query = self
            .call()
            .query()
            .table_name(&self.table)
            .key_condition_expression("pk = :p")
            .expression_attribute_values(":p", s(partition(server)))
            .consistent_read(true);
        crate::query_all(query).await
    }
}

/// Why a transaction was cancelled.
enum Cancelled {
    /// A condition did not hold (and nothing else went wrong).
    Condition,
    /// A concurrent transaction touched the same items: worth retrying.
    Conflict,
    /// The request itself is wrong (an item too large, ...).
    Refused(String),
    Other(StateError),
}

fn cancellation<R>(
    e: &aws_sdk_dynamodb::error::SdkError<
        aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError,
        R,
    >,
) -> Option<Cancelled> {
    use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
    let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error() else { return None };
    let reasons = c.cancellation_reasons();
    let code = |r: &aws_sdk_dynamodb::types::CancellationReason| r.code().unwrap_or("None").to_owned();
    if let Some(r) = reasons.iter().find(|r| code(r) == "ValidationError") {
        return Some(Cancelled::Refused(r.message().unwrap_or("ValidationError").to_owned()));
    }
    if reasons.iter().any(|r| code(r) == "TransactionConflict") {
        return Some(Cancelled::Conflict);
    }
    if reasons.iter().all(|r| matches!(code(r).as_str(), "None" | "ConditionalCheckFailed")) {
        return Some(Cancelled::Condition);
    }
    None
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

    /// The entries first, the server item last and only at the version read: a removal that
    /// fails midway leaves a registered server with fewer entries (run it again to finish),
    /// and an entry written meanwhile makes it start over, so none is left behind to come
    /// back with a later registration of the same name.
    async fn remove_server(&self, name: &str) -> StateResult<bool> {
        for _ in 0..3 {
            let items = self.partition_items(name).await?;
            if items.is_empty() {
                return Ok(false);
            }
            for item in items.iter().filter(|i| get_s(i, SK) != Some(SERVER)) {
                let Some(sk) = get_s(item, SK) else { continue };
                let delete = self.call().delete_item().table_name(&self.table).set_key(Some(key(partition(name), sk)));
                delete.send().await.map_err(state_error)?;
            }
            let head = items.iter().find(|i| get_s(i, SK) == Some(SERVER));
            let Some(version) = head.and_then(|i| get_n(i, VERSION)) else { return Ok(true) };
            let removed = self
                .call()
                .delete_item()
                .table_name(&self.table)
                .set_key(Some(key(partition(name), SERVER)))
                .condition_expression("#v = :seen")
                .expression_attribute_names("#v", VERSION)
                .expression_attribute_values(":seen", n(version))
                .send()
                .await;
            match removed {
                Ok(_) => return Ok(true),
                Err(e) if crate::error::condition_failed(&e) => continue,
                Err(e) => return Err(state_error(e)),
            }
        }
        Err(StateError::Conflict)
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

    /// A query is not a snapshot (a transaction may land between its pages, or between the
    /// entries and the server item): the version is read first and must match the one the
    /// query returns, or the read is done again.
    async fn catalogue(&self, server: &str) -> StateResult<Option<Catalogue>> {
        for _ in 0..3 {
            let before = self.version(server).await?;
            let catalogue = self.read_partition(server).await?;
            if catalogue.as_ref().map(|c| c.version) == before {
                return Ok(catalogue);
            }
        }
        Err(StateError::Conflict)
    }

    async fn servers(&self) -> StateResult<Vec<ServerEntry>> {
        self.scan_servers().await
    }
}

impl DynamoRegistry {
    async fn read_partition(&self, server: &str) -> StateResult<Option<Catalogue>> {
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

    async fn scan_servers(&self) -> StateResult<Vec<ServerEntry>> {
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
