//! The SSE event log: one Redis list per stream (`mcp:events:<stream>`, entries
//! `<seq>\n<message>`), a sequence counter per stream, both expiring when the stream is idle.
//! Event ids are `<stream>#<seq>`.

use async_trait::async_trait;
use fred::interfaces::{KeysInterface, ListInterface};
use fred::types::Value;

use mcp_server::state::{EventLog, StateResult};

use crate::{RedisState, unavailable};

/// Events kept per stream.
const EVENTS_PER_STREAM: i64 = 1024;
/// A stream's log expires once nothing was appended for this long.
const IDLE_SECONDS: i64 = 15 * 60;

fn list_key(stream: &str) -> String {
    format!("mcp:events:{stream}")
}

fn seq_key(stream: &str) -> String {
    format!("mcp:events-seq:{stream}")
}

#[async_trait]
impl EventLog for RedisState {
    async fn append(&self, stream: &str, message: &[u8]) -> StateResult<String> {
        let seq: u64 = self.call().incr(seq_key(stream)).await.map_err(unavailable)?;
        let mut entry = format!("{seq}\n").into_bytes();
        entry.extend_from_slice(message);
        let pipeline = self.call().pipeline();
        let list = list_key(stream);
        let queued: [Result<(), _>; 4] = [
            pipeline.rpush(&list, entry).await,
            pipeline.ltrim(&list, -EVENTS_PER_STREAM, -1).await,
            pipeline.expire(&list, IDLE_SECONDS, None).await,
            pipeline.expire(seq_key(stream), IDLE_SECONDS, None).await,
        ];
        for q in queued {
            q.map_err(unavailable)?;
        }
        let _: Vec<Value> = pipeline.all().await.map_err(unavailable)?;
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
