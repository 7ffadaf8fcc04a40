//! Fixed-window request counters (`mcp:rate:<key>`): the first hit of a window starts its
//! expiry, so the window ends `window_ms` after it and the counter disappears with it. Slots
//! (`mcp:slots:<key>`): a sorted set of holders scored by when each one's slot lapses, so a
//! holder that dies loses its slot at its own lapse, not when the key goes quiet.

use async_trait::async_trait;
use fred::interfaces::{KeysInterface, LuaInterface, SortedSetsInterface};
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

    async fn acquire(&self, k: &str, slot: &str, limit: u64, ttl_ms: u64) -> StateResult<bool> {
        let args: Vec<Value> = vec![slot.into(), limit.to_string().into(), ttl_ms.max(1).to_string().into()];
        let taken: i64 = self.call().eval(ACQUIRE, vec![slots_key(k)], args).await.map_err(unavailable)?;
        Ok(taken == 1)
    }

    async fn release(&self, k: &str, slot: &str) -> StateResult<()> {
        // Removing the last member deletes the set.
        let _: i64 = self.call().zrem(slots_key(k), slot).await.map_err(unavailable)?;
        Ok(())
    }
}

/// Drops lapsed holders, then takes a slot if one is free, in one step on the server's clock
/// (instances' clocks may disagree). The key lives as long as its longest-lived slot: a
/// short slot never shortens it (that would drop the others with it).
const ACQUIRE: &str = r"
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
if redis.call('PTTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return 1
";

fn slots_key(k: &str) -> String {
    format!("mcp:slots:{k}")
}
