//! Cache hints of 2026-07-28 results (`ttlMs`, `cacheScope`).

use serde::{Deserialize, Serialize};

/// Who may reuse a cached result: anyone, or only the same authorization context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheScope {
    /// `"public"`: shared caches may store the result and reuse it for any client.
    Public,
    /// `"private"`: only the same authorization context may reuse the result; shared caches must not.
    Private,
}

/// How long a client may reuse a result, and with whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheHint {
    /// `ttlMs`: how long the result stays fresh, in milliseconds; `0` means immediately stale.
    pub ttl_ms: u64,
    /// `cacheScope`: who may reuse the result.
    pub cache_scope: CacheScope,
}

impl CacheHint {
    /// Immediately stale, private: the safe default when nothing better is known.
    pub const NO_STORE: CacheHint = CacheHint { ttl_ms: 0, cache_scope: CacheScope::Private };

    /// Fresh for `ttl_ms` milliseconds, reusable by anyone.
    pub const fn public(ttl_ms: u64) -> CacheHint {
        CacheHint { ttl_ms, cache_scope: CacheScope::Public }
    }

    /// Fresh for `ttl_ms` milliseconds, reusable only in the same authorization context.
    pub const fn private(ttl_ms: u64) -> CacheHint {
        CacheHint { ttl_ms, cache_scope: CacheScope::Private }
    }
}
