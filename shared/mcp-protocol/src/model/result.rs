//! The members every result of 2026-07-28 carries beside its own: `resultType`, the cache
//! hint of cacheable results, and `_meta` with the server's identity.

use serde::{Deserialize, Serialize};

use super::cache::CacheHint;
use super::meta::Meta;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultType {
    Complete,
    InputRequired,
}

/// A result as sent on the wire. In the session era only `body` (and `_meta` when the
/// handler set one) is written; in 2026-07-28 the other members too.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireResult<'a, T: Serialize + ?Sized> {
    #[serde(flatten)]
    pub body: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub cache: Option<CacheHint>,
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<&'a Meta>,
}
