//! What `sam deploy` would create before the functions run, on the local endpoints: the
//! DynamoDB tables (from their definitions in the template), the Secrets Manager secrets it
//! generates, and the ElastiCache users (as Redis ACL users with the template's access
//! strings).

use std::collections::BTreeMap;

use anyhow::Context;
use serde_json::Value;

use mcp_state_dynamodb::schema::{TableDefinition, create_table};
use sam_template::{Stack, StackSettings};

use crate::cli::Args;

/// What provisioning made that the stack's `Ref`s must name: the secrets' ARNs.
pub struct Provisioned {
    pub refs: BTreeMap<String, String>,
}

pub async fn deploy(
    template: &str,
    settings: &StackSettings,
    args: &Args,
    endpoint: &str,
) -> anyhow::Result<Provisioned> {
    let stack = sam_template::load(template, settings.clone())?;
    let dynamodb = mcp_aws::dynamodb_client(Some(endpoint)).await;
    for (logical, _) in stack.resources_of_type("AWS::DynamoDB::Table") {
        let definition = TableDefinition::from_template(template, logical).map_err(anyhow::Error::msg)?;
        let name = stack.physical_name(logical);
        create_table(&dynamodb, &name, &definition).await.with_context(|| format!("creating the table {name}"))?;
    }
    let mut refs = BTreeMap::new();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest()).endpoint_url(endpoint).load().await;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    for (logical, resource) in stack.resources_of_type("AWS::SecretsManager::Secret") {
        let name = stack.physical_name(logical);
        let arn = secret(&secrets, &name, &resource["Properties"])
            .await
            .with_context(|| format!("creating the secret {name}"))?;
        refs.insert(logical.to_owned(), arn);
    }
    if let Some(url) = &args.redis_url {
        redis_users(&stack, url).await?;
    }
    Ok(Provisioned { refs })
}

/// The secret's ARN, creating it (with a generated string, as `GenerateSecretString` asks)
/// unless it exists.
async fn secret(client: &aws_sdk_secretsmanager::Client, name: &str, properties: &Value) -> anyhow::Result<String> {
    if let Ok(found) = client.describe_secret().secret_id(name).send().await
        && let Some(arn) = found.arn()
    {
        return Ok(arn.to_owned());
    }
    let length = properties["GenerateSecretString"]["PasswordLength"].as_u64().unwrap_or(32) as usize;
    let created = client
        .create_secret()
        .name(name)
        .secret_string(random_text(length))
        .send()
        .await
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_secretsmanager::error::DisplayErrorContext(&e)))?;
    created.arn().map(str::to_owned).context("no ARN in CreateSecret's answer")
}

/// Letters and digits (what `ExcludePunctuation` leaves).
fn random_text(length: usize) -> String {
    let mut bytes = vec![0u8; length];
    let _ = getrandom::fill(&mut bytes);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    bytes.iter().map(|b| alphabet[usize::from(*b) % alphabet.len()] as char).collect()
}

/// Each ElastiCache user of the stack but `default`, as a Redis ACL user with its access
/// string. IAM tokens cannot be verified locally, so IAM users take any password; the
/// `default` user is left alone (other clients of a shared Redis use it), which is the one
/// place the lane is more permissive than the cache.
async fn redis_users(stack: &Stack, url: &str) -> anyhow::Result<()> {
    for (logical, resource) in stack.resources_of_type("AWS::ElastiCache::User") {
        let p = stack.resolve(&resource["Properties"])?.unwrap_or_default();
        let name = sam_template::scalar_text(&p["UserName"]);
        if name == "default" {
            continue;
        }
        let access = sam_template::scalar_text(&p["AccessString"]);
        let mut command =
            vec!["ACL".to_owned(), "SETUSER".to_owned(), name.clone(), "reset".to_owned(), "nopass".to_owned()];
        command.extend(access.split_whitespace().map(str::to_owned));
        super::redis_front::command(url, &command)
            .await
            .with_context(|| format!("{logical}: ACL SETUSER {name} {access}"))?;
    }
    Ok(())
}
