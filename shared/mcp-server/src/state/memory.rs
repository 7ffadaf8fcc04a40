//! In-memory backends: one process, shared by every router instance in it. They stand in
//! for DynamoDB and Redis in the local gateway and in tests, with the same semantics
//! (conditional create, single-use consume, expiry filtered on read, lossy pub/sub).

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};

use async_trait::async_trait;
use futures_util::stream::{self, BoxStream, StreamExt};
use tokio::sync::mpsc;

use mcp_protocol::model::LoggingLevel;

use super::{
    ConnectionRecord, ConnectionStore, EventLog, KvStore, LAPSED_KEPT_MS, MessageBus, NonceStore, RateCounter,
    SessionRecord, SessionStore, StateError, StateResult, Subscriber, SubscriptionStore, Versions, now_ms,
};

/// How many messages a slow bus subscriber may have queued before new ones are dropped
/// (Redis pub/sub drops too: the bus is not a queue).
const BUS_BUFFER: usize = 1024;
/// Events kept per SSE stream for resumption.
const EVENTS_PER_STREAM: usize = 1024;
/// A stream's events are dropped once nothing was appended for this long (the Redis log
/// expires the same way).
const EVENT_LOG_IDLE_MS: u64 = 15 * 60 * 1000;
/// Expired records are swept from all maps once every this many writes.
const SWEEP_EVERY: usize = 256;

/// One SSE stream's events: (sequence number, message), oldest first, and when the last one
/// was appended.
#[derive(Default)]
struct StreamLog {
    events: VecDeque<(u64, Vec<u8>)>,
    last_append_ms: u64,
}

type Channels = HashMap<String, Vec<mpsc::Sender<Vec<u8>>>>;

/// A shared copy of a record: (version it was read at, record, expiry ms).
type SharedCopy = (u64, Vec<u8>, u64);
/// An application-data item's place: (scope, key).
type ScopedKey = (String, String);
/// An application-data item: its value and expiry.
type KvItem = (Vec<u8>, Option<u64>);

/// Every store in memory, shared by all the routers of one process: what
/// [`StateHandles::in_memory`](super::StateHandles::in_memory) builds.
#[derive(Default)]
pub struct MemoryState {
    sessions: Mutex<HashMap<String, SessionRecord>>,
    connections: Mutex<HashMap<String, ConnectionRecord>>,
    /// topic -> subscriber id -> row
    subscriptions: Mutex<HashMap<String, BTreeMap<String, Subscriber>>>,
    nonces: Mutex<HashMap<String, u64>>,
    channels: Arc<Mutex<Channels>>,
    events: Mutex<HashMap<String, StreamLog>>,
    event_seq: AtomicU64,
    writes: AtomicUsize,
    kv: Mutex<BTreeMap<ScopedKey, KvItem>>,
    /// Read on every session-era request (the L1's revalidation): a fast hash.
    versions: Mutex<HashMap<String, u64, foldhash::fast::RandomState>>,
    copies: Mutex<HashMap<String, SharedCopy>>,
    /// key -> (window end, hits)
    rates: Mutex<HashMap<String, (u64, u64)>>,
    /// key -> slot id -> when it lapses
    slots: Mutex<HashMap<String, HashMap<String, u64>>>,
}

impl MemoryState {
    /// Counts a write; once every `SWEEP_EVERY` writes, expired entries are dropped so that a
    /// long-running process does not keep every record it ever saw (DynamoDB's TTL deletion
    /// does the same, lazily).
    fn sweep_due(&self) -> bool {
        self.writes.fetch_add(1, Ordering::Relaxed).is_multiple_of(SWEEP_EVERY)
    }
}

fn lock<T>(m: &Mutex<T>) -> StateResult<std::sync::MutexGuard<'_, T>> {
    m.lock().map_err(|_| StateError::Unavailable("memory state lock poisoned".into()))
}

