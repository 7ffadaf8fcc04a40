//! Versions of cached records (`mcp:version:<key>`), for the instances' L1 caches.

use async_trait::async_trait;
use fred::interfaces::KeysInterface;
use fred::types::{Expiration, Value};

use mcp_server::state::{StateResult, Versions};

use crate::{RedisState, unavailable};

/// Versions outlive any cached copy (L1 entries live minutes) by far.
const VERSION_SECONDS: i64 = 24 * 3600;

fn key(k: &str) -> String {
    format!("mcp:version:{k}")
}

fn copy_key(k: &str) -> String {
    format!("mcp:copy:{k}")
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

    async fn copy(&self, k: &str) -> StateResult<Option<(u64, Vec<u8>)>> {
        let value: Option<Vec<u8>> = self.call().get(copy_key(k)).await.map_err(unavailable)?;
        Ok(value.and_then(|v| {
            let split = v.iter().position(|&b| b == b'\n')?;
            let version = std::str::from_utf8(&v[..split]).ok()?.parse().ok()?;
            Some((version, v[split + 1..].to_vec()))
        }))
    }

    async fn keep_copy(&self, k: &str, version: u64, record: &[u8], ttl_ms: u64) -> StateResult<()> {
        let mut value = format!("{version}\n").into_bytes();
        value.extend_from_slice(record);
        let ttl = i64::try_from(ttl_ms.max(1)).unwrap_or(i64::MAX);
        let _: Value =
            self.call().set(copy_key(k), value, Some(Expiration::PX(ttl)), None, false).await.map_err(unavailable)?;
        Ok(())
    }
}
