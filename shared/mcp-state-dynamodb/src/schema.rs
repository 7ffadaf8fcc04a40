//! The table: its keys, its index, its TTL attribute, and creating it on any DynamoDB
//! endpoint (AWS, LocalStack, moto). The deployment template declares the same schema.
//!
//! | item | pk | sk |
//! |---|---|---|
//! | session | `session#<id>` | `session` |
//! | connection | `conn#<id>` | `conn` |
//! | subscription row | `topic#<topic>#<shard>` | `sub#<subscriber>` (+ `subscriber`, `topic` for the index) |
//! | nonce | `nonce#<n>` | `nonce` |
//! | application data | `kv` | the key |

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, TimeToLiveSpecification,
};

use mcp_server::state::StateResult;

use crate::error::state_error;
use crate::item::{EXP, PK, SK, TTL};

/// The index of subscription rows by subscriber.
pub const BY_SUBSCRIBER: &str = "by-subscriber";
pub(crate) const SUBSCRIBER: &str = "subscriber";
pub(crate) const TOPIC: &str = "topic";
pub const DEFAULT_TOPIC_SHARDS: u32 = 8;

fn attribute(name: &str) -> Result<AttributeDefinition, String> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(ScalarAttributeType::S)
        .build()
        .map_err(|e| e.to_string())
}

fn key_element(name: &str, kind: KeyType) -> Result<KeySchemaElement, String> {
    KeySchemaElement::builder().attribute_name(name).key_type(kind).build().map_err(|e| e.to_string())
}

/// Creates the table (on-demand billing, the index, TTL on `ttl`) unless it exists.
pub async fn ensure_table(client: &Client, table: &str) -> StateResult<()> {
    let bad = |e: String| mcp_server::state::StateError::Unavailable(e);
    match client.describe_table().table_name(table).send().await {
        Ok(_) => return Ok(()),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => return Err(state_error(e)),
    }
    let index = GlobalSecondaryIndex::builder()
        .index_name(BY_SUBSCRIBER)
        .key_schema(key_element(SUBSCRIBER, KeyType::Hash).map_err(bad)?)
        .key_schema(key_element(TOPIC, KeyType::Range).map_err(bad)?)
        .projection(Projection::builder().projection_type(ProjectionType::Include).non_key_attributes(EXP).build())
        .build()
        .map_err(|e| bad(e.to_string()))?;
    let create = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute(PK).map_err(bad)?)
        .attribute_definitions(attribute(SK).map_err(bad)?)
        .attribute_definitions(attribute(SUBSCRIBER).map_err(bad)?)
        .attribute_definitions(attribute(TOPIC).map_err(bad)?)
        .key_schema(key_element(PK, KeyType::Hash).map_err(bad)?)
        .key_schema(key_element(SK, KeyType::Range).map_err(bad)?)
        .global_secondary_indexes(index);
    match create.send().await {
        Ok(_) => {}
        // Another process is creating it at the same moment: wait for it like for ours.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => return Err(state_error(e)),
    }
    for _ in 0..100 {
        let d = client.describe_table().table_name(table).send().await.map_err(state_error)?;
        if d.table.and_then(|t| t.table_status).is_some_and(|s| s.as_str() == "ACTIVE") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let ttl =
        TimeToLiveSpecification::builder().enabled(true).attribute_name(TTL).build().map_err(|e| bad(e.to_string()))?;
    if let Err(e) = client.update_time_to_live().table_name(table).time_to_live_specification(ttl).send().await {
        // A concurrent creator may have enabled it first.
        let d = client.describe_time_to_live().table_name(table).send().await.map_err(state_error)?;
        let status = d.time_to_live_description.and_then(|t| t.time_to_live_status);
        if !status.is_some_and(|s| matches!(s.as_str(), "ENABLED" | "ENABLING")) {
            return Err(state_error(e));
        }
    }
    Ok(())
}

/// A client for a local, AWS-compatible endpoint (moto, LocalStack) with the placeholder
/// credentials and region such emulators accept: for tests and local tooling.
pub fn emulator_client(endpoint: &str) -> Client {
    use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "emulator"))
        .build();
    Client::from_conf(config)
}
