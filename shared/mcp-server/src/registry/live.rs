//! A server's catalogue as it is now: the code's definitions merged with the server's
//! registry entries, kept in each instance and revalidated by version. A revalidation reads
//! the shared version (one Redis call) and, only when it moved, the registry (DynamoDB).
//! Without Redis, or when it cannot be read, the registry's own version is read instead (one
//! DynamoDB call): slower, not stale. A snapshot also expires after [`MAX_AGE`], which bounds
//! how long an instance can miss a change whose version bump failed. A registry that does
//! not answer is not asked again for [`RETRY_AFTER`]; the last catalogue is served meanwhile.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::time::Instant;

use super::entry::ServerEntry;
use super::lambda::ToolInvoker;
use super::store::{Catalogue, RegistryStore, version_key};
use crate::server::Server;
use crate::state::Versions;

/// The longest a snapshot is served without reading the registry itself.
pub const MAX_AGE: Duration = Duration::from_secs(60);

/// One server's catalogue in one instance: the code's definitions merged with the server's
/// registry entries, cached and revalidated by version (see the module's documentation).
pub struct LiveCatalogue {
    code: Arc<Server>,
    /// The server's name in the registry.
    name: String,
    store: Arc<dyn RegistryStore>,
    /// The shared versions (Redis); without them every revalidation reads the registry's
    /// version (one DynamoDB read).
    versions: Option<Arc<dyn Versions>>,
    invoker: Option<Arc<dyn ToolInvoker>>,
    snapshot: RwLock<Snapshot>,
    /// One reload at a time per instance; those waiting use its result.
    reloading: tokio::sync::Mutex<()>,
}

/// How long an instance waits before trying a registry that failed to answer again: in the
/// meantime it serves the catalogue it has, without waiting on the registry.
pub const RETRY_AFTER: Duration = Duration::from_secs(5);

#[derive(Clone)]
struct Snapshot {
    server: Arc<Server>,
    /// The shared version it was read at (`None`: not read through Redis).
    shared: Option<u64>,
    /// The registry's version it holds (`None`: the server is not registered).
    stored: Option<u64>,
    /// The server's registration as read (who may use it, its limits).
    registration: Registration,
    read_at: Instant,
    /// Counts reload attempts, so that those who waited for one use its outcome.
    generation: u64,
    /// After a failed reload: no new attempt before this.
    retry_at: Option<Instant>,
}

