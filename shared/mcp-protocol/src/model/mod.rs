//! The MCP protocol model: every request, result and notification a server sends or
//! receives, in both eras. One concept per file.

pub mod cache;
pub mod completion;
pub mod content;
pub mod input;
pub mod lifecycle;
pub mod logging;
pub mod meta;
pub mod notifications;
pub mod pagination;
pub mod prompts;
pub mod resources;
pub mod result;
pub mod subscriptions;
pub mod tasks;
pub mod tools;
pub mod version;

pub use cache::{CacheHint, CacheScope};
pub use completion::{CompleteParams, CompleteResult, Completion, CompletionRef};
pub use content::{Annotations, ContentBlock, Icon, ResourceContents, ResourceLink, Role};
pub use input::{
    CreateMessageParams, CreateMessageResult, ElicitAction, ElicitRequestParams, ElicitResult, InputRequest,
    InputRequiredResult, InputResponses, ListRootsResult, Root,
};
pub use lifecycle::{
    ClientCapabilities, DiscoverResult, Implementation, InitializeParams, InitializeResult, ServerCapabilities,
};
pub use logging::LoggingLevel;
pub use meta::{Meta, RequestMeta};
pub use prompts::{GetPromptParams, GetPromptResult, Prompt, PromptArgument, PromptMessage};
pub use resources::{ReadResourceParams, ReadResourceResult, Resource, ResourceTemplate};
pub use result::{ResultType, WireResult};
pub use subscriptions::SubscriptionFilter;
pub use tasks::{TaskInfo, TaskStatus};
pub use tools::{CallToolParams, CallToolResult, Tool, ToolAnnotations};
pub use version::{Era, ProtocolVersion};
