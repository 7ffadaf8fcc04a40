//! A fault layer around the state stores, for testing how the service behaves when its
//! backends misbehave: added latency, and a share of calls failing the way real backends
//! fail. It wraps any [`StateHandles`], so the same faults hit the in-memory stores and the
//! DynamoDB and Redis ones, and its plan can change while traffic runs.
//!
//! The faults are those the backends' own clients report after their retries:
//! - `throttled`: DynamoDB's `ProvisionedThroughputExceeded` (the adapter's
//!   [`StateError::Throttled`]);
//! - `reset`: a connection reset, before the call reached the backend or after it ran and
//!   before its reply came back (the caller cannot tell which);
//! - `timeout`: no answer: the call waits `timeout` and then fails, as a client's own
//!   deadline would.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::stream::BoxStream;

use super::{
    ConnectionRecord, ConnectionStore, EventLog, KvStore, LoggingLevel, MessageBus, NonceStore, RateCounter,
    SessionRecord, SessionStore, StateError, StateHandles, StateResult, Subscriber, SubscriptionStore, TaskRecord,
    TaskStore, Versions,
};

/// How a faulty call fails.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// The backend refuses for capacity: [`StateError::Throttled`], before the call runs.
    Throttled,
    /// The connection resets before the call runs or after it ran (half each): the caller gets
    /// [`StateError::Unavailable`] either way.
    Reset,
    /// No answer: the call waits the plan's `timeout`, then fails with
    /// [`StateError::Unavailable`] without running.
    Timeout,
}

/// What to inject. The default injects nothing.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FaultPlan {
    /// Share of calls that fail, from 0 to 1.
    pub error_rate: f64,
    /// How failing calls fail, one picked at random per fault (none: `Reset`).
    pub kinds: Vec<FaultKind>,
    /// Added before every call.
    pub latency: Duration,
    /// How long a `Timeout` fault waits before failing.
    pub timeout: Duration,
}

/// Why a fault plan could not be read.
#[derive(Debug, thiserror::Error)]
#[error("fault plan: {0} (expected e.g. `error_rate=0.05,kinds=throttled+reset+timeout,latency_ms=2,timeout_ms=500`)")]
pub struct FaultPlanError(String);

impl FromStr for FaultPlan {
    type Err = FaultPlanError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut plan = FaultPlan { timeout: Duration::from_secs(2), ..FaultPlan::default() };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (key, value) =
                part.split_once('=').ok_or_else(|| FaultPlanError(format!("`{part}` is not key=value")))?;
            let millis =
                || value.parse::<u64>().map(Duration::from_millis).map_err(|e| FaultPlanError(format!("{key}: {e}")));
            match key {
                "error_rate" => {
                    plan.error_rate = value.parse().map_err(|e| FaultPlanError(format!("error_rate: {e}")))?;
                    if !(0.0..=1.0).contains(&plan.error_rate) {
                        return Err(FaultPlanError("error_rate must be between 0 and 1".into()));
                    }
                }
                "kinds" => {
                    plan.kinds = value
                        .split('+')
                        .map(|k| match k {
                            "throttled" => Ok(FaultKind::Throttled),
                            "reset" => Ok(FaultKind::Reset),
                            "timeout" => Ok(FaultKind::Timeout),
                            other => Err(FaultPlanError(format!("unknown kind `{other}`"))),
                        })
                        .collect::<Result<_, _>>()?;
                }
                "latency_ms" => plan.latency = millis()?,
                "timeout_ms" => plan.timeout = millis()?,
                other => return Err(FaultPlanError(format!("unknown key `{other}`"))),
            }
        }
        Ok(plan)
    }
}

/// The switch shared by every wrapped store, with counts of what it did.
pub struct Faults {
    plan: RwLock<FaultPlan>,
    rng: AtomicU64,
    calls: AtomicU64,
    injected: AtomicU64,
}

impl fmt::Debug for Faults {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Faults").field("calls", &self.calls()).field("injected", &self.injected()).finish()
    }
}

/// Where a `Reset` fault strikes relative to the call.
enum Strike {
    None,
    Before(StateError),
    After(StateError),
}

