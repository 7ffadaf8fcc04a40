//! ElastiCache IAM tokens and endpoint lookup. The token is checked against botocore's SigV4
//! (an independent implementation); the lookup runs against moto's server
//! (`MCP_TEST_DYNAMODB_ENDPOINT`, which serves every AWS API it emulates) and the
//! authentication against redis-server (`MCP_TEST_REDIS_URL`); `tests/run` sets both.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use fred::interfaces::ClientLike;
use fred::prelude::{Builder, Config};
use fred::types::config::CredentialProvider;
use mcp_aws::elasticache::{CacheKind, IamAuth, connect_token, resolve};
use mcp_state_redis::RedisState;

fn credentials() -> Credentials {
    Credentials::new(
        "AKIDEXAMPLE",
        "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        Some("session/token+1=".into()),
        None,
        "tests",
    )
}

/// Host and path, then the query's pairs in order of name (SigV4 does not fix their order).
fn parts(token: &str) -> (String, BTreeMap<String, String>) {
    let (base, query) = token.split_once('?').unwrap();
    let pairs = query.split('&').map(|p| p.split_once('=').unwrap()).map(|(k, v)| (k.into(), v.into())).collect();
    (base.to_owned(), pairs)
}

/// Printed by botocore 1.x's `SigV4QueryAuth(credentials, "elasticache", "eu-west-1",
/// expires=900)` on `GET http://my-cache/?Action=connect&User=mcp-functions[&ResourceType=
/// ServerlessCache]` with the same credentials, its clock fixed at 2026-11-28T01:02:03Z.
const BOTOCORE: [(CacheKind, &str); 2] = [
    (
        CacheKind::Serverless,
        "my-cache/?Action=connect&User=mcp-functions&ResourceType=ServerlessCache&X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIDEXAMPLE%2F20261128%2Feu-west-1%2Felasticache%2Faws4_request&X-Amz-Date=20261128T010203Z\
         &X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=session%2Ftoken%2B1%3D\
         &X-Amz-Signature=488faef8c042be8085904e06279c3a6291b7279d87335b73e16ff8c29730a239",
    ),
    (
        CacheKind::ReplicationGroup,
        "my-cache/?Action=connect&User=mcp-functions&X-Amz-Algorithm=AWS4-HMAC-SHA256\
         &X-Amz-Credential=AKIDEXAMPLE%2F20261128%2Feu-west-1%2Felasticache%2Faws4_request&X-Amz-Date=20261128T010203Z\
         &X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=session%2Ftoken%2B1%3D\
         &X-Amz-Signature=176484412cbbe3193453731bb5e6598eb37816d1f9a230750c98f2251eea2694",
    ),
];

#[test]
fn iam_tokens_are_what_botocore_signs() {
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_795_827_723); // 2026-11-28T01:02:03Z
    for (kind, expected) in BOTOCORE {
        // The cache name is signed in lowercase, whatever the configuration says.
        let token = connect_token(&credentials(), "eu-west-1", "My-Cache", kind, "mcp-functions", at).unwrap();
        assert_eq!(parts(&token), parts(expected), "{kind:?}");
    }
}

fn iam_auth(user: &str) -> Arc<dyn CredentialProvider> {
    Arc::new(IamAuth {
        credentials: SharedCredentialsProvider::new(credentials()),
        region: "eu-west-1".into(),
        cache: "my-cache".into(),
        kind: CacheKind::Serverless,
        user: user.into(),
    })
}

#[tokio::test]
#[ignore = "needs a Redis server: run through tests/run"]
async fn redis_connections_authenticate_with_the_iam_token() {
    let url = std::env::var("MCP_TEST_REDIS_URL").expect("MCP_TEST_REDIS_URL (tests/run sets it)");
    let admin = Builder::from_config(Config::from_url(&url).unwrap()).build().unwrap();
    admin.init().await.unwrap();
    // redis-server cannot check a SigV4 signature: one user takes any password, so the test
    // sees who the connections authenticated as; the other's password no token can match.
    let acl = |args: Vec<&str>| {
        let admin = admin.clone();
        let args: Vec<String> = args.into_iter().map(str::to_owned).collect();
        async move { admin.custom::<String, _>(fred::cmd!("ACL"), args).await.unwrap() }
    };
    acl(vec!["SETUSER", "mcp-iam-test", "reset", "on", "nopass", "~*", "&*", "+@all"]).await;
    acl(vec!["SETUSER", "mcp-iam-refused", "reset", "on", ">not-a-token", "~*", "&*", "+@all"]).await;

    let redis = RedisState::connect_with(&url, Some(iam_auth("mcp-iam-test"))).await.unwrap();
    let clients: String = admin.custom(fred::cmd!("CLIENT"), vec!["LIST"]).await.unwrap();
    let as_user = clients.lines().filter(|l| l.contains(" user=mcp-iam-test ")).count();
    assert_eq!(as_user, 2, "the command and pub/sub connections both authenticate as the IAM user:\n{clients}");
    // And they work: a round trip through the bus.
    let mut messages = redis.bus().subscribe("mcp-iam-test").await.unwrap();
    redis.bus().publish("mcp-iam-test", b"hello".to_vec()).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), futures_util::StreamExt::next(&mut messages)).await;
    assert_eq!(got.unwrap().unwrap(), b"hello");

    let refused = RedisState::connect_with(&url, Some(iam_auth("mcp-iam-refused"))).await;
    let error = refused.err().expect("a wrong password is refused").to_string();
    assert!(error.contains("WRONGPASS") || error.to_lowercase().contains("auth"), "{error}");
    acl(vec!["DELUSER", "mcp-iam-test", "mcp-iam-refused"]).await;
}

async fn moto_elasticache() -> aws_sdk_elasticache::Client {
    let endpoint = std::env::var("MCP_TEST_DYNAMODB_ENDPOINT").expect("MCP_TEST_DYNAMODB_ENDPOINT (tests/run sets it)");
    let config = aws_sdk_elasticache::Config::builder()
        .behavior_version(aws_sdk_elasticache::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_elasticache::config::Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "tests"))
        .build();
    aws_sdk_elasticache::Client::from_conf(config)
}

#[tokio::test]
#[ignore = "needs moto's server: run through tests/run"]
async fn caches_are_found_by_name() {
    let client = moto_elasticache().await;
    let suffix =
        format!("{:x}", SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() % 0xffffff);
    let clustered = format!("clustered-{suffix}");
    let single = format!("single-{suffix}");
    client
        .create_replication_group()
        .replication_group_id(&clustered)
        .replication_group_description("cluster mode, TLS")
        .engine("valkey")
        .cache_node_type("cache.t4g.micro")
        .num_node_groups(2)
        .cluster_mode(aws_sdk_elasticache::types::ClusterMode::Enabled)
        .transit_encryption_enabled(true)
        .send()
        .await
        .unwrap();
    client
        .create_replication_group()
        .replication_group_id(&single)
        .replication_group_description("one shard, no TLS")
        .engine("valkey")
        .cache_node_type("cache.t4g.micro")
        .send()
        .await
        .unwrap();

    let found = resolve(&client, &clustered).await.unwrap();
    assert_eq!(found.kind, CacheKind::ReplicationGroup);
    assert!(found.url.starts_with("rediss-cluster://"), "{found:?}");
    let found = resolve(&client, &single).await.unwrap();
    assert!(found.url.starts_with("redis://"), "{found:?}");
    assert!(found.url.ends_with(":6379"), "{found:?}");

    let missing = resolve(&client, "no-such-cache").await.unwrap_err().to_string();
    assert!(missing.contains("no-such-cache") && missing.contains("replication group"), "{missing}");
}
