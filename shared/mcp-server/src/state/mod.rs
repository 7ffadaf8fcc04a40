//! State that must outlive one message, behind small async traits.
//!
//! Every trait has an in-memory implementation ([`memory`]) and one shared conformance
//! suite (`testkit`, feature `testkit`) that every backend must pass. Handlers never
//! keep such state in their own memory: any instance may serve the next message.

pub mod calls;
pub mod faults;
pub mod l1;
pub mod memory;
pub mod records;
pub mod tasks;
#[cfg(any(test, feature = "testkit"))]
pub mod testkit;

use std::sync::Arc;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

pub use records::{ConnectionRecord, DeliveryTarget, SessionRecord, Subscriber};
pub use tasks::{MemoryTasks, TaskLease, TaskRecord, TaskStore};

pub use mcp_protocol::model::LoggingLevel;

/// Why a state operation failed. All but `Rejected` are retryable from the client's side.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StateError {
    /// The backend could not be reached or did not answer in time, after its client's retries.
    #[error("state backend unavailable: {0}")]
    Unavailable(String),
    /// The backend refused for lack of capacity (DynamoDB throttling): a later attempt may succeed.
    #[error("state backend throttled the request")]
    Throttled,
    /// A conditional write lost: the record exists (a session id taken) or changed meanwhile.
    #[error("conflicting concurrent update")]
    Conflict,
    /// The backend refused the request itself (too large, malformed): retrying cannot help.
    #[error("state backend refused the request: {0}")]
    Rejected(String),
}

/// The result of every store operation.
pub type StateResult<T> = Result<T, StateError>;

/// Session-era sessions (2025-11-25 and older), keyed by session id.
#[async_trait]
pub trait SessionStore: Send + Sync {
    /// Stores a new session; fails with `Conflict` if the id exists.
    async fn create(&self, session: &SessionRecord) -> StateResult<()>;
    /// A live (unexpired) session, shared: a cached one is handed out without a copy.
    async fn get(&self, id: &str) -> StateResult<Option<Arc<SessionRecord>>>;
    /// Sets the log level of an existing session; `false` if there is none.
    async fn set_log_level(&self, id: &str, level: LoggingLevel) -> StateResult<bool>;
    /// Marks `notifications/initialized` as received; `false` if there is no session.
    async fn mark_initialized(&self, id: &str) -> StateResult<bool>;
    /// Removes a session and returns what it was (its principal's place goes with it);
    /// `None` if there was none.
    async fn delete(&self, id: &str) -> StateResult<Option<SessionRecord>>;
}

/// WebSocket connections, keyed by the API Gateway connection id.
#[async_trait]
pub trait ConnectionStore: Send + Sync {
    /// Creates or replaces a connection's record: at `$connect`, and again to mark it ended (its
    /// expiry set to now) when its cleanup starts.
    async fn put(&self, connection: &ConnectionRecord) -> StateResult<()>;
    /// A live connection's record; `None` once its expiry has passed (lapsed or ended).
    async fn get(&self, id: &str) -> StateResult<Option<ConnectionRecord>>;
    /// Removes the record, the last step of a connection's cleanup; `false` if there was none.
    async fn delete(&self, id: &str) -> StateResult<bool>;
    /// Connections whose lifetime ended in `[from_ms, to_ms)` (their token expired, or the
    /// 2 hours API Gateway allows passed) and that nobody has forgotten yet: the sweeper
    /// closes them. A lapsed record stays findable here for [`LAPSED_KEPT_MS`]; `get`
    /// ignores it at once.
    async fn lapsed(&self, from_ms: u64, to_ms: u64) -> StateResult<Vec<String>>;
}

/// How long a lapsed connection's record is kept for the sweeper to find (reads ignore it):
/// longer than the sweeper's look-back, so that DynamoDB's TTL cannot take a record the
/// sweeper would still look for.
pub const LAPSED_KEPT_MS: u64 = 30 * 60 * 1000;

/// Who listens to a topic (`resource:<uri>`, `list:tools`, ...). Rows are keyed by topic so
/// a publisher on any instance finds every subscriber.
#[async_trait]
pub trait SubscriptionStore: Send + Sync {
    /// Adds or replaces the subscriber's row for the topic.
    async fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> StateResult<()>;
    /// Removes one row; `false` if it did not exist.
    async fn unsubscribe(&self, topic: &str, subscriber_id: &str) -> StateResult<bool>;
    /// Removes every row of a subscriber (connection closed, session deleted).
    async fn remove_subscriber(&self, subscriber_id: &str) -> StateResult<usize>;
    /// Live subscribers of a topic.
    async fn subscribers(&self, topic: &str) -> StateResult<Vec<Subscriber>>;
    /// Number of live rows a subscriber holds (for per-connection limits).
    async fn count_for(&self, subscriber_id: &str) -> StateResult<usize>;
}

/// Single-use tokens (MRTR `requestState` nonces): the first `consume` wins.
#[async_trait]
pub trait NonceStore: Send + Sync {
    /// `true` exactly once per nonce until `expires_at_ms`.
    async fn consume(&self, nonce: &str, expires_at_ms: u64) -> StateResult<bool>;
}

/// Fire-and-forget messages between instances: replies to server-to-client requests,
/// cancellation signals, notifications for streams held open by some instance.
#[async_trait]
pub trait MessageBus: Send + Sync {
    /// Delivers to current subscribers of `channel`. Returns a count of receivers that is 0
    /// when nobody listens (a distributed bus counts instances, not local subscribers).
    async fn publish(&self, channel: &str, message: Vec<u8>) -> StateResult<usize>;
    /// Subscribes to `channel`. Messages published before the call are not seen.
    async fn subscribe(&self, channel: &str) -> StateResult<BoxStream<'static, Vec<u8>>>;
}

