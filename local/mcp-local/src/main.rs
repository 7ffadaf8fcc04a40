//! `mcp-local`: the local gateway. Streamable HTTP at `/mcp`, WebSocket at `/ws` (each frame
//! handled as the API Gateway event the Lambda function receives), `@connections` at
//! `/@connections/{id}`, or stdio with `--stdio`; N handler instances behind it.

mod cli;
mod connections;
mod deployment;
mod dev_auth;
mod http_server;
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
    if args.stdio {
        let deployment = deployment::Deployment::new(&args, None, None).await?;
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
    let deployment =
        Arc::new(deployment::Deployment::new(&args, auth.as_ref().map(|a| &a.config), Some(&base_url)).await?);
    http_server::serve(deployment, listener, auth, &args).await
}
