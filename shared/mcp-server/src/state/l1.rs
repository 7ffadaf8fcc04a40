//! L1: a bounded cache of sessions in each warm instance, as a decorator over the session
//! store. It never holds the only copy of anything: every write goes to the store first.
//!
//! Freshness: every write bumps the session's version in the shared [`Versions`] (Redis);
//! a cached session is served only while its version is unchanged, so a warm read costs one
//! Redis call and no DynamoDB call. An instance whose L1 misses reads the shared copy in
//! Redis (kept with the version it was read at) before the store. If the versions cannot be
//! read (Redis down), reads go to the store: slower, never stale.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;

use super::{LoggingLevel, SessionRecord, SessionStore, StateResult, Versions, now_ms};

/// How many sessions an instance keeps.
const CAPACITY: usize = 10_000;
/// Locks the sessions are spread over, so that lookups on many threads rarely meet.
const SHARDS: usize = 16;
/// Sessions one shard keeps: its share, and a quarter more, since ids do not spread evenly
/// (so `CAPACITY` sessions fit; at most 12,500 are kept).
const PER_SHARD: usize = CAPACITY / SHARDS * 5 / 4;
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
    cache: Entries,
}

/// The sessions an instance keeps, each with the version it was read at. A lookup takes a
/// read lock on one shard and hands out the shared record (no copy); a full shard makes room
/// by dropping what it no longer serves, else a random entry (an L1 miss costs one read of the
/// shared copy). Ends are wall-clock milliseconds, as records' expiries are.
struct Entries {
    shards: Box<[Shard]>,
}

/// One lock's share of the entries, by session id (hashed with a fast, randomly seeded hash:
/// the ids are the server's own, read on every session-era request).
type Shard = RwLock<HashMap<Box<str>, Entry, foldhash::fast::RandomState>>;

struct Entry {
    version: u64,
    session: Arc<SessionRecord>,
    /// When the entry is no longer served, whatever its version says: the session's expiry,
    /// or `TTL` after it was kept, whichever comes first.
    until_ms: u64,
}

impl Entries {
    fn new() -> Self {
        Entries { shards: (0..SHARDS).map(|_| RwLock::new(HashMap::default())).collect() }
    }

    /// FNV-1a over the id: cheap, and ids are random already.
    fn hash(id: &str) -> u32 {
        id.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
    }

    fn shard(&self, id: &str) -> &Shard {
        &self.shards[Self::hash(id) as usize % SHARDS]
    }

    /// The session kept for `id` if it was read at `version` and is still live.
    fn get(&self, id: &str, version: u64) -> Option<Arc<SessionRecord>> {
        let shard = self.shard(id).read().unwrap_or_else(|e| e.into_inner());
        let entry = shard.get(id)?;
        (entry.version == version && entry.until_ms > now_ms()).then(|| entry.session.clone())
    }

    fn insert(&self, id: &str, version: u64, session: Arc<SessionRecord>) {
        let now = now_ms();
        let mut shard = self.shard(id).write().unwrap_or_else(|e| e.into_inner());
        if shard.len() >= PER_SHARD && !shard.contains_key(id) {
            // Room: first from entries no longer served, else one picked at random (by the
            // new id's hash): unlike the oldest, a random victim does not make a scan over
            // more sessions than fit miss on every lookup.
            shard.retain(|_, e| e.until_ms > now);
            if shard.len() >= PER_SHARD
                && let Some(victim) = shard.keys().nth(Self::hash(id) as usize % shard.len()).cloned()
            {
                shard.remove(&victim);
            }
        }
        let until_ms = session.expires_at_ms.min(now + TTL.as_millis() as u64);
        shard.insert(id.into(), Entry { version, session, until_ms });
    }

    fn invalidate(&self, id: &str) {
        self.shard(id).write().unwrap_or_else(|e| e.into_inner()).remove(id);
    }
}

fn version_key(id: &str) -> String {
    format!("session:{id}")
}

/// [`version_key`] built on the stack for ids of ordinary length: a warm lookup allocates
/// nothing.
struct VersionKey {
    buf: [u8; 96],
    len: usize,
    long: Option<String>,
}

impl VersionKey {
    const PREFIX: &'static [u8] = b"session:";