#[async_trait]
impl SessionStore for MemoryState {
    async fn create(&self, session: &SessionRecord) -> StateResult<()> {
        let mut map = lock(&self.sessions)?;
        let now = now_ms();
        if self.sweep_due() {
            map.retain(|_, s| s.expires_at_ms > now);
        }
        match map.get(&session.id) {
            Some(existing) if existing.expires_at_ms > now => Err(StateError::Conflict),
            _ => {
                map.insert(session.id.clone(), session.clone());
                Ok(())
            }
        }
    }

    async fn get(&self, id: &str) -> StateResult<Option<Arc<SessionRecord>>> {
        let now = now_ms();
        Ok(lock(&self.sessions)?.get(id).filter(|s| s.expires_at_ms > now).cloned().map(Arc::new))
    }

    async fn set_log_level(&self, id: &str, level: LoggingLevel) -> StateResult<bool> {
        let now = now_ms();
        Ok(match lock(&self.sessions)?.get_mut(id) {
            Some(s) if s.expires_at_ms > now => {
                s.log_level = Some(level);
                true
            }
            _ => false,
        })
    }

    async fn mark_initialized(&self, id: &str) -> StateResult<bool> {
        let now = now_ms();
        Ok(match lock(&self.sessions)?.get_mut(id) {
            Some(s) if s.expires_at_ms > now => {
                s.initialized = true;
                true
            }
            _ => false,
        })
    }

    async fn delete(&self, id: &str) -> StateResult<Option<SessionRecord>> {
        Ok(lock(&self.sessions)?.remove(id))
    }
}

#[async_trait]
impl ConnectionStore for MemoryState {
    async fn put(&self, connection: &ConnectionRecord) -> StateResult<()> {
        let now = now_ms();
        let mut map = lock(&self.connections)?;
        if self.sweep_due() {
            map.retain(|_, c| c.expires_at_ms + LAPSED_KEPT_MS > now);
        }
        map.insert(connection.id.clone(), connection.clone());
        Ok(())
    }

    async fn get(&self, id: &str) -> StateResult<Option<ConnectionRecord>> {
        let now = now_ms();
        Ok(lock(&self.connections)?.get(id).filter(|c| c.expires_at_ms > now).cloned())
    }

    async fn delete(&self, id: &str) -> StateResult<bool> {
        Ok(lock(&self.connections)?.remove(id).is_some())
    }

    async fn lapsed(&self, from_ms: u64, to_ms: u64) -> StateResult<Vec<String>> {
        let map = lock(&self.connections)?;
        Ok(map.values().filter(|c| (from_ms..to_ms).contains(&c.expires_at_ms)).map(|c| c.id.clone()).collect())
    }
}

#[async_trait]
impl SubscriptionStore for MemoryState {
    async fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> StateResult<()> {
        let now = now_ms();
        let mut map = lock(&self.subscriptions)?;
        if self.sweep_due() {
            map.retain(|_, rows| {
                rows.retain(|_, s| s.expires_at_ms > now);
                !rows.is_empty()
            });
        }
        map.entry(topic.to_owned()).or_default().insert(subscriber.id.clone(), subscriber.clone());
        Ok(())
    }

    async fn unsubscribe(&self, topic: &str, subscriber_id: &str) -> StateResult<bool> {
        let mut map = lock(&self.subscriptions)?;
        let Some(rows) = map.get_mut(topic) else { return Ok(false) };
        let removed = rows.remove(subscriber_id).is_some();
        if rows.is_empty() {
            map.remove(topic);
        }
        Ok(removed)
    }

    async fn remove_subscriber(&self, subscriber_id: &str) -> StateResult<usize> {
        let mut map = lock(&self.subscriptions)?;
        let mut removed = 0;
        map.retain(|_, rows| {
            removed += usize::from(rows.remove(subscriber_id).is_some());
            !rows.is_empty()
        });
        Ok(removed)
    }

    async fn subscribers(&self, topic: &str) -> StateResult<Vec<Subscriber>> {
        let now = now_ms();
        Ok(lock(&self.subscriptions)?
            .get(topic)
            .map(|rows| rows.values().filter(|s| s.expires_at_ms > now).cloned().collect())
            .unwrap_or_default())
    }

