//! Attribute names and helpers for building and reading items.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

use mcp_server::state::{StateError, StateResult, now_ms};

pub(crate) const PK: &str = "pk";
pub(crate) const SK: &str = "sk";
/// Expiry in milliseconds since the epoch: reads filter on it.
pub(crate) const EXP: &str = "exp";
/// Expiry in seconds since the epoch: DynamoDB's TTL attribute.
pub(crate) const TTL: &str = "ttl";
/// The record, as JSON.
pub(crate) const DATA: &str = "data";

pub(crate) type Item = HashMap<String, AttributeValue>;

pub(crate) fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub(crate) fn n(v: u64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

/// A new item with its key and expiry.
pub(crate) fn item(pk: String, sk: &str, expires_at_ms: u64) -> Item {
    let mut i = Item::new();
    i.insert(PK.into(), s(pk));
    i.insert(SK.into(), s(sk));
    i.insert(EXP.into(), n(expires_at_ms));
    i.insert(TTL.into(), n(expires_at_ms.div_ceil(1000)));
    i
}

pub(crate) fn key(pk: String, sk: &str) -> Item {
    let mut k = Item::new();
    k.insert(PK.into(), s(pk));
    k.insert(SK.into(), s(sk));
    k
}

pub(crate) fn get_s<'a>(item: &'a Item, name: &str) -> Option<&'a str> {
    item.get(name).and_then(|v| v.as_s().ok()).map(String::as_str)
}

pub(crate) fn get_n(item: &Item, name: &str) -> Option<u64> {
    item.get(name).and_then(|v| v.as_n().ok()).and_then(|n| n.parse().ok())
}

pub(crate) fn live(item: &Item) -> bool {
    get_n(item, EXP).is_some_and(|exp| exp > now_ms())
}

/// The record stored under `data`.
pub(crate) fn record<T: serde::de::DeserializeOwned>(item: &Item) -> StateResult<T> {
    let data = get_s(item, DATA).ok_or_else(|| StateError::Unavailable("item without data".into()))?;
    serde_json::from_str(data).map_err(|e| StateError::Unavailable(format!("unreadable item: {e}")))
}

pub(crate) fn data<T: serde::Serialize>(record: &T) -> StateResult<AttributeValue> {
    serde_json::to_string(record).map(s).map_err(|e| StateError::Unavailable(format!("unwritable record: {e}")))
}
