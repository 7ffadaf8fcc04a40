//! The framework an MCP server is written with: define tools, resources, resource
//! templates, prompts and completions with typed async handlers; serve them through a
//! [`Router`] that speaks both protocol eras over state kept in [`state`] stores.
//!
//! ```text
//! Server (definition, immutable) ──► Router (one per instance) ──► Reply
//!                                         │
//!                                         └── StateHandles (sessions, subscriptions,
//!                                             nonces, bus, event log): shared by instances
//! ```

// The crate is part of the public API a server author reads: every public item says what it is.
#![warn(missing_docs)]

pub mod completion;
pub mod context;
pub mod error;
pub mod handler;
pub mod ids;
pub mod notifications;
pub mod notifier;
pub mod observe;
pub mod outbound;
pub mod pagination;
pub mod prompt;
pub mod registry;
pub mod request_state;
pub mod resource;
pub mod router;
pub mod schema;
pub mod server;
pub mod servers;
pub mod signals;
pub mod state;
pub mod store;
pub mod task_launch;
pub mod testing;
pub mod tool;
pub mod trace;
pub mod uri_template;

pub use context::RequestContext;
pub use error::{DefinitionError, HandlerError, InputError};
pub use handler::BoxFuture;
pub use notifications::{ListKind, Notifications};
pub use notifier::{Notifier, forget_connection};
pub use outbound::{ConnectionSink, Outbound, OutboundClosed, PostError};
pub use prompt::PromptDef;
pub use request_state::RequestStateCodec;
pub use resource::{ResourceDef, ResourceTemplateDef};
pub use router::{HttpHeaders, Inbound, Reply, ReplyStatus, Router, RouterConfig, Transport};
pub use schema::JsonSchema;
pub use server::{Server, ServerBuilder};
pub use servers::{Refusal, Servers};
pub use state::StateHandles;
pub use store::{Store, StoreError};
pub use task_launch::{TaskLauncher, TaskRun};
pub use tool::{TaskSupport, ToolBuilder, ToolDef, ToolError};
