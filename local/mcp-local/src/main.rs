//! `mcp-local`: the local gateway. Streamable HTTP at `/mcp`, WebSocket at `/ws` (each frame
//! handled as the API Gateway event the Lambda function receives), `@connections` at
//! `/@connections/{id}`, or stdio with `--stdio`. Behind it: N instances of the application
//! in this process, or with `--functions` the deployment's function binaries, run as Lambda
//! runs them (the Lambda lane).

mod cli;
mod connections;
mod deployment;
mod dev_auth;
mod gateway;
mod http_server;
mod lane;
mod websocket;

use std::sync::Arc;

use anyhow::Result;
use clap::Parser;

use crate::cli::Command;

#[tokio::main]
async fn main() -> Result<()> {
    let args = cli::Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    match &args.command {
        Some(Command::CreateTable) => {
            let client = deployment::dynamodb_client(&args)
                .await
                .ok_or_else(|| anyhow::anyhow!("create-table needs --dynamodb-endpoint URL or --dynamodb-aws"))?;
            mcp_state_dynamodb::schema::ensure_table(&client, &args.table).await?;
            println!("table {} is ready", args.table);
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
        let deployment = deployment::Deployment::new(&args, None, None, connections).await?;
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
    let backend = match &args.functions {
        Some(dir) => {
            let lane = lane::Lane::start(&args, dir, &base_url, config, connections.clone()).await?;
            gateway::Backend::Lane(Box::new(lane))
        }
        None => gateway::Backend::InProcess(Box::new(
            deployment::Deployment::new(&args, config, Some(&base_url), connections.clone()).await?,
        )),
    };
    let gateway = Arc::new(gateway::Gateway::new(backend, connections));
    http_server::serve(gateway, listener, auth, &args).await
}
