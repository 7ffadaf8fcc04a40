//! The SSE event log: one Redis list per stream (`mcp:events:{<stream>}`, entries
//! `<seq>\n<message>`), a sequence counter per stream, both expiring when the stream is idle.
//! Event ids are `<stream>#<seq>`.

use async_trait::async_trait;
use fred::interfaces::{ListInterface, LuaInterface};
use fred::types::Value;

use mcp_server::state::{EventLog, StateResult};

use crate::{RedisState, unavailable};

/// Events kept per stream.
const EVENTS_PER_STREAM: i64 = 1024;
/// A stream's log expires once nothing was appended for this long.
const IDLE_SECONDS: i64 = 15 * 60;

// Both keys of a stream carry it as a hash tag (`{...}`), so that in cluster mode they live
// on one shard, as a script that touches both requires.
fn list_key(stream: &str) -> String {
    format!("mcp:events:{{{stream}}}")
}

fn seq_key(stream: &str) -> String {
    format!("mcp:events-seq:{{{stream}}}")
}

/// Appends atomically, in one round trip: the next sequence number, the entry that carries
/// it, the trim to the stream's last events, and both keys' idle expiry. Two instances
/// appending to one stream at once can no longer store their entries out of order.
const APPEND: &str = r"
local seq = redis.call('INCR', KEYS[2])
redis.call('RPUSH', KEYS[1], seq .. '\n' .. ARGV[1])
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return seq
";

#[async_trait]
impl EventLog for RedisState {
    async fn append(&self, stream: &str, message: &[u8]) -> StateResult<String> {
        let args =
            vec![Value::Bytes(message.to_vec().into()), Value::from(EVENTS_PER_STREAM), Value::from(IDLE_SECONDS)];
        let seq: u64 =
            self.call().eval(APPEND, vec![list_key(stream), seq_key(stream)], args).await.map_err(unavailable)?;
        Ok(format!("{stream}#{seq}"))
    }

    async fn after(&self, event_id: &str) -> StateResult<Option<(String, Vec<(String, Vec<u8>)>)>> {
        let Some((stream, seq)) = event_id.rsplit_once('#') else { return Ok(None) };
        let Ok(seq) = seq.parse::<u64>() else { return Ok(None) };
        let entries: Vec<Vec<u8>> = self.call().lrange(list_key(stream), 0, -1).await.map_err(unavailable)?;
        if entries.is_empty() {
            return Ok(None);
        }
        let events = entries
            .into_iter()
            .filter_map(|e| {
                let split = e.iter().position(|&b| b == b'\n')?;
                let n: u64 = std::str::from_utf8(&e[..split]).ok()?.parse().ok()?;
                (n > seq).then(|| (format!("{stream}#{n}"), e[split + 1..].to_vec()))
            })
            .collect();
        Ok(Some((stream.to_owned(), events)))
    }
}
