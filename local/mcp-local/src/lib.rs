//! The local gateway, for any server: Streamable HTTP at `/mcp`, WebSocket at `/ws` (each
//! frame handled as the API Gateway event the Lambda function receives), `@connections` at
//! `/@connections/{id}`, or stdio with `--stdio`. Behind it: N instances of the application
//! serving the caller's server in this process, or with `--functions` the deployment's
//! function binaries, run as Lambda runs them (the Lambda lane).
//!
//! A server crate's gateway is its `main`:
//!
//! ```no_run
//! # fn server() -> Result<mcp_server::Server, mcp_server::DefinitionError> { unimplemented!() }
//! fn main() -> anyhow::Result<()> {
//!     mcp_local::main(server)
//! }
//! ```

// The crate is part of the public API a server author reads: every public item says what it is.
#![warn(missing_docs)]

pub mod cli;
mod connections;
mod console;
mod deployment;
mod dev_auth;
mod gateway;
mod http_server;
mod lane;
mod starter;
mod websocket;

use std::sync::Arc;

use anyhow::Result;
use clap::Parser;

use mcp_aws::{BoxError, ServerFn};
use mcp_server::Server;

use crate::cli::Command;

/// How the gateway's in-process instances get their server: each calls it once.
pub type ServerDef = Arc<dyn Fn() -> Result<Server, BoxError> + Send + Sync>;

/// The gateway's whole life, serving `server`: flags from the command line (`--help`), then
/// serving until stopped.
pub fn main<F>(server: F) -> Result<()>
where
    F: ServerFn + Send + Sync + 'static,
{
    let server: ServerDef = Arc::new(move || server().map_err(Into::into));
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(run(cli::Args::parse(), server))
}

/// Serves `server` as `args` say.
pub async fn run(args: cli::Args, server: ServerDef) -> Result<()> {
    use tracing_subscriber::Layer;
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let console =
        (!args.no_console && !args.stdio && args.command.is_none()).then(|| Arc::new(console::Console::default()));
    let logs = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()));
    // The console hears every message served, whatever RUST_LOG lets through to the logs.
    let served = console.clone().map(|console| {
        console::served::ServedLayer { console }.with_filter(
            tracing_subscriber::filter::Targets::new().with_target(mcp_server::observe::SERVED, tracing::Level::INFO),
        )
    });
    tracing_subscriber::registry().with(logs).with(served).init();
    match &args.command {
        Some(Command::CreateTable) => {
            let client = deployment::dynamodb_client(&args)
                .await
                .ok_or_else(|| anyhow::anyhow!("create-table needs --dynamodb-endpoint URL or --dynamodb-aws"))?;
            mcp_state_dynamodb::schema::ensure_table(&client, &args.table).await?;
            println!("table {} is ready", args.table);
            return Ok(());
        }
        Some(Command::New { name, dir, framework }) => {
            let dir = dir.clone().unwrap_or_else(|| name.into());
            starter::create(name, &dir, framework.as_deref())?;
            println!(
                "created {}: cd there, then `cargo test` and `cargo run -p gateway` (its README says more)",
                dir.display()
            );
            return Ok(());
        }
        Some(Command::MintToken { gateway, subject, scopes, ttl }) => {
            println!("{}", dev_auth::mint(&args, gateway, subject, scopes, *ttl)?);
            return Ok(());
        }
        None => {}
    }
    let connections = Arc::new(connections::LocalConnections::default());
    if args.stdio {
        let deployment = deployment::Deployment::new(&args, &server, None, None, connections).await?;
        mcp_edge::stdio::serve(deployment.pick().router.clone(), tokio::io::stdin(), tokio::io::stdout()).await?;
        return Ok(());
    }
    // Bound first: with --auth the issuer and audience are this address.
    let listener = http_server::bind(&args).await?;
    let auth = match args.auth {
        true => Some(dev_auth::DevAuth::new(&args, &http_server::base_url(&listener)?)?),
        false => None,
    };
    let base_url = http_server::base_url(&listener)?;
    let config = auth.as_ref().map(|a| &a.config);
    if let (Some(console), Some(table)) = (&console, &args.registry_table)
        && let Some(client) = deployment::dynamodb_client(&args).await
    {
        console.set_registry(Arc::new(mcp_state_dynamodb::registry::DynamoRegistry::new(client, table.clone())));
    }
    if let (Some(console), Some(auth)) = (&console, &auth) {
        let (issuer, audience, scopes) =
            (auth.issuer.clone(), auth.config.audience.clone(), auth.config.required_scopes.clone());
        console.set_token(Box::new(move || issuer.mint("mcp-local-console", &audience, &scopes, 300).ok()));
    }
    let backend = match &args.functions {
        Some(dir) => {
            let lane = lane::Lane::start(&args, dir, &base_url, config, connections.clone(), console.clone()).await?;
            gateway::Backend::Lane(Box::new(lane))
        }
        None => gateway::Backend::InProcess(Box::new(
            deployment::Deployment::new(&args, &server, config, Some(&base_url), connections.clone()).await?,
        )),
    };
    let bounds = gateway::ConnectionBounds {
        idle: std::time::Duration::from_secs(args.ws_idle_seconds),
        lifetime: std::time::Duration::from_secs(args.ws_lifetime_seconds),
    };
    let gateway = Arc::new(gateway::Gateway::new(backend, connections, bounds, console));
    http_server::serve(gateway, listener, auth, &args).await
}
