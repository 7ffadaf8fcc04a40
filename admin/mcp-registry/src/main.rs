//! `mcp-registry`: the registry's admin CLI. Every command prints one JSON object on stdout
//! (what was read, or what a change did: the server's new version, how many followers were
//! notified, and any warning) and exits non-zero on an invalid entry or a missing target.
//!
//! ```sh
//! mcp-registry --dynamodb-endpoint http://127.0.0.1:8000 --redis-url redis://127.0.0.1:6379 \
//!     server put mcp-serverless-reference
//! mcp-registry ... put --server mcp-serverless-reference word-count.json
//! mcp-registry ... list --server mcp-serverless-reference
//! mcp-registry ... remove --server mcp-serverless-reference --kind tool --name word_count
//! ```

mod args;
mod connect;

use anyhow::{Context, Result};
use clap::Parser;
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;

use mcp_server::registry::{AdminError, Change, Entry, ServerEntry};

use crate::args::{Args, Command, ServerCommand};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(out) => {
            println!("{out}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("mcp-registry: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<Value> {
    if let Command::Validate { file } = &args.command {
        read_entry(file).await?.validate()?;
        return Ok(json!({ "valid": true }));
    }
    let admin = connect::admin(&args).await?;
    match args.command {
        Command::Server(ServerCommand::Put { name, title, instructions, allowed_principals, rate_limit }) => {
            let allowed_principals = (!allowed_principals.is_empty()).then_some(allowed_principals);
            let server = ServerEntry { name, title, instructions, allowed_principals, rate_limit };
            change(admin.put_server(&server).await)
        }
        Command::Server(ServerCommand::Remove { name }) => change(admin.remove_server(&name).await),
        Command::Servers => Ok(json!({ "servers": admin.servers().await? })),
        Command::Put { server, file } => {
            let entry = read_entry(&file).await?;
            change(admin.put(&server, &entry).await)
        }
        Command::Remove { server, kind, name } => change(admin.remove(&server, kind, &name).await),
        Command::List { server } => {
            let c = admin.catalogue(&server).await?;
            Ok(json!({ "server": c.server, "version": c.version, "entries": c.entries }))
        }
        Command::Validate { .. } => unreachable!("answered above"),
    }
}

fn change(result: Result<Change, AdminError>) -> Result<Value> {
    let c = result?;
    Ok(json!({ "version": c.version, "notified": c.notified, "warnings": c.warnings }))
}

/// An entry from a JSON file (`-`: stdin).
async fn read_entry(file: &str) -> Result<Entry> {
    let text = if file == "-" {
        let mut s = String::new();
        tokio::io::stdin().read_to_string(&mut s).await?;
        s
    } else {
        tokio::fs::read_to_string(file).await.with_context(|| format!("reading {file}"))?
    };
    serde_json::from_str(&text).with_context(|| format!("{file}: not a registry entry"))
}