    async fn count_for(&self, subscriber_id: &str) -> StateResult<usize> {
        let now = now_ms();
        Ok(lock(&self.subscriptions)?
            .values()
            .filter(|rows| rows.get(subscriber_id).is_some_and(|s| s.expires_at_ms > now))
            .count())
    }
}

#[async_trait]
impl NonceStore for MemoryState {
    async fn consume(&self, nonce: &str, expires_at_ms: u64) -> StateResult<bool> {
        let now = now_ms();
        let mut map = lock(&self.nonces)?;
        map.retain(|_, exp| *exp > now);
        if map.contains_key(nonce) {
            return Ok(false);
        }
        map.insert(nonce.to_owned(), expires_at_ms);
        Ok(true)
    }
}

#[async_trait]
impl MessageBus for MemoryState {
    async fn publish(&self, channel: &str, message: Vec<u8>) -> StateResult<usize> {
        let mut map = lock(&self.channels)?;
        let Some(subs) = map.get_mut(channel) else { return Ok(0) };
        subs.retain(|tx| !tx.is_closed());
        let mut delivered = 0;
        for tx in subs.iter() {
            if tx.try_send(message.clone()).is_ok() {
                delivered += 1;
            }
        }
        if subs.is_empty() {
            map.remove(channel);
        }
        Ok(delivered)
    }

    async fn subscribe(&self, channel: &str) -> StateResult<BoxStream<'static, Vec<u8>>> {
        let (tx, rx) = mpsc::channel(BUS_BUFFER);
        lock(&self.channels)?.entry(channel.to_owned()).or_default().push(tx);
        let guard = Unsubscribe { channels: Arc::downgrade(&self.channels), channel: channel.to_owned() };
        Ok(stream::unfold((rx, guard), |(mut rx, guard)| async move { rx.recv().await.map(|m| (m, (rx, guard))) })
            .boxed())
    }
}

/// Removes a dropped subscriber's sender (and the channel, if it was the last), so that
/// one-off channels (a request's cancel and reply channels) do not accumulate.
struct Unsubscribe {
    channels: Weak<Mutex<Channels>>,
    channel: String,
}

impl Drop for Unsubscribe {
    fn drop(&mut self) {
        let Some(channels) = self.channels.upgrade() else { return };
        let Ok(mut map) = channels.lock() else { return };
        if let Some(subs) = map.get_mut(&self.channel) {
            subs.retain(|tx| !tx.is_closed());
            if subs.is_empty() {
                map.remove(&self.channel);
            }
        }
    }
}

#[async_trait]
impl EventLog for MemoryState {
    async fn append(&self, stream: &str, message: &[u8]) -> StateResult<String> {
        let seq = self.event_seq.fetch_add(1, Ordering::Relaxed) + 1;
        let now = now_ms();
        let mut map = lock(&self.events)?;
        if self.sweep_due() {
            map.retain(|_, log| log.last_append_ms + EVENT_LOG_IDLE_MS > now);
        }
        let log = map.entry(stream.to_owned()).or_default();
        if log.events.len() == EVENTS_PER_STREAM {
            log.events.pop_front();
        }
        log.events.push_back((seq, message.to_vec()));
        log.last_append_ms = now;
        Ok(format!("{stream}#{seq}"))
    }

    async fn after(&self, event_id: &str) -> StateResult<Option<(String, Vec<(String, Vec<u8>)>)>> {
        let Some((stream, seq)) = event_id.rsplit_once('#') else { return Ok(None) };
        let Ok(seq) = seq.parse::<u64>() else { return Ok(None) };
        let map = lock(&self.events)?;
        let Some(log) = map.get(stream) else { return Ok(None) };
        let events =
            log.events.iter().filter(|(s, _)| *s > seq).map(|(s, m)| (format!("{stream}#{s}"), m.clone())).collect();
        Ok(Some((stream.to_owned(), events)))
    }
}

#[async_trait]
impl KvStore for MemoryState {
    async fn get(&self, scope: &str, key: &str) -> StateResult<Option<Vec<u8>>> {
        let now = now_ms();
        let map = lock(&self.kv)?;
        let item = map.get(&(scope.to_owned(), key.to_owned()));
        Ok(item.filter(|(_, exp)| exp.is_none_or(|e| e > now)).map(|(v, _)| v.clone()))
    }

