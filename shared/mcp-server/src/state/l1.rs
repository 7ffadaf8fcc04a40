//! L1: a bounded cache of sessions in each warm instance, as a decorator over the session
//! store. It never holds the only copy of anything: every write goes to the store first.
//!
//! Freshness: every write bumps the session's version in the shared [`Versions`] (Redis);
//! a cached session is served only while its version is unchanged, so a warm read costs one
//! Redis call and no DynamoDB call. If the versions cannot be read (Redis down), reads go to
//! the store: slower, never stale.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use moka::future::Cache;

use super::{LoggingLevel, SessionRecord, SessionStore, StateResult, Versions, now_ms};

/// How many sessions an instance keeps.
const CAPACITY: u64 = 10_000;
/// An upper bound on how long an entry lives, whatever its version says.
const TTL: Duration = Duration::from_secs(300);

pub struct CachedSessions {
    inner: Arc<dyn SessionStore>,
    versions: Arc<dyn Versions>,
    cache: Cache<String, (u64, SessionRecord)>,
}

fn version_key(id: &str) -> String {
    format!("session:{id}")
}

impl CachedSessions {
    pub fn new(inner: Arc<dyn SessionStore>, versions: Arc<dyn Versions>) -> Self {
        CachedSessions { inner, versions, cache: Cache::builder().max_capacity(CAPACITY).time_to_live(TTL).build() }
    }

    /// After a write: tell every instance, and forget the local copy.
    async fn changed(&self, id: &str) {
        if let Err(e) = self.versions.bump(&version_key(id)).await {
            // Other instances may serve their copy until it expires (at most `TTL`).
            tracing::warn!(session = id, error = %e, "could not bump the session version");
        }
        self.cache.invalidate(id).await;
    }
}

#[async_trait]
impl SessionStore for CachedSessions {
    async fn create(&self, session: &SessionRecord) -> StateResult<()> {
        self.inner.create(session).await?;
        self.changed(&session.id).await;
        Ok(())
    }

    async fn get(&self, id: &str) -> StateResult<Option<SessionRecord>> {
        let version = self.versions.current(&version_key(id)).await;
        if let (Ok(v), Some((cached_v, session))) = (&version, self.cache.get(id).await)
            && *v == cached_v
            && session.expires_at_ms > now_ms()
        {
            return Ok(Some(session));
        }
        let found = self.inner.get(id).await?;
        match (&found, version) {
            (Some(session), Ok(v)) => self.cache.insert(id.to_owned(), (v, session.clone())).await,
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

    async fn delete(&self, id: &str) -> StateResult<bool> {
        let done = self.inner.delete(id).await?;
        self.changed(id).await;
        Ok(done)
    }
}
