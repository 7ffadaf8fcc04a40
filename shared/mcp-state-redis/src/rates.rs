//! Fixed-window request counters (`mcp:rate:<key>`): the first hit of a window starts its
//! expiry, so the window ends `window_ms` after it and the counter disappears with it. Slots
//! (`mcp:slots:<key>`): a counter whose expiry each acquisition renews.

use async_trait::async_trait;
use fred::interfaces::{KeysInterface, LuaInterface};
use fred::types::{ExpireOptions, Value};

use mcp_server::state::{RateCounter, StateResult};

use crate::{RedisState, unavailable};

fn key(k: &str) -> String {
    format!("mcp:rate:{k}")
}

#[async_trait]
impl RateCounter for RedisState {
    async fn hit(&self, k: &str, window_ms: u64) -> StateResult<(u64, u64)> {
        let window = i64::try_from(window_ms.max(1)).unwrap_or(i64::MAX);
        let pipeline = self.call().pipeline();
        let queued: [Result<(), _>; 3] = [
            pipeline.incr(key(k)).await,
            // Only the window's first hit sets the expiry (NX: Redis 7 / Valkey).
            pipeline.pexpire(key(k), window, Some(ExpireOptions::NX)).await,
            pipeline.pttl(key(k)).await,
        ];
        for q in queued {
            q.map_err(unavailable)?;
        }
        let (count, _, left): (u64, Value, i64) = pipeline.all().await.map_err(unavailable)?;
        Ok((count, u64::try_from(left).unwrap_or(window_ms)))
    }

    async fn acquire(&self, k: &str, limit: u64, ttl_ms: u64) -> StateResult<bool> {
        let key = slots_key(k);
        let ttl = i64::try_from(ttl_ms.max(1)).unwrap_or(i64::MAX);
        let pipeline = self.call().pipeline();
        let queued: [Result<(), _>; 2] = [pipeline.incr(&key).await, pipeline.pexpire(&key, ttl, None).await];
        for q in queued {
            q.map_err(unavailable)?;
        }
        let (taken, _): (u64, Value) = pipeline.all().await.map_err(unavailable)?;
        if taken <= limit {
            return Ok(true);
        }
        // Over: give the slot back at once.
        let _: i64 = self.call().decr(&key).await.map_err(unavailable)?;
        Ok(false)
    }

    async fn release(&self, k: &str) -> StateResult<()> {
        let _: i64 = self.call().eval(RELEASE, vec![slots_key(k)], Vec::<Value>::new()).await.map_err(unavailable)?;
        Ok(())
    }
}

/// Gives a slot back and deletes the counter at zero, in one step: a slot taken between a
/// separate decrement and delete would be wiped with it.
const RELEASE: &str = r"
local left = redis.call('DECR', KEYS[1])
if left <= 0 then redis.call('DEL', KEYS[1]) end
return left
";

fn slots_key(k: &str) -> String {
    format!("mcp:slots:{k}")
}
