//! Cache hints of 2026-07-28 results (`ttlMs`, `cacheScope`).

use serde::{Deserialize, Serialize};

/// Who may reuse a cached result: anyone, or only the same authorization context.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CacheScope {
    Public,
    Private,
}

/// How long a client may reuse a result, and with whom.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CacheHint {
    pub ttl_ms: u64,
    pub cache_scope: CacheScope,
}

impl CacheHint {
    /// Immediately stale, private: the safe default when nothing better is known.
    pub const NO_STORE: CacheHint = CacheHint { ttl_ms: 0, cache_scope: CacheScope::Private };

    pub const fn public(ttl_ms: u64) -> CacheHint {
        CacheHint { ttl_ms, cache_scope: CacheScope::Public }
    }

    pub const fn private(ttl_ms: u64) -> CacheHint {
        CacheHint { ttl_ms, cache_scope: CacheScope::Private }
    }
}