impl Faults {
    /// A layer that injects `plan`'s faults, picked with a random seed; [`wrap`](Self::wrap) puts
    /// stores behind it, [`set`](Self::set) changes the plan.
    pub fn new(plan: FaultPlan) -> Arc<Self> {
        let mut seed = [0u8; 8];
        let _ = getrandom::fill(&mut seed);
        Arc::new(Faults {
            plan: RwLock::new(plan),
            rng: AtomicU64::new(u64::from_le_bytes(seed) | 1),
            calls: AtomicU64::new(0),
            injected: AtomicU64::new(0),
        })
    }

    /// Replaces the plan; calls already waiting keep the old one.
    pub fn set(&self, plan: FaultPlan) {
        *self.plan.write().unwrap_or_else(|e| e.into_inner()) = plan;
    }

    /// State calls made through the layer.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    /// Calls that were made to fail.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// The same stores, each call going through this layer.
    pub fn wrap(self: &Arc<Self>, state: StateHandles) -> StateHandles {
        StateHandles {
            sessions: Arc::new(Faulty { inner: state.sessions, faults: self.clone() }),
            connections: Arc::new(Faulty { inner: state.connections, faults: self.clone() }),
            subscriptions: Arc::new(Faulty { inner: state.subscriptions, faults: self.clone() }),
            nonces: Arc::new(Faulty { inner: state.nonces, faults: self.clone() }),
            bus: Arc::new(Faulty { inner: state.bus, faults: self.clone() }),
            events: Arc::new(Faulty { inner: state.events, faults: self.clone() }),
            kv: Arc::new(Faulty { inner: state.kv, faults: self.clone() }),
            versions: Arc::new(Faulty { inner: state.versions, faults: self.clone() }),
            rates: Arc::new(Faulty { inner: state.rates, faults: self.clone() }),
            tasks: Arc::new(Faulty { inner: state.tasks, faults: self.clone() }),
        }
    }