    fn new(id: &str) -> Self {
        let mut key = VersionKey { buf: [0; 96], len: Self::PREFIX.len() + id.len(), long: None };
        match key.buf.get_mut(..key.len) {
            Some(buf) => {
                buf[..Self::PREFIX.len()].copy_from_slice(Self::PREFIX);
                buf[Self::PREFIX.len()..].copy_from_slice(id.as_bytes());
            }
            None => key.long = Some(version_key(id)),
        }
        key
    }

    fn as_str(&self) -> &str {
        match &self.long {
            Some(long) => long,
            // A prefix and a `&str`, copied whole: valid UTF-8.
            None => std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default(),
        }
    }
}

impl CachedSessions {
    /// L1 over `inner`, the store of record; `versions` are the shared versions each write bumps
    /// and each cached read checks.
    pub fn new(inner: Arc<dyn SessionStore>, versions: Arc<dyn Versions>) -> Self {
        CachedSessions { inner, versions, cache: Entries::new() }
    }

    /// The shared copy, if it was read at the current version and has not expired.
    async fn shared_copy(&self, key: &str, version: u64) -> Option<Arc<SessionRecord>> {
        let (copy_version, bytes) = self.versions.copy(key).await.ok().flatten()?;
        let session: SessionRecord = serde_json::from_slice(&bytes).ok()?;
        (copy_version == version && session.expires_at_ms > now_ms()).then(|| Arc::new(session))
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
        self.cache.invalidate(id);
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
        self.cache.invalidate(&session.id);
        Ok(())
    }

    async fn get(&self, id: &str) -> StateResult<Option<Arc<SessionRecord>>> {
        let key = VersionKey::new(id);
        let key = key.as_str();
        let version = self.versions.current(key).await;
        if let Ok(v) = version {
            if let Some(session) = self.cache.get(id, v) {
                return Ok(Some(session));
            }
            if let Some(session) = self.shared_copy(key, v).await {
                self.cache.insert(id, v, session.clone());
                return Ok(Some(session));
            }
        }
        let found = self.inner.get(id).await?;
        match (&found, version) {
            (Some(session), Ok(v)) => {
                self.cache.insert(id, v, session.clone());
                self.keep_shared_copy(key, v, session).await;
            }
            _ => self.cache.invalidate(id),
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{CAPACITY, Entries, PER_SHARD, VersionKey, version_key};
    use crate::state::{DeliveryTarget, SessionRecord, now_ms};

    fn session(id: &str, expires_at_ms: u64) -> Arc<SessionRecord> {
        Arc::new(SessionRecord {
            id: id.into(),
            protocol_version: "2025-11-25".into(),
            client_capabilities: Default::default(),
            client_info: Default::default(),
            log_level: None,
            initialized: true,
            principal: None,
            server: None,
            delivery: DeliveryTarget::Connection(id.into()),
            created_at_ms: now_ms(),
            expires_at_ms,
        })
    }

    #[test]
    fn a_full_l1_drops_what_it_no_longer_serves_first_and_stays_bounded() {
        let l1 = Entries::new();
        let later = now_ms() + 3_600_000;
        // Half of the first ids hold sessions already expired: they go first.
        for i in 0..CAPACITY {
            let expires = if i % 2 == 0 { now_ms() - 1 } else { later };
            l1.insert(&format!("old-{i}"), 1, session(&format!("old-{i}"), expires));
        }
        for i in 0..CAPACITY / 4 {
            l1.insert(&format!("new-{i}"), 1, session(&format!("new-{i}"), later));
        }
        for shard in l1.shards.iter() {
            assert!(shard.read().unwrap().len() <= PER_SHARD);
        }
        let kept = |prefix: &str, n: usize| (0..n).filter(|i| l1.get(&format!("{prefix}-{i}"), 1).is_some()).count();
        assert_eq!(kept("new", CAPACITY / 4), CAPACITY / 4, "every new session is kept");
        assert!(kept("old", CAPACITY) >= CAPACITY / 4, "live old sessions made room only for what did not fit");
        assert!(l1.get("new-0", 2).is_none(), "another version is not served");
    }

    #[test]
    fn a_version_key_on_the_stack_is_the_same_key_as_one_on_the_heap() {
        for id in ["", "CjR4XdCaIAMCJ-w=", &"x".repeat(88), &"y".repeat(89), &"é".repeat(60)] {
            assert_eq!(VersionKey::new(id).as_str(), version_key(id), "{id}");
        }
    }
}