    async fn put(&self, scope: &str, key: &str, value: &[u8], expires_at_ms: Option<u64>) -> StateResult<()> {
        let sweep = self.sweep_due();
        let mut map = lock(&self.kv)?;
        if sweep {
            let now = now_ms();
            map.retain(|_, (_, exp)| exp.is_none_or(|e| e > now));
        }
        map.insert((scope.to_owned(), key.to_owned()), (value.to_vec(), expires_at_ms));
        Ok(())
    }

    async fn delete(&self, scope: &str, key: &str) -> StateResult<bool> {
        let now = now_ms();
        let removed = lock(&self.kv)?.remove(&(scope.to_owned(), key.to_owned()));
        Ok(removed.is_some_and(|(_, exp)| exp.is_none_or(|e| e > now)))
    }

    async fn keys(&self, scope: &str, prefix: &str, limit: usize) -> StateResult<Vec<String>> {
        let now = now_ms();
        Ok(lock(&self.kv)?
            .range((scope.to_owned(), prefix.to_owned())..)
            .take_while(|((s, k), _)| s == scope && k.starts_with(prefix))
            .filter(|(_, (_, exp))| exp.is_none_or(|e| e > now))
            .take(limit)
            .map(|((_, k), _)| k.clone())
            .collect())
    }
}

#[async_trait]
impl Versions for MemoryState {
    async fn current(&self, key: &str) -> StateResult<u64> {
        Ok(lock(&self.versions)?.get(key).copied().unwrap_or(0))
    }

    async fn bump(&self, key: &str) -> StateResult<u64> {
        let mut map = lock(&self.versions)?;
        let v = map.entry(key.to_owned()).or_insert(0);
        *v += 1;
        Ok(*v)
    }

    async fn copy(&self, key: &str) -> StateResult<Option<(u64, Vec<u8>)>> {
        let now = now_ms();
        Ok(lock(&self.copies)?.get(key).filter(|(_, _, exp)| *exp > now).map(|(v, r, _)| (*v, r.clone())))
    }

    async fn keep_copy(&self, key: &str, version: u64, record: &[u8], ttl_ms: u64) -> StateResult<()> {
        let now = now_ms();
        let mut map = lock(&self.copies)?;
        if self.sweep_due() {
            map.retain(|_, (_, _, exp)| *exp > now);
        }
        map.insert(key.to_owned(), (version, record.to_vec(), now + ttl_ms));
        Ok(())
    }
}

#[async_trait]
impl RateCounter for MemoryState {
    async fn hit(&self, key: &str, window_ms: u64) -> StateResult<(u64, u64)> {
        let now = now_ms();
        let mut rates = lock(&self.rates)?;
        if self.sweep_due() {
            rates.retain(|_, (end, _)| *end > now);
        }
        let (end, hits) = rates.entry(key.to_owned()).or_insert((now + window_ms, 0));
        if *end <= now {
            (*end, *hits) = (now + window_ms, 0);
        }
        *hits += 1;
        Ok((*hits, *end - now))
    }

    async fn acquire(&self, key: &str, slot: &str, limit: u64, ttl_ms: u64) -> StateResult<bool> {
        let now = now_ms();
        let mut slots = lock(&self.slots)?;
        if self.sweep_due() {
            slots.retain(|_, held| {
                held.retain(|_, lapses| *lapses > now);
                !held.is_empty()
            });
        }
        let held = slots.entry(key.to_owned()).or_default();
        held.retain(|_, lapses| *lapses > now);
        if held.len() as u64 >= limit && !held.contains_key(slot) {
            return Ok(false);
        }
        held.insert(slot.to_owned(), now + ttl_ms);
        Ok(true)
    }

    async fn release(&self, key: &str, slot: &str) -> StateResult<()> {
        let mut slots = lock(&self.slots)?;
        if let Some(held) = slots.get_mut(key) {
            held.remove(slot);
            if held.is_empty() {
                slots.remove(key);
            }
        }
        Ok(())
    }
}
