//! Application data as handlers see it: a scope per principal by default, so that one
//! caller can neither read, overwrite nor delete another's data, and a shared scope that a
//! handler asks for by name when data is meant for everyone. Every scope is bounded (value
//! size, number of keys) so that one caller cannot fill the table, and an item may have a
//! lifetime.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};

use mcp_protocol::{ErrorCode, ErrorObject};

use crate::error::HandlerError;
use crate::state::{KvStore, StateError, now_ms};

/// The largest value one key holds (a DynamoDB item is at most 400 KB, key included).
pub const MAX_VALUE_BYTES: usize = 64 * 1024;
/// The largest key.
pub const MAX_KEY_BYTES: usize = 256;
/// The most live keys one scope holds.
pub const MAX_KEYS_PER_SCOPE: usize = 1000;

/// The scope of callers without a principal (authorization off): one space, shared by all
/// of them, apart from every principal's.
const ANONYMOUS_SCOPE: &str = "anonymous";
const SHARED_SCOPE: &str = "shared";

/// Why a store call was refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StoreError {
    /// The key is empty or longer than [`MAX_KEY_BYTES`] (invalid params).
    #[error("store key must be 1 to {MAX_KEY_BYTES} bytes")]
    BadKey,
    /// The value is larger than [`MAX_VALUE_BYTES`] (limit exceeded).
    #[error("store value of {size} bytes exceeds the {MAX_VALUE_BYTES} byte limit")]
    ValueTooLarge {
        /// The value's size in bytes.
        size: usize,
    },
    /// A new key, in a scope that holds [`MAX_KEYS_PER_SCOPE`] live keys already (limit exceeded).
    #[error("store scope holds its limit of {MAX_KEYS_PER_SCOPE} keys")]
    TooManyKeys,
    /// The backend failed; the client may retry unless the backend rejected the request.
    #[error(transparent)]
    State(#[from] StateError),
}

impl From<StoreError> for HandlerError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::State(s) => HandlerError::State(s),
            StoreError::BadKey => HandlerError::InvalidParams(e.to_string()),
            StoreError::ValueTooLarge { .. } | StoreError::TooManyKeys => {
                HandlerError::rpc(ErrorObject::new(ErrorCode::LIMIT_EXCEEDED, e.to_string()))
            }
        }
    }
}

/// One scope of the application-data store. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    kv: Arc<dyn KvStore>,
    scope: Arc<str>,
}

impl Store {
    /// The scope of `principal`'s own data (of every anonymous caller, without one). The
    /// scope is a digest of the principal: the table does not name who owns what.
    pub fn of_principal(kv: Arc<dyn KvStore>, principal: Option<&str>) -> Store {
        let scope = match principal {
            Some(p) => {
                let digest = Sha256::digest(p.as_bytes());
                let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
                format!("principal:{hex}")
            }
            None => ANONYMOUS_SCOPE.to_owned(),
        };
        Store { kv, scope: scope.into() }
    }

    /// The scope every caller of the deployment shares.
    pub fn shared(kv: Arc<dyn KvStore>) -> Store {
        Store { kv, scope: SHARED_SCOPE.into() }
    }