    /// A uniform number in [0, 1) (xorshift: cheap, and good enough to pick faults).
    fn uniform(&self) -> f64 {
        let mut x = self.rng.load(Ordering::Relaxed);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng.store(x, Ordering::Relaxed);
        (x >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Waits the plan's latency and decides this call's fault.
    async fn strike(&self) -> Strike {
        self.calls.fetch_add(1, Ordering::Relaxed);
        let plan = self.plan.read().unwrap_or_else(|e| e.into_inner()).clone();
        if !plan.latency.is_zero() {
            tokio::time::sleep(plan.latency).await;
        }
        if plan.error_rate <= 0.0 || self.uniform() >= plan.error_rate {
            return Strike::None;
        }
        self.injected.fetch_add(1, Ordering::Relaxed);
        let kind = match plan.kinds.len() {
            0 => FaultKind::Reset,
            n => plan.kinds[((self.uniform() * n as f64) as usize).min(n - 1)],
        };
        match kind {
            FaultKind::Throttled => Strike::Before(StateError::Throttled),
            FaultKind::Timeout => {
                tokio::time::sleep(plan.timeout).await;
                Strike::Before(StateError::Unavailable("injected fault: timed out".into()))
            }
            FaultKind::Reset => {
                let e = StateError::Unavailable("injected fault: connection reset by peer".into());
                if self.uniform() < 0.5 { Strike::Before(e) } else { Strike::After(e) }
            }
        }
    }

    /// Runs `call` under this call's fault.
    async fn run<T, F>(&self, call: F) -> StateResult<T>
    where
        F: Future<Output = StateResult<T>>,
    {
        match self.strike().await {
            Strike::None => call.await,
            Strike::Before(e) => Err(e),
            Strike::After(e) => {
                let _ = call.await;
                Err(e)
            }
        }
    }
}

/// One store behind the fault layer.
struct Faulty<T: ?Sized> {
    inner: Arc<T>,
    faults: Arc<Faults>,
}

#[async_trait]
impl SessionStore for Faulty<dyn SessionStore> {
    async fn create(&self, session: &SessionRecord) -> StateResult<()> {
        self.faults.run(self.inner.create(session)).await
    }
    async fn get(&self, id: &str) -> StateResult<Option<Arc<SessionRecord>>> {
        self.faults.run(self.inner.get(id)).await
    }
    async fn set_log_level(&self, id: &str, level: LoggingLevel) -> StateResult<bool> {
        self.faults.run(self.inner.set_log_level(id, level)).await
    }
    async fn mark_initialized(&self, id: &str) -> StateResult<bool> {
        self.faults.run(self.inner.mark_initialized(id)).await
    }
    async fn delete(&self, id: &str) -> StateResult<Option<SessionRecord>> {
        self.faults.run(self.inner.delete(id)).await
    }
}

#[async_trait]
impl ConnectionStore for Faulty<dyn ConnectionStore> {
    async fn put(&self, connection: &ConnectionRecord) -> StateResult<()> {
        self.faults.run(self.inner.put(connection)).await
    }
    async fn get(&self, id: &str) -> StateResult<Option<ConnectionRecord>> {
        self.faults.run(self.inner.get(id)).await
    }
    async fn delete(&self, id: &str) -> StateResult<bool> {
        self.faults.run(self.inner.delete(id)).await
    }
    async fn lapsed(&self, from_ms: u64, to_ms: u64) -> StateResult<Vec<String>> {
        self.faults.run(self.inner.lapsed(from_ms, to_ms)).await
    }
}

#[async_trait]
impl SubscriptionStore for Faulty<dyn SubscriptionStore> {
    async fn subscribe(&self, topic: &str, subscriber: &Subscriber) -> StateResult<()> {
        self.faults.run(self.inner.subscribe(topic, subscriber)).await
    }
    async fn unsubscribe(&self, topic: &str, subscriber_id: &str) -> StateResult<bool> {
        self.faults.run(self.inner.unsubscribe(topic, subscriber_id)).await
    }
    async fn remove_subscriber(&self, subscriber_id: &str) -> StateResult<usize> {
        self.faults.run(self.inner.remove_subscriber(subscriber_id)).await
    }
    async fn subscribers(&self, topic: &str) -> StateResult<Vec<Subscriber>> {
        self.faults.run(self.inner.subscribers(topic)).await
    }
    async fn count_for(&self, subscriber_id: &str) -> StateResult<usize> {
        self.faults.run(self.inner.count_for(subscriber_id)).await
    }
}

#[async_trait]
impl NonceStore for Faulty<dyn NonceStore> {
    async fn consume(&self, nonce: &str, expires_at_ms: u64) -> StateResult<bool> {
        self.faults.run(self.inner.consume(nonce, expires_at_ms)).await
    }
}

#[async_trait]
impl MessageBus for Faulty<dyn MessageBus> {
    async fn publish(&self, channel: &str, message: Vec<u8>) -> StateResult<usize> {
        self.faults.run(self.inner.publish(channel, message)).await
    }
    async fn subscribe(&self, channel: &str) -> StateResult<BoxStream<'static, Vec<u8>>> {
        self.faults.run(self.inner.subscribe(channel)).await
    }
}

#[async_trait]
impl EventLog for Faulty<dyn EventLog> {
    async fn append(&self, stream: &str, message: &[u8]) -> StateResult<String> {
        self.faults.run(self.inner.append(stream, message)).await
    }
    async fn after(&self, event_id: &str) -> StateResult<Option<(String, Vec<(String, Vec<u8>)>)>> {
        self.faults.run(self.inner.after(event_id)).await
    }
}

#[async_trait]
impl KvStore for Faulty<dyn KvStore> {
    async fn get(&self, scope: &str, key: &str) -> StateResult<Option<Vec<u8>>> {
        self.faults.run(self.inner.get(scope, key)).await
    }
    async fn put(&self, scope: &str, key: &str, value: &[u8], expires_at_ms: Option<u64>) -> StateResult<()> {
        self.faults.run(self.inner.put(scope, key, value, expires_at_ms)).await
    }
    async fn delete(&self, scope: &str, key: &str) -> StateResult<bool> {
        self.faults.run(self.inner.delete(scope, key)).await
    }
    async fn keys(&self, scope: &str, prefix: &str, limit: usize) -> StateResult<Vec<String>> {
        self.faults.run(self.inner.keys(scope, prefix, limit)).await
    }
}

#[async_trait]
impl Versions for Faulty<dyn Versions> {
    async fn current(&self, key: &str) -> StateResult<u64> {
        self.faults.run(self.inner.current(key)).await
    }
    async fn bump(&self, key: &str) -> StateResult<u64> {
        self.faults.run(self.inner.bump(key)).await
    }
    async fn copy(&self, key: &str) -> StateResult<Option<(u64, Vec<u8>)>> {
        self.faults.run(self.inner.copy(key)).await
    }
    async fn keep_copy(&self, key: &str, version: u64, record: &[u8], ttl_ms: u64) -> StateResult<()> {
        self.faults.run(self.inner.keep_copy(key, version, record, ttl_ms)).await
    }
}

#[async_trait]
impl TaskStore for Faulty<dyn TaskStore> {
    async fn create(&self, task: &TaskRecord) -> StateResult<()> {
        self.faults.run(self.inner.create(task)).await
    }
    async fn get(&self, id: &str) -> StateResult<Option<TaskRecord>> {
        self.faults.run(self.inner.get(id)).await
    }
    async fn replace(&self, task: &TaskRecord) -> StateResult<bool> {
        self.faults.run(self.inner.replace(task)).await
    }
    async fn stalled(&self, from_ms: u64, to_ms: u64) -> StateResult<Vec<String>> {
        self.faults.run(self.inner.stalled(from_ms, to_ms)).await
    }
}

#[async_trait]
impl RateCounter for Faulty<dyn RateCounter> {
    async fn hit(&self, key: &str, window_ms: u64) -> StateResult<(u64, u64)> {
        self.faults.run(self.inner.hit(key, window_ms)).await
    }
    async fn acquire(&self, key: &str, slot: &str, limit: u64, ttl_ms: u64) -> StateResult<bool> {
        self.faults.run(self.inner.acquire(key, slot, limit, ttl_ms)).await
    }
    async fn release(&self, key: &str, slot: &str) -> StateResult<()> {
        self.faults.run(self.inner.release(key, slot)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_parse_and_bad_ones_are_named() {
        let plan: FaultPlan = "error_rate=0.25,kinds=throttled+timeout,latency_ms=3,timeout_ms=40".parse().unwrap();
        assert_eq!(plan.error_rate, 0.25);
        assert_eq!(plan.kinds, [FaultKind::Throttled, FaultKind::Timeout]);
        assert_eq!((plan.latency, plan.timeout), (Duration::from_millis(3), Duration::from_millis(40)));
        for bad in ["error_rate=2", "kinds=flood", "latency=3", "error_rate"] {
            let e = bad.parse::<FaultPlan>().unwrap_err().to_string();
            assert!(e.starts_with("fault plan:"), "{bad}: {e}");
        }
    }

    #[tokio::test]
    async fn the_share_of_faults_follows_the_plan_and_a_reset_may_strike_after_the_write() {
        let faults = Faults::new(FaultPlan { error_rate: 0.3, kinds: vec![FaultKind::Reset], ..FaultPlan::default() });
        let state = faults.wrap(StateHandles::in_memory());
        let (mut failed, mut written_anyway) = (0, 0);
        for i in 0..2000 {
            let key = format!("k{i}");
            if state.kv.put("test", &key, b"v", None).await.is_err() {
                failed += 1;
                faults.set(FaultPlan::default());
                written_anyway += usize::from(state.kv.get("test", &key).await.unwrap().is_some());
                faults.set(FaultPlan { error_rate: 0.3, kinds: vec![FaultKind::Reset], ..FaultPlan::default() });
            }
        }
        assert!((450..750).contains(&failed), "about 30% of 2000 calls fail: {failed}");
        assert!(written_anyway > 0 && written_anyway < failed, "some resets strike after the write: {written_anyway}");
        assert_eq!(faults.injected(), failed as u64);
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_fails_after_the_plan_s_wait() {
        let faults = Faults::new(FaultPlan {
            error_rate: 1.0,
            kinds: vec![FaultKind::Timeout],
            timeout: Duration::from_secs(5),
            ..FaultPlan::default()
        });
        let state = faults.wrap(StateHandles::in_memory());
        let started = tokio::time::Instant::now();
        let e = state.sessions.get("s").await.unwrap_err();
        assert_eq!(e, StateError::Unavailable("injected fault: timed out".into()));
        assert_eq!(started.elapsed(), Duration::from_secs(5));
        faults.set(FaultPlan { error_rate: 1.0, kinds: vec![FaultKind::Throttled], ..FaultPlan::default() });
        assert_eq!(state.rates.hit("r", 1000).await.unwrap_err(), StateError::Throttled);
    }
}
