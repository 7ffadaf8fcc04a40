//! The members every result of 2026-07-28 carries beside its own: `resultType`, the cache
//! hint of cacheable results, and `_meta` with the server's identity.

use serde::{Deserialize, Serialize};

use super::cache::CacheHint;
use super::meta::Meta;

/// `resultType` (2026-07-28): whether a result is final or asks for input first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultType {
    /// `"complete"`: the final result of the request.
    Complete,
    /// `"input_required"`: an interim result; the client answers its input requests and retries.
    InputRequired,
    /// `"task"` (the tasks extension): the request became a task; the result comes with
    /// `tasks/get`.
    Task,
}

/// A result as sent on the wire. In the session era only `body` (and `_meta` when the
/// handler set one) is written; in 2026-07-28 the other members too.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WireResult<'a, T: Serialize + ?Sized> {
    /// The result's own members, written at the top level.
    #[serde(flatten)]
    pub body: &'a T,
    /// `resultType` (2026-07-28); not written in the session era.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// `ttlMs` and `cacheScope` (2026-07-28), written at the top level; for cacheable results only.
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    pub cache: Option<CacheHint>,
    /// `_meta`: in 2026-07-28, carries the server's identity.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<&'a Meta>,
}
