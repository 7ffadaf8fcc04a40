//! The table: its keys, its index, its TTL attribute, and creating it on any DynamoDB
//! endpoint (AWS, LocalStack, moto). The definition is the deployment template's
//! (`infra/template.yaml`, resource `Table`), read from it, so that a table created here is
//! the table a deployment gets.
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
use yaml_rust2::{Yaml, YamlLoader};

use mcp_server::state::{StateError, StateResult};

use crate::error::state_error;

/// The index of subscription rows by subscriber.
pub const BY_SUBSCRIBER: &str = "by-subscriber";
pub(crate) const SUBSCRIBER: &str = "subscriber";
pub(crate) const TOPIC: &str = "topic";
/// The sparse index of connection items by the minute their lifetime ends.
pub const BY_LAPSE: &str = "by-lapse";
pub(crate) const LAPSE: &str = "lapse";
pub const DEFAULT_TOPIC_SHARDS: u32 = 8;

/// The deployment template, whose `Table` resource is the one definition of the table.
pub const TEMPLATE: &str = include_str!("../../../infra/template.yaml");

/// A table's keys, indexes and TTL attribute, as CloudFormation's `AWS::DynamoDB::Table`
/// declares them (billing, encryption and recovery are the deployment's business).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TableDefinition {
    pub attributes: Vec<(String, ScalarAttributeType)>,
    pub key: Vec<(String, KeyType)>,
    pub indexes: Vec<IndexDefinition>,
    pub ttl_attribute: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IndexDefinition {
    pub name: String,
    pub key: Vec<(String, KeyType)>,
    pub projection: ProjectionType,
    pub non_key_attributes: Vec<String>,
}

fn text<'a>(node: &'a Yaml, what: &str) -> Result<&'a str, String> {
    node.as_str().ok_or_else(|| format!("{what}: expected a string"))
}

fn list<'a>(node: &'a Yaml, what: &str) -> Result<&'a [Yaml], String> {
    node.as_vec().map(Vec::as_slice).ok_or_else(|| format!("{what}: expected a list"))
}

fn key_schema(node: &Yaml, what: &str) -> Result<Vec<(String, KeyType)>, String> {
    list(node, what)?
        .iter()
        .map(|k| {
            let name = text(&k["AttributeName"], what)?.to_owned();
            let kind = KeyType::try_parse(text(&k["KeyType"], what)?).map_err(|e| format!("{what}: {e}"))?;
            Ok((name, kind))
        })
        .collect()
}

impl TableDefinition {
    /// The definition in the deployment template this crate was built with.
    pub fn deployed() -> Result<TableDefinition, String> {
        TableDefinition::from_template(TEMPLATE, "Table")
    }

    /// The `resource` of a CloudFormation/SAM template (YAML; intrinsic functions elsewhere in
    /// the template are fine, the table's keys, indexes and TTL must be plain values).
    pub fn from_template(template: &str, resource: &str) -> Result<TableDefinition, String> {
        let docs = YamlLoader::load_from_str(template).map_err(|e| format!("template: {e}"))?;
        let doc = docs.first().ok_or("template: empty")?;
        let table = &doc["Resources"][resource];
        if table["Type"].as_str() != Some("AWS::DynamoDB::Table") {
            return Err(format!("template: no AWS::DynamoDB::Table named {resource}"));
        }
        let props = &table["Properties"];
        let attributes = list(&props["AttributeDefinitions"], "AttributeDefinitions")?
            .iter()
            .map(|a| {
                let name = text(&a["AttributeName"], "AttributeDefinitions")?.to_owned();
                let kind = ScalarAttributeType::try_parse(text(&a["AttributeType"], "AttributeDefinitions")?)
                    .map_err(|e| format!("AttributeDefinitions: {e}"))?;
                Ok((name, kind))
            })
            .collect::<Result<_, String>>()?;
        let indexes = match &props["GlobalSecondaryIndexes"] {
            Yaml::BadValue => Vec::new(),
            node => list(node, "GlobalSecondaryIndexes")?
                .iter()
                .map(|i| {
                    let projection = &i["Projection"];
                    Ok(IndexDefinition {
                        name: text(&i["IndexName"], "IndexName")?.to_owned(),
                        key: key_schema(&i["KeySchema"], "GlobalSecondaryIndexes KeySchema")?,
                        projection: ProjectionType::try_parse(text(&projection["ProjectionType"], "ProjectionType")?)
                            .map_err(|e| format!("ProjectionType: {e}"))?,
                        non_key_attributes: match &projection["NonKeyAttributes"] {
                            Yaml::BadValue => Vec::new(),
                            node => list(node, "NonKeyAttributes")?
                                .iter()
                                .map(|a| text(a, "NonKeyAttributes").map(str::to_owned))
                                .collect::<Result<_, String>>()?,
                        },
                    })
                })
                .collect::<Result<_, String>>()?,
        };
        let ttl = &props["TimeToLiveSpecification"];
        let ttl_attribute = match ttl["Enabled"].as_bool() {
            Some(true) => Some(text(&ttl["AttributeName"], "TimeToLiveSpecification")?.to_owned()),
            _ => None,
        };
        Ok(TableDefinition { attributes, key: key_schema(&props["KeySchema"], "KeySchema")?, indexes, ttl_attribute })
    }
}

fn key_elements(key: &[(String, KeyType)]) -> Result<Vec<KeySchemaElement>, String> {
    key.iter()
        .map(|(name, kind)| {
            KeySchemaElement::builder().attribute_name(name).key_type(kind.clone()).build().map_err(|e| e.to_string())
        })
        .collect()
}

