//! Redis connected on first use: a Lambda's init makes no network calls, and a cold instance
//! that never signals never connects.

use async_trait::async_trait;
use futures_util::stream::BoxStream;
use tokio::sync::OnceCell;

use mcp_server::state::{EventLog, MessageBus, StateResult, Versions};
use mcp_state_redis::RedisState;

pub(crate) struct LazyRedis {
    url: String,
    state: OnceCell<RedisState>,
}

impl LazyRedis {
    pub(crate) fn new(url: String) -> Self {
        LazyRedis { url, state: OnceCell::new() }
    }

    async fn get(&self) -> StateResult<&RedisState> {
        self.state.get_or_try_init(|| RedisState::connect(&self.url)).await
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
