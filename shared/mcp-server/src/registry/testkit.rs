//! The suite every registry store must pass (feature `testkit`): versions move with every
//! change, entries replace by kind and name, and a server's removal takes its entries.
//! Names are unique per run, so a shared table can be used.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use serde_json::json;

use super::entry::{Entry, EntryKind, ServerEntry};
use super::store::{Catalogue, MemoryRegistry, RegistryStore};
use crate::state::{StateError, StateResult};

fn entry(value: serde_json::Value) -> Entry {
    serde_json::from_value(value).unwrap_or_else(|e| panic!("entry: {e}"))
}

/// Every behaviour a `RegistryStore` backend must have: versioned writes, reads, removal.
pub async fn registry_suite(store: &dyn RegistryStore) {
    let name = format!("suite-{}", crate::ids::random_id().replace(['-', '_'], ""));
    let server = ServerEntry { name: name.clone(), title: Some("Suite".into()), ..Default::default() };
    let tool = |description: &str| {
        entry(json!({
            "kind": "tool", "name": "word_count", "description": description,
            "inputSchema": {"type": "object"},
            "implementation": {"type": "lambda", "function": "word-count", "timeoutMs": 2000},
        }))
    };
    let note = entry(json!({"kind": "resource", "uri": "doc://readme", "name": "readme", "text": "Hello"}));

    assert_eq!(store.catalogue(&name).await.unwrap(), None);
    assert_eq!(store.version(&name).await.unwrap(), None);
    assert_eq!(store.put_entry(&name, &note).await.unwrap(), None, "no entry without its server");

    let v1 = store.put_server(&server).await.unwrap();
    let v2 = store.put_entry(&name, &tool("first")).await.unwrap().unwrap();
    let v3 = store.put_entry(&name, &note).await.unwrap().unwrap();
    let v4 = store.put_entry(&name, &tool("second")).await.unwrap().unwrap();
    assert!(v1 < v2 && v2 < v3 && v3 < v4, "every change moves the version: {v1} {v2} {v3} {v4}");
    let catalogue = store.catalogue(&name).await.unwrap().unwrap();
    assert_eq!((catalogue.server.clone(), catalogue.version), (server.clone(), v4));
    assert_eq!(catalogue.entries.len(), 2, "a put replaces the entry of the same kind and name");
    assert!(catalogue.entries.contains(&tool("second")) && catalogue.entries.contains(&note));
    assert_eq!(store.version(&name).await.unwrap(), Some(v4));
    assert!(store.servers().await.unwrap().contains(&server));

    assert_eq!(store.remove_entry(&name, EntryKind::Prompt, "word_count").await.unwrap(), None, "kinds are apart");
    let v5 = store.remove_entry(&name, EntryKind::Tool, "word_count").await.unwrap().unwrap();
    assert!(v5 > v4);
    assert_eq!(store.catalogue(&name).await.unwrap().unwrap().entries, [note]);

    assert!(store.remove_server(&name).await.unwrap());
    assert!(!store.remove_server(&name).await.unwrap());
    assert_eq!(store.catalogue(&name).await.unwrap(), None);
    assert_eq!(store.version(&name).await.unwrap(), None);
    // Registered again, it starts without the old entries, at a version none of its
    // earlier readers has seen.
    let again = store.put_server(&server).await.unwrap();
    assert!(store.catalogue(&name).await.unwrap().unwrap().entries.is_empty());
    assert!(again > v5, "versions never go back: {again} after {v5}");
    store.remove_server(&name).await.unwrap();
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn the_memory_registry_passes() {
        super::registry_suite(&super::super::store::MemoryRegistry::default()).await;
    }
}

/// A registry that can be taken down, counting the reads that reach it.
#[derive(Default)]
pub struct FlakyRegistry {
    /// The registry the faults are put in front of.
    pub inner: MemoryRegistry,
    /// While set, every read fails as unavailable.
    pub down: AtomicBool,
    /// Reads that reached the registry (the failed ones included).
    pub reads: AtomicUsize,
}

impl FlakyRegistry {
    fn read(&self) -> StateResult<()> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        if self.down.load(Ordering::SeqCst) { Err(StateError::Unavailable("down".into())) } else { Ok(()) }
    }
}

#[async_trait]
impl RegistryStore for FlakyRegistry {
    async fn put_server(&self, server: &ServerEntry) -> StateResult<u64> {
        self.inner.put_server(server).await
    }
    async fn remove_server(&self, name: &str) -> StateResult<bool> {
        self.inner.remove_server(name).await
    }
    async fn put_entry(&self, server: &str, entry: &Entry) -> StateResult<Option<u64>> {
        self.inner.put_entry(server, entry).await
    }
    async fn remove_entry(&self, server: &str, kind: EntryKind, name: &str) -> StateResult<Option<u64>> {
        self.inner.remove_entry(server, kind, name).await
    }
    async fn version(&self, server: &str) -> StateResult<Option<u64>> {
        self.read()?;
        self.inner.version(server).await
    }
    async fn catalogue(&self, server: &str) -> StateResult<Option<Catalogue>> {
        self.read()?;
        self.inner.catalogue(server).await
    }
    async fn servers(&self) -> StateResult<Vec<ServerEntry>> {
        self.inner.servers().await
    }
}
