//! Versions of cached records (`mcp:version:<key>`), for the instances' L1 caches.

use async_trait::async_trait;
use fred::interfaces::KeysInterface;
use fred::types::Value;

use mcp_server::state::{StateResult, Versions};

use crate::{RedisState, unavailable};

/// Versions outlive any cached copy (L1 entries live minutes) by far.
const VERSION_SECONDS: i64 = 24 * 3600;

fn key(k: &str) -> String {
    format!("mcp:version:{k}")
}

#[async_trait]
impl Versions for RedisState {
    async fn current(&self, k: &str) -> StateResult<u64> {
        let v: Option<u64> = self.call().get(key(k)).await.map_err(unavailable)?;
        Ok(v.unwrap_or(0))
    }

    async fn bump(&self, k: &str) -> StateResult<u64> {
        let pipeline = self.call().pipeline();
        let queued: [Result<(), _>; 2] =
            [pipeline.incr(key(k)).await, pipeline.expire(key(k), VERSION_SECONDS, None).await];
        for q in queued {
            q.map_err(unavailable)?;
        }
        let (version, _): (u64, Value) = pipeline.all().await.map_err(unavailable)?;
        Ok(version)
    }
}
