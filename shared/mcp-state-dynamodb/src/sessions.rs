//! Sessions (`session#<id>`).

use async_trait::async_trait;
use aws_sdk_dynamodb::types::{AttributeValue, ReturnValue};

use mcp_server::state::{LoggingLevel, SessionRecord, SessionStore, StateResult, now_ms};

use crate::DynamoState;
use crate::error::{state_error, written};
use crate::item::{DATA, EXP, Item, PK, data, get_s, item, key, live, n, record, s};

const SESSION: &str = "session";
/// Attributes updated in place, apart from the record.
const LOG_LEVEL: &str = "log_level";
const INITIALIZED: &str = "initialized";

fn session_pk(id: &str) -> String {
    format!("session#{id}")
}

impl DynamoState {
    /// Puts an item unless a live one has its key (one conditional write: the first writer
    /// wins); `false` if a live one was there.
    pub(crate) async fn put_unless_live(&self, item: Item) -> StateResult<bool> {
        written(
            self.call()
                .put_item()
                .table_name(&*self.table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(#pk) OR #exp <= :now")
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#exp", EXP)
                .expression_attribute_values(":now", n(now_ms()))
                .send()
                .await,
        )
    }

    /// Sets one attribute of a live item; `false` if there is none.
    async fn set_if_live(&self, pk: String, sk: &str, name: &str, value: AttributeValue) -> StateResult<bool> {
        written(
            self.call()
                .update_item()
                .table_name(&*self.table)
                .set_key(Some(key(pk, sk)))
                .update_expression("SET #a = :v")
                .condition_expression("attribute_exists(#pk) AND #exp > :now")
                .expression_attribute_names("#a", name)
                .expression_attribute_names("#pk", PK)
                .expression_attribute_names("#exp", EXP)
                .expression_attribute_values(":v", value)
                .expression_attribute_values(":now", n(now_ms()))
                .send()
                .await,
        )
    }

    pub(crate) async fn get_live(&self, pk: String, sk: &str) -> StateResult<Option<Item>> {
        let r = self
            .call()
            .get_item()
            .table_name(&*self.table)
            .set_key(Some(key(pk, sk)))
            .consistent_read(true)
            .send()
            .await;
        Ok(r.map_err(state_error)?.item.filter(live))
    }

    /// Deletes an item and returns what it was; `None` if there was none.
    pub(crate) async fn delete_returning(&self, pk: String, sk: &str) -> StateResult<Option<Item>> {
        let r = self
            .call()
            .delete_item()
            .table_name(&*self.table)
            .set_key(Some(key(pk, sk)))
            .return_values(ReturnValue::AllOld)
            .send()
            .await;
        Ok(r.map_err(state_error)?.attributes.filter(|a| !a.is_empty()))
    }

    pub(crate) async fn delete_existing(&self, pk: String, sk: &str) -> StateResult<bool> {
        Ok(self.delete_returning(pk, sk).await?.is_some())
    }
}

#[async_trait]
impl SessionStore for DynamoState {
    async fn create(&self, session: &SessionRecord) -> StateResult<()> {
        let mut i = item(session_pk(&session.id), SESSION, session.expires_at_ms);
        i.insert(DATA.into(), data(session)?);
        // An id may be reused only once its previous session has expired.
        if self.put_unless_live(i).await? { Ok(()) } else { Err(mcp_server::state::StateError::Conflict) }
    }

    async fn get(&self, id: &str) -> StateResult<Option<std::sync::Arc<SessionRecord>>> {
        let Some(item) = self.get_live(session_pk(id), SESSION).await? else { return Ok(None) };
        let mut session: SessionRecord = record(&item)?;
        if let Some(level) = get_s(&item, LOG_LEVEL) {
            session.log_level = serde_json::from_value(serde_json::Value::String(level.to_owned())).ok();
        }
        if let Some(AttributeValue::Bool(true)) = item.get(INITIALIZED) {
            session.initialized = true;
        }
        Ok(Some(std::sync::Arc::new(session)))
    }

    async fn set_log_level(&self, id: &str, level: LoggingLevel) -> StateResult<bool> {
        let level = serde_json::to_value(level).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default();
        self.set_if_live(session_pk(id), SESSION, LOG_LEVEL, s(level)).await
    }

    async fn mark_initialized(&self, id: &str) -> StateResult<bool> {
        self.set_if_live(session_pk(id), SESSION, INITIALIZED, AttributeValue::Bool(true)).await
    }

    async fn delete(&self, id: &str) -> StateResult<Option<SessionRecord>> {
        self.delete_returning(session_pk(id), SESSION).await?.map(|item| record(&item)).transpose()
    }
}