impl LiveCatalogue {
    /// The catalogue of `code` plus the registry's entries under `name`. Nothing is read
    /// until the first [`fresh`](Self::fresh).
    pub fn new(
        code: Arc<Server>,
        name: impl Into<String>,
        store: Arc<dyn RegistryStore>,
        versions: Option<Arc<dyn Versions>>,
        invoker: Option<Arc<dyn ToolInvoker>>,
    ) -> Self {
        let name = name.into();
        let server = code.merged(&Catalogue::default(), None).map_or_else(|_| code.clone(), |(s, _)| Arc::new(s));
        // Read long ago: the first revalidation reloads.
        let read_at = Instant::now().checked_sub(MAX_AGE * 2).unwrap_or_else(Instant::now);
        let snapshot = Snapshot {
            server,
            shared: None,
            stored: None,
            registration: Registration::Unread,
            read_at,
            generation: 0,
            retry_at: None,
        };
        LiveCatalogue {
            code,
            name,
            store,
            versions,
            invoker,
            snapshot: RwLock::new(snapshot),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// The catalogue as last read, without any remote call.
    pub fn cached(&self) -> Arc<Server> {
        self.read().server
    }

    /// The server's registration as last read, without any remote call.
    pub fn registration(&self) -> Registration {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).registration.clone()
    }

    /// Revalidates (see [`fresh`](Self::fresh)) if the last read is older than `max_age`
    /// or there was none; otherwise nothing. Asked on every message, so it copies nothing.
    pub async fn fresh_within(&self, max_age: Duration) {
        let young = {
            let seen = self.snapshot.read().unwrap_or_else(|e| e.into_inner());
            seen.registration != Registration::Unread && seen.read_at.elapsed() < max_age
        };
        if !young {
            Box::pin(self.fresh()).await;
        }
    }

    /// Another server of the same registry, served by code's `code` (an empty server for
    /// one that exists only in the registry).
    pub fn for_server(&self, code: Arc<Server>, name: impl Into<String>) -> LiveCatalogue {
        LiveCatalogue::new(code, name, self.store.clone(), self.versions.clone(), self.invoker.clone())
    }

    /// The server's name in the registry.
    pub fn name(&self) -> &str {
        &self.name
    }

    fn read(&self) -> Snapshot {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The current catalogue (see the module's documentation for what it costs).
    pub async fn fresh(&self) -> Arc<Server> {
        let seen = self.read();
        if seen.retry_at.is_some_and(|at| Instant::now() < at) {
            return seen.server;
        }
        let young = seen.read_at.elapsed() < MAX_AGE;
        if let Some(versions) = &self.versions {
            match versions.current(&version_key(&self.name)).await {
                Ok(v) if young && seen.shared == Some(v) => return seen.server,
                Ok(v) => return self.reload(&seen, Some(v)).await,
                Err(_) => {}
            }
        }
        match self.store.version(&self.name).await {
            Ok(stored) if young && stored == seen.stored => seen.server,
            Ok(_) => self.reload(&seen, None).await,
            Err(e) => {
                tracing::warn!(server = %self.name, error = %e, "registry unreadable: serving the catalogue last read");
                self.failed(&seen)
            }
        }
    }

    /// Reads the registry and merges it; on failure keeps the last catalogue for a while.
    async fn reload(&self, seen: &Snapshot, shared: Option<u64>) -> Arc<Server> {
        let _one = self.reloading.lock().await;
        let now = self.read();
        // Someone reloaded (or failed to) while we waited: use that.
        if now.generation != seen.generation {
            return now.server;
        }
        let catalogue = match self.store.catalogue(&self.name).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(server = %self.name, error = %e, "registry unreadable: serving the catalogue last read");
                return self.failed(&now);
            }
        };
        let stored = catalogue.as_ref().map(|c| c.version);
        let registration = match &catalogue {
            Some(c) => Registration::Registered(Arc::new(c.server.clone())),
            None => Registration::Absent,
        };
        let none = Catalogue::default();
        let server = match self.code.merged(catalogue.as_ref().unwrap_or(&none), self.invoker.as_ref()) {
            Ok((server, _skipped)) => Arc::new(server),
            Err(e) => {
                tracing::error!(server = %self.name, error = %e, "catalogue not rebuilt");
                return self.failed(&now);
            }
        };
        let next = Snapshot {
            server: server.clone(),
            shared,
            stored,
            registration,
            read_at: Instant::now(),
            generation: now.generation + 1,
            retry_at: None,
        };
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = next;
        server
    }

    /// Remembers a failed revalidation: the last catalogue is served, and the registry is not
    /// asked again for [`RETRY_AFTER`].
    fn failed(&self, seen: &Snapshot) -> Arc<Server> {
        let mut snapshot = self.snapshot.write().unwrap_or_else(|e| e.into_inner());
        if snapshot.generation == seen.generation {
            snapshot.generation += 1;
            snapshot.retry_at = Some(Instant::now() + RETRY_AFTER);
        }
        snapshot.server.clone()
    }
}

/// What the registry says of a server.
#[derive(Clone, Debug, PartialEq)]
pub enum Registration {
    /// Not read yet (or never successfully).
    Unread,
    /// Not registered.
    Absent,
    /// Registered, with its description (who may use it, its rate limit).
    Registered(Arc<ServerEntry>),
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::registry::entry::{Entry, EntryKind, ServerEntry};
    use crate::registry::testkit::FlakyRegistry;

    fn doc() -> Entry {
        serde_json::from_value(
            serde_json::json!({"kind": "resource", "uri": "doc://guide", "name": "guide", "text": "Hi"}),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[tokio::test(start_paused = true)]
    async fn without_shared_versions_changes_are_seen_and_a_down_registry_is_not_hammered() {
        let store = Arc::new(FlakyRegistry::default());
        let code = Arc::new(Server::builder("s", "1").build().unwrap_or_else(|e| panic!("{e}")));
        let live = LiveCatalogue::new(code, "s", store.clone(), None, None);
        store.put_server(&ServerEntry { name: "s".into(), ..Default::default() }).await.ok();
        store.put_entry("s", &doc()).await.ok();
        assert!(live.fresh().await.serves_uri("doc://guide"), "registered: served");
        store.remove_entry("s", EntryKind::Resource, "doc://guide").await.ok();
        assert!(!live.fresh().await.serves_uri("doc://guide"), "removed: gone at the next revalidation");

        store.put_entry("s", &doc()).await.ok();
        store.down.store(true, Ordering::SeqCst);
        let before = store.reads.load(Ordering::SeqCst);
        assert!(!live.fresh().await.serves_uri("doc://guide"), "the last catalogue, while the registry is down");
        assert!(!live.fresh().await.serves_uri("doc://guide"));
        assert_eq!(store.reads.load(Ordering::SeqCst), before + 1, "one attempt, then a pause");
        store.down.store(false, Ordering::SeqCst);
        tokio::time::advance(RETRY_AFTER + Duration::from_secs(1)).await;
        assert!(live.fresh().await.serves_uri("doc://guide"), "back: the change is seen");
    }
}