/// The SSE event log of session-era streams, for `Last-Event-ID` resumption.
#[async_trait]
pub trait EventLog: Send + Sync {
    /// Appends an event to a stream and returns its id (unique across the session's streams).
    async fn append(&self, stream: &str, message: &[u8]) -> StateResult<String>;
    /// The stream an event id belongs to, and the events after it on that stream.
    async fn after(&self, event_id: &str) -> StateResult<Option<(String, Vec<(String, Vec<u8>)>)>>;
}

/// Application data of the servers themselves (a reference server's notes): small
/// documents by key, within a scope (a principal's, or the shared one; see
/// [`Store`](crate::store::Store), which handlers use). Not a cache: the store is the source
/// of truth. An item past its expiry is gone for every read.
#[async_trait]
pub trait KvStore: Send + Sync {
    /// The value of `key` in `scope`; `None` if there is none or it has expired.
    async fn get(&self, scope: &str, key: &str) -> StateResult<Option<Vec<u8>>>;
    /// Creates or replaces an item; `expires_at_ms` (milliseconds since the epoch) or never.
    async fn put(&self, scope: &str, key: &str, value: &[u8], expires_at_ms: Option<u64>) -> StateResult<()>;
    /// `false` if there was nothing to delete.
    async fn delete(&self, scope: &str, key: &str) -> StateResult<bool>;
    /// Live keys with `prefix`, in order, at most `limit`.
    async fn keys(&self, scope: &str, prefix: &str, limit: usize) -> StateResult<Vec<String>>;
}

/// Version numbers in the shared cache, bumped by every write of a cached record, so that each
/// instance's L1 can tell whether its copy is current with one read.
#[async_trait]
pub trait Versions: Send + Sync {
    /// The current version (0 for a key never bumped, or whose version expired).
    async fn current(&self, key: &str) -> StateResult<u64>;
    /// Sets and returns a new version, different from every earlier one of the key.
    async fn bump(&self, key: &str) -> StateResult<u64>;
    /// A shared copy of the record, with the version it was read at (stale unless that
    /// version is still current).
    async fn copy(&self, key: &str) -> StateResult<Option<(u64, Vec<u8>)>>;
    /// Keeps a shared copy read at `version`, for `ttl_ms`.
    async fn keep_copy(&self, key: &str, version: u64, record: &[u8], ttl_ms: u64) -> StateResult<()>;
}

/// Counters for limits, shared by every instance: fixed-window request counts (per-principal
/// rate limits) and slots (requests in flight per connection).
#[async_trait]
pub trait RateCounter: Send + Sync {
    /// Counts one hit for `key` in its current window of `window_ms` (a window starts at its
    /// first hit). Returns the hits so far in the window, this one included, and the
    /// milliseconds until the window ends.
    async fn hit(&self, key: &str, window_ms: u64) -> StateResult<(u64, u64)>;
    /// Takes one of `limit` slots under `key` for the holder `slot`; false when all are taken.
    /// Each slot lapses `ttl_ms` after its own acquisition, so a holder that dies frees its
    /// slot even while others keep taking and giving back theirs. A holder that already has a
    /// slot keeps it (its lapse renewed): taking it again is never refused.
    async fn acquire(&self, key: &str, slot: &str, limit: u64, ttl_ms: u64) -> StateResult<bool>;
    /// Gives back the slot taken with [`acquire`](Self::acquire).
    async fn release(&self, key: &str, slot: &str) -> StateResult<()>;
}

/// Everything a router needs, shared by every instance of a deployment.
#[derive(Clone)]
pub struct StateHandles {
    /// Session-era sessions (behind this instance's L1 after [`with_l1`](Self::with_l1)).
    pub sessions: Arc<dyn SessionStore>,
    /// WebSocket connections' records.
    pub connections: Arc<dyn ConnectionStore>,
    /// Subscription rows by topic: sessions' subscriptions and 2026-07-28 listen streams.
    pub subscriptions: Arc<dyn SubscriptionStore>,
    /// MRTR `requestState` nonces, each let through once.
    pub nonces: Arc<dyn NonceStore>,
    /// Messages between instances: signals, and notifications for streams some instance holds.
    pub bus: Arc<dyn MessageBus>,
    /// Session-era SSE event logs, for resuming a stream with `Last-Event-ID`.
    pub events: Arc<dyn EventLog>,
    /// The servers' application data ([`Store`](crate::store::Store) scopes it per principal).
    pub kv: Arc<dyn KvStore>,
    /// Shared versions and copies, which L1 caches and live catalogues revalidate against.
    pub versions: Arc<dyn Versions>,
    /// Shared counters: rate limits, and the slots of caps a race could otherwise pass.
    pub rates: Arc<dyn RateCounter>,
    /// Tasks of the tasks extension.
    pub tasks: Arc<dyn TaskStore>,
}

impl StateHandles {
    /// Puts a per-instance L1 cache in front of the session store (revalidated through
    /// `versions`). Each instance calls this on its own copy of the handles.
    pub fn with_l1(mut self) -> Self {
        self.sessions = Arc::new(l1::CachedSessions::new(self.sessions, self.versions.clone()));
        self
    }

    /// All stores in memory: one process, any number of router instances.
    pub fn in_memory() -> Self {
        let m = Arc::new(memory::MemoryState::default());
        StateHandles {
            sessions: m.clone(),
            connections: m.clone(),
            subscriptions: m.clone(),
            nonces: m.clone(),
            bus: m.clone(),
            events: m.clone(),
            kv: m.clone(),
            versions: m.clone(),
            rates: m,
            tasks: Arc::new(MemoryTasks::default()),
        }
    }
}

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}
