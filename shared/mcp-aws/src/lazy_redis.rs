//! Redis connected on first use: a Lambda's init makes no network calls, and a cold instance
//! that never signals never connects. The cache's endpoint lookup by name, when configured,
//! happens then too; a failed lookup or connection is tried again by the next call.

use std::sync::Arc;

use async_trait::async_trait;
use aws_credential_types::provider::SharedCredentialsProvider;
use fred::types::config::CredentialProvider;
use futures_util::stream::BoxStream;
use tokio::sync::OnceCell;

use mcp_server::state::{EventLog, MessageBus, RateCounter, StateError, StateResult, Versions};
use mcp_state_redis::RedisState;

use crate::BoxError;
use crate::elasticache::{self, CacheKind, IamAuth};
use crate::settings::RedisSettings;

pub(crate) struct LazyRedis {
    settings: RedisSettings,
    elasticache: aws_sdk_elasticache::Client,
    credentials: Option<(SharedCredentialsProvider, String)>,
    state: OnceCell<RedisState>,
}

impl LazyRedis {
    /// Fails (without any network call) when IAM authentication is asked for and the AWS
    /// configuration has no credentials or region to sign with.
    pub(crate) fn new(settings: RedisSettings, sdk: &aws_config::SdkConfig) -> Result<Self, BoxError> {
        let credentials = match &settings.iam_user {
            None => None,
            Some(_) => {
                let provider =
                    sdk.credentials_provider().ok_or("MCP_REDIS_IAM_USER: no AWS credentials to sign with")?;
                let region = sdk.region().ok_or("MCP_REDIS_IAM_USER: no AWS region to sign for")?;
                Some((provider, region.to_string()))
            }
        };
        Ok(LazyRedis {
            settings,
            elasticache: aws_sdk_elasticache::Client::new(sdk),
            credentials,
            state: OnceCell::new(),
        })
    }

    async fn get(&self) -> StateResult<&RedisState> {
        self.state.get_or_try_init(|| self.connect()).await
    }

    async fn connect(&self) -> StateResult<RedisState> {
        let (url, kind) = match (&self.settings.url, &self.settings.cache) {
            (Some(url), _) => (url.clone(), CacheKind::Serverless),
            (None, Some(name)) => {
                let found = elasticache::resolve(&self.elasticache, name)
                    .await
                    .map_err(|e| StateError::Unavailable(e.to_string()))?;
                tracing::info!(cache = %name, url = %found.url, "found the ElastiCache endpoint");
                (found.url, found.kind)
            }
            (None, None) => return Err(StateError::Unavailable("no Redis URL or cache name".into())),
        };
        let auth = match (&self.settings.iam_user, &self.settings.cache, &self.credentials) {
            (Some(user), Some(cache), Some((credentials, region))) => Some(Arc::new(IamAuth {
                credentials: credentials.clone(),
                region: region.clone(),
                cache: cache.clone(),
                kind,
                user: user.clone(),
            })
                as Arc<dyn CredentialProvider>),
            _ => None,
        };
        RedisState::connect_with(&url, auth).await
    }
}

#[async_trait]
impl MessageBus for LazyRedis {
    async fn publish(&self, channel: &str, message: Vec<u8>) -> StateResult<usize> {
        self.get().await?.publish(channel, message).await
    }

    async fn subscribe(&self, channel: &str) -> StateResult<BoxStream<'static, Vec<u8>>> {
        self.get().await?.subscribe(channel).await
    }
}

#[async_trait]
impl EventLog for LazyRedis {
    async fn append(&self, stream: &str, message: &[u8]) -> StateResult<String> {
        self.get().await?.append(stream, message).await
    }

    async fn after(&self, event_id: &str) -> StateResult<Option<(String, Vec<(String, Vec<u8>)>)>> {
        self.get().await?.after(event_id).await
    }
}

#[async_trait]
impl Versions for LazyRedis {
    async fn current(&self, key: &str) -> StateResult<u64> {
        self.get().await?.current(key).await
    }

    async fn bump(&self, key: &str) -> StateResult<u64> {
        self.get().await?.bump(key).await
    }

    async fn copy(&self, key: &str) -> StateResult<Option<(u64, Vec<u8>)>> {
        self.get().await?.copy(key).await
    }

    async fn keep_copy(&self, key: &str, version: u64, record: &[u8], ttl_ms: u64) -> StateResult<()> {
        self.get().await?.keep_copy(key, version, record, ttl_ms).await
    }
}

#[async_trait]
impl RateCounter for LazyRedis {
    async fn hit(&self, key: &str, window_ms: u64) -> StateResult<(u64, u64)> {
        self.get().await?.hit(key, window_ms).await
    }

    async fn acquire(&self, key: &str, slot: &str, limit: u64, ttl_ms: u64) -> StateResult<bool> {
        self.get().await?.acquire(key, slot, limit, ttl_ms).await
    }

    async fn release(&self, key: &str, slot: &str) -> StateResult<()> {
        self.get().await?.release(key, slot).await
    }
}
