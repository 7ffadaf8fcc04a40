//! The registry's admin interface as a library (the `mcp-registry` CLI is a shell over it):
//! every entry is validated before anything is written; every change bumps the server's
//! shared version, so that every instance's cached catalogue is revalidated at its next
//! list, and notifies the sessions and streams that follow the changed list
//! (`notifications/tools/list_changed` and the resource and prompt equivalents).

use std::collections::BTreeMap;
use std::sync::Arc;

use super::build::code_defines;
use super::entry::{Entry, EntryKind, InvalidEntry, ServerEntry};
use super::store::{Catalogue, RegistryStore, version_key};
use crate::notifications::ListKind;
use crate::notifier::Notifier;
use crate::server::Server;
use crate::state::{StateError, Versions};

/// Why an admin operation was refused or failed. Validation comes first, so an invalid entry
/// leaves the registry as it was.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The server or entry failed validation; nothing was written.
    #[error("invalid entry: {0}")]
    Invalid(#[from] InvalidEntry),
    /// No server of that name is registered: entries need their server registered first.
    #[error("no server named {0} is registered")]
    UnknownServer(String),
    /// The entry to remove does not exist.
    #[error("server {server} has no {kind} {name}")]
    NotFound {
        /// The server it was looked for in.
        server: String,
        /// Its kind, as [`EntryKind::as_str`] spells it.
        kind: &'static str,
        /// Its name in that kind (a name, URI or URI template).
        name: String,
    },
    /// The registry store could not be read or written (unreachable, throttled).
    #[error(transparent)]
    State(#[from] StateError),
}

/// What a change did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Change {
    /// The server's version after the change.
    pub version: u64,
    /// Sessions, connections and streams the `list_changed` notifications reached.
    pub notified: usize,
    /// What the change does not do as asked: an entry that code defines too (code wins),
    /// a version bump or notification that failed (instances then see the change within
    /// a minute, at their next revalidation).
    pub warnings: Vec<String>,
}

/// Registers, changes and removes servers and their entries: validation first, then the
/// write, then the server's shared version and the `list_changed` notifications.
pub struct Admin {
    store: Arc<dyn RegistryStore>,
    /// The deployment's shared versions (Redis); `None` when the admin cannot reach them.
    versions: Option<Arc<dyn Versions>>,
    notifier: Notifier,
    /// The code's catalogue of servers defined in code, by name: to report clashes.
    code: BTreeMap<String, Arc<Server>>,
}

impl Admin {
    /// `versions`: the deployment's shared versions (Redis), if it has them and they can be
    /// reached from here; without them instances that revalidate through Redis see a change
    /// within [`MAX_AGE`](super::live::MAX_AGE), and every change says so. `notifier`
    /// delivers to the followers of whichever server a change is about.
    pub fn new(store: Arc<dyn RegistryStore>, versions: Option<Arc<dyn Versions>>, notifier: Notifier) -> Self {
        Admin { store, versions, notifier, code: BTreeMap::new() }
    }

    /// Names a server defined in code, whose definitions win over registry entries.
    pub fn with_code(mut self, name: impl Into<String>, server: Arc<Server>) -> Self {
        self.code.insert(name.into(), server);
        self
    }

    /// Registers a server, or replaces its description (its entries stay), after validating it.
    /// No list changes, so nobody is notified; the version bump makes instances read the new
    /// principals and limits.
    pub async fn put_server(&self, server: &ServerEntry) -> Result<Change, AdminError> {
        server.validate()?;
        let version = self.store.put_server(server).await?;
        Ok(self.changed(&server.name, version, &[], Vec::new()).await)
    }

    /// Removes a server and all its entries, and tells its followers that every list changed
    /// (the change's version is then 0).
    pub async fn remove_server(&self, name: &str) -> Result<Change, AdminError> {
        if !self.store.remove_server(name).await? {
            return Err(AdminError::UnknownServer(name.to_owned()));
        }
        Ok(self.changed(name, 0, &[ListKind::Tools, ListKind::Resources, ListKind::Prompts], Vec::new()).await)
    }

    /// Adds or replaces an entry, after validating it.
    pub async fn put(&self, server: &str, entry: &Entry) -> Result<Change, AdminError> {
        entry.validate()?;
        let mut warnings = Vec::new();
        if self.code.get(server).is_some_and(|code| code_defines(code, entry)) {
            warnings.push(format!(
                "{} {} is defined in code, which wins: the entry is stored but not served",
                entry.kind().as_str(),
                entry.name()
            ));
        }
        let version =
            self.store.put_entry(server, entry).await?.ok_or_else(|| AdminError::UnknownServer(server.to_owned()))?;
        Ok(self.changed(server, version, &[list_of(entry.kind())], warnings).await)
    }

    /// Removes one entry of a server; [`AdminError::NotFound`] if the server has no such entry
    /// (or is not registered).
    pub async fn remove(&self, server: &str, kind: EntryKind, name: &str) -> Result<Change, AdminError> {
        let version = self.store.remove_entry(server, kind, name).await?.ok_or_else(|| AdminError::NotFound {
            server: server.to_owned(),
            kind: kind.as_str(),
            name: name.to_owned(),
        })?;
        Ok(self.changed(server, version, &[list_of(kind)], Vec::new()).await)
    }

    /// A registered server's description and entries, read at one version.
    pub async fn catalogue(&self, server: &str) -> Result<Catalogue, AdminError> {
        self.store.catalogue(server).await?.ok_or_else(|| AdminError::UnknownServer(server.to_owned()))
    }

    /// Every registered server's description.
    pub async fn servers(&self) -> Result<Vec<ServerEntry>, AdminError> {
        Ok(self.store.servers().await?)
    }

    /// After a write: the shared version, then the notifications. Neither failing undoes
    /// the write; both are reported.
    async fn changed(&self, server: &str, version: u64, lists: &[ListKind], mut warnings: Vec<String>) -> Change {
        match &self.versions {
            Some(versions) => {
                if let Err(e) = versions.bump(&version_key(server)).await {
                    warnings.push(format!(
                        "the shared version was not bumped ({e}): instances see the change within a minute"
                    ));
                }
            }
            None => warnings.push(
                "no shared versions (Redis) given: instances that use Redis see the change within a minute, and HTTP streams are not notified"
                    .into(),
            ),
        }
        let mut notified = 0;
        for list in lists {
            match self.notifier.for_server(server).list_changed(*list).await {
                Ok(n) => notified += n,
                Err(e) => warnings.push(format!("{list:?} followers not notified: {e}")),
            }
        }
        Change { version, notified, warnings }
    }
}

fn list_of(kind: EntryKind) -> ListKind {
    match kind {
        EntryKind::Tool => ListKind::Tools,
        EntryKind::Resource | EntryKind::ResourceTemplate => ListKind::Resources,
        EntryKind::Prompt => ListKind::Prompts,
    }
}
