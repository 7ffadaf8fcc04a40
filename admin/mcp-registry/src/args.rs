//! The command line.

use clap::{Parser, Subcommand};

use mcp_server::registry::EntryKind;

#[derive(Parser)]
#[command(name = "mcp-registry", about = "Register, update, list and remove MCP servers and their catalogue entries")]
pub struct Args {
    /// DynamoDB at this endpoint (LocalStack, moto, ...); without it, DynamoDB in the
    /// configured AWS region.
    #[arg(long, env = "MCP_DYNAMODB_ENDPOINT", global = true)]
    pub dynamodb_endpoint: Option<String>,
    /// The registry table.
    #[arg(long, env = "MCP_REGISTRY_TABLE", default_value = "mcp-registry", global = true)]
    pub registry_table: String,
    /// Create the registry table (as infra/template.yaml declares it) if missing.
    #[arg(long, global = true)]
    pub create_table: bool,
    /// The deployment's table, where sessions and connections follow the lists (for the
    /// `list_changed` notifications).
    #[arg(long, env = "MCP_TABLE", default_value = "mcp-serverless", global = true)]
    pub table: String,
    /// Redis of the deployment: the shared versions instances revalidate against, and the
    /// streams of HTTP sessions. Without it, instances see a change within a minute and
    /// HTTP streams are not notified.
    #[arg(long, env = "MCP_REDIS_URL", global = true)]
    pub redis_url: Option<String>,
    /// The `@connections` endpoint of the WebSocket API (the stack's `ConnectionsEndpoint`
    /// output, or the local gateway's URL), to notify WebSocket connections.
    #[arg(long, env = "MCP_CONNECTIONS_ENDPOINT", global = true)]
    pub connections_endpoint: Option<String>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
    /// Register or remove a server.
    #[command(subcommand)]
    Server(ServerCommand),
    /// The registered servers.
    Servers,
    /// Add or replace an entry (a JSON file, `-` for stdin), after validating it.
    Put {
        #[arg(long)]
        server: String,
        file: String,
    },
    /// Remove an entry.
    Remove {
        #[arg(long)]
        server: String,
        #[arg(long)]
        kind: EntryKind,
        /// A tool's or prompt's name, a resource's URI, a template's URI template.
        #[arg(long)]
        name: String,
    },
    /// A server's registered catalogue and version.
    List {
        #[arg(long)]
        server: String,
    },
    /// Check an entry without writing it (no connection needed).
    Validate { file: String },
}

#[derive(Subcommand)]
pub enum ServerCommand {
    /// Register a server, or replace its description.
    Put {
        name: String,
        #[arg(long)]
        title: Option<String>,
        #[arg(long)]
        instructions: Option<String>,
        /// A principal (token subject) that may use the server; repeat for more. Without
        /// any, whoever the deployment admits.
        #[arg(long = "allowed-principal")]
        allowed_principals: Vec<String>,
        /// Requests per principal per minute on this server.
        #[arg(long)]
        rate_limit: Option<u64>,
    },
    /// Remove a server and all its entries.
    Remove { name: String },
}
