//! ElastiCache: finding a cache's endpoint from its name, and IAM authentication.
//!
//! With IAM authentication the password of `AUTH`/`HELLO` is a SigV4-presigned
//! `GET http://{cache}/?Action=connect&User={user}` (plus `ResourceType=ServerlessCache` for a
//! serverless cache), without its scheme, valid for 15 minutes; the function's role needs
//! `elasticache:Connect` on the cache and the user. An authenticated connection lasts at most
//! 12 hours, so the client re-authenticates well before that.

use std::fmt;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_credential_types::Credentials;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_sdk_elasticache::Client as ElastiCacheClient;
use aws_sigv4::http_request::{SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign};
use aws_sigv4::sign::v4;
use fred::types::config::{CredentialProvider, Server};
use mcp_server::uri_template::percent_encode;

use crate::BoxError;

/// How long a token is valid (the most ElastiCache accepts).
const TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Re-authenticate every open connection before its 12-hour limit.
const REAUTHENTICATE_EVERY: Duration = Duration::from_secs(11 * 3600);

/// What a cache name turned out to be: the kind decides the token's `ResourceType`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CacheKind {
    /// An ElastiCache Serverless cache: its tokens carry `ResourceType=ServerlessCache`.
    Serverless,
    /// A replication group (a node-based cache): its tokens carry no `ResourceType`.
    ReplicationGroup,
}

/// A cache found by name: the URL fred connects to, and its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedCache {
    /// The endpoint as a URL for fred: `rediss-cluster://host:port` for a serverless cache; for a
    /// replication group `redis` or `rediss` (in-transit encryption), `-cluster` in cluster mode.
    pub url: String,
    /// Which lookup found it, which decides how its IAM tokens are signed.
    pub kind: CacheKind,
}

/// Looks a cache up by name: first as a serverless cache (always TLS, cluster protocol),
/// then as a replication group (its configuration endpoint when cluster mode is on, else its
/// primary endpoint; TLS when in-transit encryption is on).
pub async fn resolve(client: &ElastiCacheClient, name: &str) -> Result<ResolvedCache, BoxError> {
    // Any failure of the serverless lookup (not found, not permitted, an emulator without
    // serverless caches) leaves the replication groups to try; both reasons are reported.
    let serverless = match client.describe_serverless_caches().serverless_cache_name(name).send().await {
        Ok(found) => match found.serverless_caches().first().and_then(|c| c.endpoint()) {
            Some(endpoint) => {
                let (host, port) = (endpoint.address().unwrap_or_default(), endpoint.port().unwrap_or(6379));
                return Ok(ResolvedCache {
                    url: format!("rediss-cluster://{host}:{port}"),
                    kind: CacheKind::Serverless,
                });
            }
            None => "no endpoint yet".to_owned(),
        },
        Err(e) => error_chain(&e),
    };
    let group = match client.describe_replication_groups().replication_group_id(name).send().await {
        Ok(found) => found.replication_groups().first().cloned(),
        Err(e) => {
            let group = error_chain(&e);
            return Err(format!(
                "ElastiCache cache {name}: as a serverless cache: {serverless}; as a replication group: {group}"
            )
            .into());
        }
    };
    let group = group.ok_or_else(|| format!("ElastiCache: no cache named {name}"))?;
    let tls = if group.transit_encryption_enabled().unwrap_or(false) { "rediss" } else { "redis" };
    let (scheme, endpoint) = match group.configuration_endpoint() {
        Some(endpoint) => (format!("{tls}-cluster"), Some(endpoint)),
        None => (tls.to_owned(), group.node_groups().first().and_then(|g| g.primary_endpoint())),
    };
    let endpoint = endpoint.ok_or_else(|| format!("ElastiCache: replication group {name} has no endpoint yet"))?;
    let host = endpoint.address().unwrap_or_default();
    let port = endpoint.port().unwrap_or(6379);
    Ok(ResolvedCache { url: format!("{scheme}://{host}:{port}"), kind: CacheKind::ReplicationGroup })
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The `AUTH` password for `user` on `cache`, signed with `credentials` at `now`.
pub fn connect_token(
    credentials: &Credentials,
    region: &str,
    cache: &str,
    kind: CacheKind,
    user: &str,
    now: SystemTime,
) -> Result<String, BoxError> {
    // ElastiCache signs the lowercase name; the user id goes in the query, percent-encoded.
    let mut url = format!("http://{}/?Action=connect&User={}", cache.to_lowercase(), percent_encode(user));
    if kind == CacheKind::Serverless {
        url.push_str("&ResourceType=ServerlessCache");
    }
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(TOKEN_LIFETIME);
    let identity = credentials.clone().into();
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("elasticache")
        .time(now)
        .settings(settings)
        .build()?
        .into();
    let signable = SignableRequest::new("GET", url.as_str(), std::iter::empty(), SignableBody::Bytes(&[]))?;
    let (instructions, _signature) = sign(signable, &params)?.into_parts();
    let mut request = http::Request::builder().uri(url.as_str()).body(())?;
    instructions.apply_to_request_http1x(&mut request);
    let signed = request.uri().to_string();
    Ok(signed.strip_prefix("http://").unwrap_or(&signed).to_owned())
}

/// fred's credentials for every `AUTH`/`HELLO`: a fresh IAM token from the function's role.
pub struct IamAuth {
    /// The function's credentials, asked for at each `AUTH`/`HELLO`, so that every token is
    /// signed with current ones (a role's credentials rotate).
    pub credentials: SharedCredentialsProvider,
    /// The region the token is signed for (the AWS configuration's, the cache's own).
    pub region: String,
    /// The cache's name (`MCP_REDIS_CACHE`): the host of the signed URL (lowercased), not the
    /// endpoint's.
    pub cache: String,
    /// The cache's kind: a serverless cache's token adds `ResourceType=ServerlessCache`.
    pub kind: CacheKind,
    /// The ElastiCache user id (`MCP_REDIS_IAM_USER`): both the `AUTH` user and the token's `User`.
    pub user: String,
}

impl fmt::Debug for IamAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IamAuth").field("cache", &self.cache).field("user", &self.user).finish_non_exhaustive()
    }
}

#[async_trait]
impl CredentialProvider for IamAuth {
    async fn fetch(&self, _server: Option<&Server>) -> Result<(Option<String>, Option<String>), fred::error::Error> {
        let auth_error = |e: String| fred::error::Error::new(fred::error::ErrorKind::Auth, e);
        let credentials =
            self.credentials.provide_credentials().await.map_err(|e| auth_error(format!("AWS credentials: {e}")))?;
        let token = connect_token(&credentials, &self.region, &self.cache, self.kind, &self.user, SystemTime::now())
            .map_err(|e| auth_error(format!("ElastiCache IAM token: {e}")))?;
        Ok((Some(self.user.clone()), Some(token)))
    }

    fn refresh_interval(&self) -> Option<Duration> {
        Some(REAUTHENTICATE_EVERY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_percent_encoded_as_sigv4_expects() {
        assert_eq!(percent_encode("mcp-functions_1.x~"), "mcp-functions_1.x~");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }
}
