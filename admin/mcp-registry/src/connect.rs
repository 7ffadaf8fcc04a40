//! The stores the CLI works on: the registry table, the deployment's table (who follows
//! which list), Redis (versions, HTTP streams) and the `@connections` endpoint.

use std::sync::Arc;

use anyhow::Result;

use mcp_server::registry::Admin;
use mcp_server::{ConnectionSink, Notifier, StateHandles};
use mcp_state_dynamodb::DynamoState;
use mcp_state_dynamodb::registry::DynamoRegistry;
use mcp_state_redis::RedisState;

use crate::args::Args;

pub async fn admin(args: &Args) -> Result<Admin> {
    let client = mcp_aws::dynamodb_client(args.dynamodb_endpoint.as_deref()).await;
    if args.create_table {
        mcp_state_dynamodb::schema::ensure_registry_table(&client, &args.registry_table).await?;
    }
    let registry = Arc::new(DynamoRegistry::new(client.clone(), args.registry_table.clone()));
    let dynamo = Arc::new(DynamoState::new(client, args.table.clone()));
    let mut state = StateHandles { subscriptions: dynamo.subscriptions(), ..StateHandles::in_memory() };
    let mut versions = None;
    if let Some(url) = &args.redis_url {
        let redis = RedisState::connect(url).await?;
        versions = Some(redis.versions());
        state = StateHandles { bus: redis.bus(), ..state };
    }
    let sink: Option<Arc<dyn ConnectionSink>> = match &args.connections_endpoint {
        Some(endpoint) => {
            let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            Some(Arc::new(mcp_aws::sink::ApiGatewaySink::new(sdk, Some(endpoint.clone()))))
        }
        None => None,
    };
    // Each change notifies the followers of the server it changed.
    let notifier = Notifier::new(state.clone(), sink, "mcp-registry");
    let mut admin = Admin::new(registry, versions, notifier);
    for code in [reference_server::server()?, conformance_server::server()?] {
        let name = code.info().name.clone();
        admin = admin.with_code(name, Arc::new(code));
    }
    Ok(admin)
}