/// Creates the deployment's registry table (`RegistryTable` of the template) unless it
/// exists, and waits until it is active.
pub async fn ensure_registry_table(client: &Client, table: &str) -> StateResult<()> {
    let definition = TableDefinition::from_template(TEMPLATE, "RegistryTable").map_err(StateError::Unavailable)?;
    create_table(client, table, &definition).await
}

/// Creates the deployment's table (on-demand billing) unless it exists, waits until it is
/// active, and turns TTL on.
pub async fn ensure_table(client: &Client, table: &str) -> StateResult<()> {
    let definition = TableDefinition::deployed().map_err(StateError::Unavailable)?;
    create_table(client, table, &definition).await
}

/// Creates `table` as `definition` says unless it exists (idempotent; safe to race with
/// another creator), then waits for it to be active and turns TTL on.
pub async fn create_table(client: &Client, table: &str, definition: &TableDefinition) -> StateResult<()> {
    let bad = |e: String| StateError::Unavailable(format!("table {table}: {e}"));
    match client.describe_table().table_name(table).send().await {
        Ok(found) => {
            // A table made by an older definition lacks what newer code queries: say so.
            let have: Vec<String> = found
                .table
                .and_then(|t| t.global_secondary_indexes)
                .unwrap_or_default()
                .into_iter()
                .filter_map(|i| i.index_name)
                .collect();
            return match definition.indexes.iter().find(|i| !have.contains(&i.name)) {
                None => Ok(()),
                Some(missing) => Err(bad(format!(
                    "it exists without the index {} (made by an older version): delete it, or add the index as infra/template.yaml declares it",
                    missing.name
                ))),
            };
        }
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => {}
        Err(e) => return Err(state_error(e)),
    }
    let mut create = client.create_table().table_name(table).billing_mode(BillingMode::PayPerRequest);
    for (name, kind) in &definition.attributes {
        let attribute = AttributeDefinition::builder().attribute_name(name).attribute_type(kind.clone()).build();
        create = create.attribute_definitions(attribute.map_err(|e| bad(e.to_string()))?);
    }
    create = create.set_key_schema(Some(key_elements(&definition.key).map_err(bad)?));
    for index in &definition.indexes {
        let mut projection = Projection::builder().projection_type(index.projection.clone());
        for attribute in &index.non_key_attributes {
            projection = projection.non_key_attributes(attribute);
        }
        let index = GlobalSecondaryIndex::builder()
            .index_name(&index.name)
            .set_key_schema(Some(key_elements(&index.key).map_err(bad)?))
            .projection(projection.build())
            .build()
            .map_err(|e| bad(e.to_string()))?;
        create = create.global_secondary_indexes(index);
    }
    match create.send().await {
        Ok(_) => {}
        // Another process is creating it at the same moment: wait for it like for ours.
        Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_in_use_exception()) => {}
        Err(e) => return Err(state_error(e)),
    }
    wait_until_active(client, table).await?;
    let Some(ttl_attribute) = &definition.ttl_attribute else { return Ok(()) };
    let ttl = TimeToLiveSpecification::builder()
        .enabled(true)
        .attribute_name(ttl_attribute)
        .build()
        .map_err(|e| bad(e.to_string()))?;
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

/// Polls until the table is `ACTIVE` (at most a minute): a table still `CREATING` takes no
/// writes.
async fn wait_until_active(client: &Client, table: &str) -> StateResult<()> {
    for _ in 0..600 {
        let d = client.describe_table().table_name(table).send().await.map_err(state_error)?;
        if d.table.and_then(|t| t.table_status).is_some_and(|s| s.as_str() == "ACTIVE") {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    Err(StateError::Unavailable(format!("table {table} is not active after a minute")))
}

pub use crate::client::emulator_client;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{EXP, PK, SK, TTL};

    /// The code's attribute names are the template's: the table a deployment creates is the
    /// table this crate reads and writes.
    #[test]
    fn the_template_declares_the_table_this_crate_uses() {
        let table = TableDefinition::deployed().unwrap();
        assert_eq!(table.key, [(PK.to_owned(), KeyType::Hash), (SK.to_owned(), KeyType::Range)]);
        assert_eq!(table.ttl_attribute.as_deref(), Some(TTL));
        let [by_subscriber, by_lapse] = table.indexes.as_slice() else { panic!("two indexes: {:?}", table.indexes) };
        assert_eq!(by_subscriber.name, BY_SUBSCRIBER);
        assert_eq!(by_subscriber.key, [(SUBSCRIBER.to_owned(), KeyType::Hash), (TOPIC.to_owned(), KeyType::Range)]);
        assert_eq!(by_subscriber.non_key_attributes, [EXP]);
        assert_eq!(by_lapse.name, BY_LAPSE);
        assert_eq!(by_lapse.key, [(LAPSE.to_owned(), KeyType::Hash), (EXP.to_owned(), KeyType::Range)]);
        assert_eq!(by_lapse.projection, ProjectionType::KeysOnly);
        for (name, _) in table.key.iter().chain(&by_subscriber.key).chain(&by_lapse.key) {
            let kind = if name == EXP { ScalarAttributeType::N } else { ScalarAttributeType::S };
            assert!(table.attributes.iter().any(|(a, k)| a == name && *k == kind), "{name}");
        }
    }

    #[test]
    fn a_template_without_the_table_is_a_clear_error() {
        let error = TableDefinition::from_template("Resources:\n  Other:\n    Type: AWS::SQS::Queue\n", "Table");
        assert!(error.unwrap_err().contains("no AWS::DynamoDB::Table named Table"));
        assert!(TableDefinition::from_template("Resources: [", "Table").unwrap_err().starts_with("template:"));
    }
}
