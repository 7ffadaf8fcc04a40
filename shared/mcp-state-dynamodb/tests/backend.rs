//! The shared state-backend suite against a real DynamoDB endpoint (moto's server in the
//! test command; any DynamoDB works): `MCP_TEST_DYNAMODB_ENDPOINT=http://127.0.0.1:PORT`.
//! Ignored by plain `cargo test`; `tests/run` starts moto and runs it.

#![allow(clippy::unwrap_used)]

use std::sync::Arc;

use mcp_server::StateHandles;
use mcp_state_dynamodb::{DynamoState, schema};

async fn state() -> Arc<DynamoState> {
    let endpoint = std::env::var("MCP_TEST_DYNAMODB_ENDPOINT").expect("MCP_TEST_DYNAMODB_ENDPOINT (tests/run sets it)");
    let client = schema::emulator_client(&endpoint);
    let table = format!("mcp-test-{}", mcp_server::ids::random_id().to_lowercase().replace('_', "-"));
    schema::ensure_table(&client, &table).await.unwrap();
    schema::ensure_table(&client, &table).await.unwrap(); // idempotent
    Arc::new(DynamoState::new(client, table).with_topic_shards(4))
}

#[tokio::test]
#[ignore = "needs a DynamoDB endpoint: run through tests/run"]
async fn dynamodb_backend_passes_the_suite() {
    let d = state().await;
    // The bus and the event log are Redis's; the memory ones stand in for them here.
    let memory = StateHandles::in_memory();
    let state = StateHandles {
        sessions: d.sessions(),
        connections: d.connections(),
        subscriptions: d.subscriptions(),
        nonces: d.nonces(),
        kv: d.kv(),
        tasks: d.tasks(),
        ..memory
    };
    mcp_server::state::testkit::run_all(&state).await;
}

#[tokio::test]
#[ignore = "needs a DynamoDB endpoint: run through tests/run"]
async fn a_table_from_an_older_definition_is_named_not_used() {
    let endpoint = std::env::var("MCP_TEST_DYNAMODB_ENDPOINT").expect("MCP_TEST_DYNAMODB_ENDPOINT (tests/run sets it)");
    let client = schema::emulator_client(&endpoint);
    let table = format!("mcp-old-{}", mcp_server::ids::random_id().to_lowercase().replace('_', "-"));
    let mut older = schema::TableDefinition::deployed().unwrap();
    older.indexes.retain(|i| i.name != "by-lapse");
    older.attributes.retain(|(a, _)| a != "lapse" && a != "exp");
    schema::create_table(&client, &table, &older).await.unwrap();
    let error = schema::ensure_table(&client, &table).await.unwrap_err().to_string();
    assert!(error.contains("without the index by-lapse"), "{error}");
}

#[tokio::test]
#[ignore = "needs a DynamoDB endpoint: run through tests/run"]
async fn the_registry_table_passes_the_registry_suite() {
    let endpoint = std::env::var("MCP_TEST_DYNAMODB_ENDPOINT").expect("MCP_TEST_DYNAMODB_ENDPOINT (tests/run sets it)");
    let client = schema::emulator_client(&endpoint);
    let table = format!("mcp-registry-{}", mcp_server::ids::random_id().to_lowercase().replace('_', "-"));
    schema::ensure_registry_table(&client, &table).await.unwrap();
    let registry = mcp_state_dynamodb::registry::DynamoRegistry::new(client, table);
    mcp_server::registry::testkit::registry_suite(&registry).await;
}
