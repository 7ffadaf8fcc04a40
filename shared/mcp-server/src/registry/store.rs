//! Where registered servers and their entries are kept: the registry table in a deployment
//! (`mcp-state-dynamodb`), memory here. Each server has a version that every change of
//! the server or of one of its entries increases, in the same atomic write as the change;
//! a server removed and registered again never repeats an earlier version.

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;

use super::entry::{Entry, EntryKind, ServerEntry};
use crate::state::StateResult;

/// A server's registered catalogue, read at one version.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalogue {
    /// The server's description.
    pub server: ServerEntry,
    /// The server's version the catalogue was read at.
    pub version: u64,
    /// The server's registered entries.
    pub entries: Vec<Entry>,
}

/// Where registered servers and their entries are kept: the registry table
/// (`mcp-state-dynamodb`) in a deployment, [`MemoryRegistry`] in one process. Every change
/// increases the server's version in the same atomic write.
#[async_trait]
pub trait RegistryStore: Send + Sync {
    /// Creates or replaces a server's description; returns its new version.
    async fn put_server(&self, server: &ServerEntry) -> StateResult<u64>;
    /// Removes a server and all its entries; `false` if there was none.
    async fn remove_server(&self, name: &str) -> StateResult<bool>;
    /// Adds or replaces an entry of an existing server; its new version, or `None` if the
    /// server is not registered.
    async fn put_entry(&self, server: &str, entry: &Entry) -> StateResult<Option<u64>>;
    /// Removes an entry; the server's new version, or `None` if there was no such entry.
    async fn remove_entry(&self, server: &str, kind: EntryKind, name: &str) -> StateResult<Option<u64>>;
    /// The server's current version (`None`: not registered), for revalidating a cached
    /// catalogue when the shared version in Redis cannot be read.
    async fn version(&self, server: &str) -> StateResult<Option<u64>>;
    /// The server's catalogue, consistent with its version.
    async fn catalogue(&self, server: &str) -> StateResult<Option<Catalogue>>;
    /// Every registered server.
    async fn servers(&self) -> StateResult<Vec<ServerEntry>>;
}

/// The key of the shared version (Redis) of a server's catalogue.
pub fn version_key(server: &str) -> String {
    format!("registry:{server}")
}

/// The registry in memory: one process. Versions come from one counter, so a server
/// removed and registered again never repeats a version.
#[derive(Default)]
pub struct MemoryRegistry {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    servers: BTreeMap<String, Catalogue>,
    last_version: u64,
}

impl Inner {
    fn next_version(&mut self) -> u64 {
        self.last_version += 1;
        self.last_version
    }
}

impl MemoryRegistry {
    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

#[async_trait]
impl RegistryStore for MemoryRegistry {
    async fn put_server(&self, server: &ServerEntry) -> StateResult<u64> {
        Ok(self.with(|r| {
            let version = r.next_version();
            let c = r.servers.entry(server.name.clone()).or_insert_with(|| Catalogue {
                server: server.clone(),
                version,
                entries: Vec::new(),
            });
            c.server = server.clone();
            c.version = version;
            version
        }))
    }

    async fn remove_server(&self, name: &str) -> StateResult<bool> {
        Ok(self.with(|r| r.servers.remove(name).is_some()))
    }

    async fn put_entry(&self, server: &str, entry: &Entry) -> StateResult<Option<u64>> {
        Ok(self.with(|r| {
            r.servers.get(server)?;
            let version = r.next_version();
            let c = r.servers.get_mut(server)?;
            c.entries.retain(|e| (e.kind(), e.name()) != (entry.kind(), entry.name()));
            c.entries.push(entry.clone());
            c.version = version;
            Some(version)
        }))
    }

    async fn remove_entry(&self, server: &str, kind: EntryKind, name: &str) -> StateResult<Option<u64>> {
        Ok(self.with(|r| {
            let c = r.servers.get(server)?;
            if !c.entries.iter().any(|e| (e.kind(), e.name()) == (kind, name)) {
                return None;
            }
            let version = r.next_version();
            let c = r.servers.get_mut(server)?;
            c.entries.retain(|e| (e.kind(), e.name()) != (kind, name));
            c.version = version;
            Some(version)
        }))
    }

    async fn version(&self, server: &str) -> StateResult<Option<u64>> {
        Ok(self.with(|r| r.servers.get(server).map(|c| c.version)))
    }

    async fn catalogue(&self, server: &str) -> StateResult<Option<Catalogue>> {
        Ok(self.with(|r| {
            r.servers.get(server).cloned().map(|mut c| {
                c.entries.sort_by(|a, b| (a.kind(), a.name()).cmp(&(b.kind(), b.name())));
                c
            })
        }))
    }

    async fn servers(&self) -> StateResult<Vec<ServerEntry>> {
        Ok(self.with(|r| r.servers.values().map(|c| c.server.clone()).collect()))
    }
}
