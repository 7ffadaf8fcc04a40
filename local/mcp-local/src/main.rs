//! `mcp-local`: the local gateway. Streamable HTTP at `/mcp`, WebSocket at `/ws` (each frame
//! handled as the API Gateway event the Lambda function receives), `@connections` at
//! `/@connections/{id}`, or stdio with `--stdio`; N handler instances behind it.

mod cli;
mod connections;
mod deployment;
mod http_server;
mod websocket;

use std::sync::Arc;

use anyhow::Result;
use clap::Parser;

#[tokio::main]
async fn main() -> Result<()> {
    let args = cli::Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    if let Some(cli::Command::CreateTable) = args.command {
        let client = deployment::dynamodb_client(&args)
            .await
            .ok_or_else(|| anyhow::anyhow!("create-table needs --dynamodb-endpoint URL or --dynamodb-aws"))?;
        mcp_state_dynamodb::schema::ensure_table(&client, &args.table).await?;
        println!("table {} is ready", args.table);
        return Ok(());
    }
    let deployment = Arc::new(deployment::Deployment::new(&args).await?);
    if args.stdio {
        mcp_edge::stdio::serve(deployment.pick().router.clone(), tokio::io::stdin(), tokio::io::stdout()).await?;
        return Ok(());
    }
    http_server::serve(deployment, &args).await
}
