//! The registry: a live catalogue kept in a table (DynamoDB in a deployment), so that
//! tools, resources, resource templates and prompts can be added, changed and removed
//! without redeploying, several servers can share a deployment, and a tool can be a Lambda
//! function written in any language.
//!
//! - [`entry`]: what is registered, and its validation;
//! - [`store`]: where it is kept ([`RegistryStore`], with an in-memory store here);
//! - [`live`]: a server's catalogue as it is now, cached per instance and revalidated by
//!   version, code and registry merged (code wins on a clash);
//! - [`lambda`]: the payload contract of Lambda-backed tools, and their handler;
//! - [`admin`]: registering, changing and removing, with validation first and
//!   `list_changed` notifications after.

pub mod admin;
mod build;
pub mod entry;
pub mod lambda;
pub mod live;
pub mod store;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

pub use admin::{Admin, AdminError, Change};
pub use entry::{Entry, EntryKind, ServerEntry, ToolImplementation};
pub use lambda::{InvokeError, ToolInvoker, ToolRequest};
pub use live::LiveCatalogue;
pub use store::{Catalogue, MemoryRegistry, RegistryStore};
