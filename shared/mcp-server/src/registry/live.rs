//! A server's catalogue as it is now: the code's definitions merged with the server's
//! registry entries, kept in each instance and revalidated by version. A revalidation reads
//! the shared version (one Redis call) and, only when it moved, the registry (DynamoDB).
//! When Redis cannot be read, the registry's own version is read instead (one DynamoDB
//! call): slower, never stale. A snapshot also expires after [`MAX_AGE`], which bounds how
//! long an instance can miss a change whose version bump failed.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use super::lambda::ToolInvoker;
use super::store::{Catalogue, RegistryStore, version_key};
use crate::server::Server;
use crate::state::Versions;

/// The longest a snapshot is served without reading the registry itself.
pub const MAX_AGE: Duration = Duration::from_secs(60);

pub struct LiveCatalogue {
    code: Arc<Server>,
    /// The server's name in the registry.
    name: String,
    store: Arc<dyn RegistryStore>,
    versions: Arc<dyn Versions>,
    invoker: Option<Arc<dyn ToolInvoker>>,
    snapshot: RwLock<Snapshot>,
    /// One reload at a time per instance; the others wait for it and use its result.
    reloading: tokio::sync::Mutex<()>,
}

#[derive(Clone)]
struct Snapshot {
    server: Arc<Server>,
    /// The shared version it was read at (`None`: not read through Redis).
    shared: Option<u64>,
    /// The registry's version it holds (`None`: the server is not registered).
    stored: Option<u64>,
    read_at: Instant,
}

impl LiveCatalogue {
    /// The catalogue of `code` plus the registry's entries under `name`. Nothing is read
    /// until the first [`fresh`](Self::fresh).
    pub fn new(
        code: Arc<Server>,
        name: impl Into<String>,
        store: Arc<dyn RegistryStore>,
        versions: Arc<dyn Versions>,
        invoker: Option<Arc<dyn ToolInvoker>>,
    ) -> Self {
        let name = name.into();
        let empty = Catalogue { server: Default::default(), version: 0, entries: Vec::new() };
        let server = code.merged(&empty, None).map_or_else(|_| code.clone(), |(s, _)| Arc::new(s));
        // Read long ago: the first revalidation reloads.
        let read_at = Instant::now().checked_sub(MAX_AGE * 2).unwrap_or_else(Instant::now);
        LiveCatalogue {
            code,
            name,
            store,
            versions,
            invoker,
            snapshot: RwLock::new(Snapshot { server, shared: None, stored: None, read_at }),
            reloading: tokio::sync::Mutex::new(()),
        }
    }

    /// The definitions from code alone (they win every clash).
    pub fn code(&self) -> &Arc<Server> {
        &self.code
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The catalogue as last read, without any remote call.
    pub fn cached(&self) -> Arc<Server> {
        self.read().server
    }

    fn read(&self) -> Snapshot {
        self.snapshot.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The current catalogue (see the module's documentation for what it costs).
    pub async fn fresh(&self) -> Arc<Server> {
        let key = version_key(&self.name);
        let shared = self.versions.current(&key).await;
        let seen = self.read();
        let young = seen.read_at.elapsed() < MAX_AGE;
        match shared {
            Ok(v) if young && seen.shared == Some(v) => return seen.server,
            Ok(v) => return self.reload(Some(v)).await,
            Err(_) => {}
        }
        match self.store.version(&self.name).await {
            Ok(stored) if young && stored == seen.stored => seen.server,
            Ok(_) => self.reload(None).await,
            Err(e) => {
                tracing::warn!(server = %self.name, error = %e, "registry unreadable: serving the catalogue last read");
                seen.server
            }
        }
    }

    /// Reads the registry and merges it; on failure keeps the last catalogue.
    async fn reload(&self, shared: Option<u64>) -> Arc<Server> {
        let _one = self.reloading.lock().await;
        let seen = self.read();
        // Someone reloaded at this shared version while we waited.
        if shared.is_some() && seen.shared == shared && seen.read_at.elapsed() < MAX_AGE {
            return seen.server;
        }
        let catalogue = match self.store.catalogue(&self.name).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(server = %self.name, error = %e, "registry unreadable: serving the catalogue last read");
                return seen.server;
            }
        };
        let stored = catalogue.as_ref().map(|c| c.version);
        let empty = Catalogue { server: Default::default(), version: 0, entries: Vec::new() };
        let server = match self.code.merged(catalogue.as_ref().unwrap_or(&empty), self.invoker.as_ref()) {
            Ok((server, _skipped)) => Arc::new(server),
            Err(e) => {
                tracing::error!(server = %self.name, error = %e, "catalogue not rebuilt");
                return seen.server;
            }
        };
        let snapshot = Snapshot { server: server.clone(), shared, stored, read_at: Instant::now() };
        *self.snapshot.write().unwrap_or_else(|e| e.into_inner()) = snapshot;
        server
    }
}