    /// The value of `key` in this scope; `None` if there is none or it has expired.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        check_key(key)?;
        Ok(self.kv.get(&self.scope, key).await?)
    }

    /// Creates or replaces `key`, kept until deleted.
    pub async fn put(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.write(key, value, None).await
    }

    /// Creates or replaces `key`, gone after `lifetime`.
    pub async fn put_for(&self, key: &str, value: &[u8], lifetime: Duration) -> Result<(), StoreError> {
        let lifetime_ms = u64::try_from(lifetime.as_millis()).unwrap_or(u64::MAX);
        self.write(key, value, Some(now_ms().saturating_add(lifetime_ms))).await
    }

    /// `false` if there was nothing to delete.
    pub async fn delete(&self, key: &str) -> Result<bool, StoreError> {
        check_key(key)?;
        Ok(self.kv.delete(&self.scope, key).await?)
    }

    /// Keys with `prefix` in this scope, in order, at most `limit`.
    pub async fn keys(&self, prefix: &str, limit: usize) -> Result<Vec<String>, StoreError> {
        Ok(self.kv.keys(&self.scope, prefix, limit).await?)
    }

    async fn write(&self, key: &str, value: &[u8], expires_at_ms: Option<u64>) -> Result<(), StoreError> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(StoreError::ValueTooLarge { size: value.len() });
        }
        // A new key must find room (one listing of the scope's keys, which the backends keep
        // small to read). Writers racing for the last places can pass this check together:
        // the bound holds to within the number of concurrent writers of one scope.
        let held = self.kv.keys(&self.scope, "", MAX_KEYS_PER_SCOPE).await?;
        if held.len() >= MAX_KEYS_PER_SCOPE && !held.iter().any(|k| k == key) {
            return Err(StoreError::TooManyKeys);
        }
        Ok(self.kv.put(&self.scope, key, value, expires_at_ms).await?)
    }
}

fn check_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES { Err(StoreError::BadKey) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::state::StateHandles;

    #[tokio::test]
    async fn each_principal_has_its_own_scope_and_the_shared_one_is_asked_for() {
        let kv = StateHandles::in_memory().kv;
        let alice = Store::of_principal(kv.clone(), Some("alice"));
        let bob = Store::of_principal(kv.clone(), Some("bob"));
        let anonymous = Store::of_principal(kv.clone(), None);
        alice.put("notes/plan", b"alice's").await.unwrap();
        assert_eq!(bob.get("notes/plan").await.unwrap(), None, "bob cannot read alice's note");
        assert!(!bob.delete("notes/plan").await.unwrap(), "nor delete it");
        bob.put("notes/plan", b"bob's").await.unwrap();
        assert_eq!(alice.get("notes/plan").await.unwrap().as_deref(), Some(&b"alice's"[..]), "nor overwrite it");
        assert!(anonymous.keys("", 10).await.unwrap().is_empty());
        Store::shared(kv.clone()).put("motd", b"hello").await.unwrap();
        assert_eq!(Store::shared(kv).get("motd").await.unwrap().as_deref(), Some(&b"hello"[..]));
        assert_eq!(alice.get("motd").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_scope_is_bounded_in_value_size_and_key_count() {
        let store = Store::of_principal(StateHandles::in_memory().kv, Some("mallory"));
        let big = vec![b'x'; MAX_VALUE_BYTES + 1];
        assert_eq!(store.put("big", &big).await, Err(StoreError::ValueTooLarge { size: MAX_VALUE_BYTES + 1 }));
        assert_eq!(store.put("", b"x").await, Err(StoreError::BadKey));
        assert_eq!(store.put(&"k".repeat(MAX_KEY_BYTES + 1), b"x").await, Err(StoreError::BadKey));
        for i in 0..MAX_KEYS_PER_SCOPE {
            store.put(&format!("k{i:04}"), b"x").await.unwrap();
        }
        assert_eq!(store.put("one-more", b"x").await, Err(StoreError::TooManyKeys));
        store.put("k0000", b"replaced").await.unwrap();
        assert!(store.delete("k0001").await.unwrap());
        store.put("one-more", b"x").await.unwrap();
    }

    #[tokio::test]
    async fn an_item_with_a_lifetime_is_gone_after_it() {
        let store = Store::of_principal(StateHandles::in_memory().kv, Some("alice"));
        store.put_for("short", b"x", Duration::ZERO).await.unwrap();
        store.put_for("long", b"y", Duration::from_secs(60)).await.unwrap();
        assert_eq!(store.get("short").await.unwrap(), None);
        assert_eq!(store.keys("", 10).await.unwrap(), vec!["long".to_owned()]);
    }
}
