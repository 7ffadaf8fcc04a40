//! L1: a bounded cache of sessions in each warm instance, as a decorator over the session
//! store. It never holds the only copy of anything: every write goes to the store first.
//!
//! Freshness: every write bumps the session's version in the shared [`Versions`] (Redis);
//! a cached session is served only while its version is unchanged, so a warm read costs one
//! Redis call and no DynamoDB call. An instance whose L1 misses reads the shared copy in
//! Redis (kept with the version it was read at) before the store. If the versions cannot be
//! read (Redis down), reads go to the store: slower, never stale.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moka::future::Cache;

use super::{LoggingLevel, SessionRecord, SessionStore, StateResult, Versions, now_ms};

/// How many sessions an instance keeps.
const CAPACITY: u64 = 10_000;
/// An upper bound on how long an entry lives, whatever its version says: the staleness a
/// write can cause if its version bump fails (Redis unreachable at that moment).
const TTL: Duration = Duration::from_secs(60);
/// The same bound for the shared copy in Redis.
const COPY_TTL: Duration = Duration::from_secs(60);

/// A [`SessionStore`] that serves a session from this instance's memory while its shared
/// version is current, and writes through to the store it wraps (see the module's documentation).
pub struct CachedSessions {
    inner: Arc<dyn SessionStore>,
    versions: Arc<dyn Versions>,
    cache: Cache<String, (u64, SessionRecord)>,
}

fn version_key(id: &str) -> String {
    format!("session:{id}")
}

impl CachedSessions {
    /// L1 over `inner`, the store of record; `versions` are the shared versions each write bumps
    /// and each cached read checks.
    pub fn new(inner: Arc<dyn SessionStore>, versions: Arc<dyn Versions>) -> Self {
        CachedSessions { inner, versions, cache: Cache::builder().max_capacity(CAPACITY).time_to_live(TTL).build() }
    }

    /// The shared copy, if it was read at the current version and has not expired.
    async fn shared_copy(&self, key: &str, version: u64) -> Option<SessionRecord> {
        let (copy_version, bytes) = self.versions.copy(key).await.ok().flatten()?;
        let session: SessionRecord = serde_json::from_slice(&bytes).ok()?;
        (copy_version == version && session.expires_at_ms > now_ms()).then_some(session)
    }

    async fn keep_shared_copy(&self, key: &str, version: u64, session: &SessionRecord) {
        let Ok(bytes) = serde_json::to_vec(session) else { return };
        let ttl = session.expires_at_ms.saturating_sub(now_ms()).min(COPY_TTL.as_millis() as u64);
        if let Err(e) = self.versions.keep_copy(key, version, &bytes, ttl).await {
            tracing::debug!(error = %e, "no shared copy kept");
        }
    }

    /// After a write: tell every instance, and forget the local copy.
    async fn changed(&self, id: &str) {
        if let Err(e) = self.versions.bump(&version_key(id)).await {
            // Other instances, and the shared copy, may serve the old record until they expire
            // (at most `TTL` / `COPY_TTL`).
            tracing::warn!(session = id, error = %e, "could not bump the session version");
        }
        self.cache.invalidate(id).await;
    }
}

#[async_trait]
impl SessionStore for CachedSessions {
    async fn create(&self, session: &SessionRecord) -> StateResult<()> {
        self.inner.create(session).await?;
        // A new session is read next, most likely on another instance: leave it a copy.
        let key = version_key(&session.id);
        match self.versions.bump(&key).await {
            Ok(v) => self.keep_shared_copy(&key, v, session).await,
            Err(e) => tracing::warn!(session = %session.id, error = %e, "could not bump the session version"),
        }
        self.cache.invalidate(&session.id).await;
        Ok(())
    }

    async fn get(&self, id: &str) -> StateResult<Option<SessionRecord>> {
        let key = version_key(id);
        let version = self.versions.current(&key).await;
        if let Ok(v) = version {
            if let Some((cached_v, session)) = self.cache.get(id).await
                && v == cached_v
                && session.expires_at_ms > now_ms()
            {
                return Ok(Some(session));
            }
            if let Some(session) = self.shared_copy(&key, v).await {
                self.cache.insert(id.to_owned(), (v, session.clone())).await;
                return Ok(Some(session));
            }
        }
        let found = self.inner.get(id).await?;
        match (&found, version) {
            (Some(session), Ok(v)) => {
                self.cache.insert(id.to_owned(), (v, session.clone())).await;
                self.keep_shared_copy(&key, v, session).await;
            }
            _ => self.cache.invalidate(id).await,
        }
        Ok(found)
    }

    async fn set_log_level(&self, id: &str, level: LoggingLevel) -> StateResult<bool> {
        let done = self.inner.set_log_level(id, level).await?;
        self.changed(id).await;
        Ok(done)
    }

    async fn mark_initialized(&self, id: &str) -> StateResult<bool> {
        let done = self.inner.mark_initialized(id).await?;
        self.changed(id).await;
        Ok(done)
    }

    async fn delete(&self, id: &str) -> StateResult<Option<SessionRecord>> {
        let done = self.inner.delete(id).await?;
        self.changed(id).await;
        Ok(done)
    }
}
