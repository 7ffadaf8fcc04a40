//! A function's environments: frozen ones waiting for an event, busy ones, and the rule for
//! a new invocation (thaw a frozen one, else start one, else throttle). Each invocation is
//! watched until its response is complete, its function's timeout passes (counted from when
//! its runtime takes the event: after init, for a cold start) and its environment is killed,
//! or its process dies.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::environment::{Environment, Job, Release};
use crate::records::{Record, Recorder};
use crate::runtime_api;
use crate::{FunctionConfig, InvokeError, Response, ServiceConfig};

/// Lambda's limit on init (an environment must ask for its event within it).
const INIT_TIMEOUT: Duration = Duration::from_secs(10);
/// Beyond init and the function's timeout, how long a caller waits for the outcome before it
/// is told the environment failed: a bound on the service's own mistakes.
const MARGIN: Duration = Duration::from_secs(5);

pub(crate) struct Pool {
    function: Arc<FunctionConfig>,
    config: Arc<ServiceConfig>,
    recorder: Arc<Recorder>,
    /// Frozen environments, the most recently used last (reused first, as Lambda tends to).
    idle: Mutex<Vec<Arc<Environment>>>,
    /// Environments alive, busy or frozen.
    live: AtomicUsize,
    started: AtomicU64,
    requests: AtomicU64,
    all: Mutex<Vec<Arc<Environment>>>,
}

impl Pool {
    pub fn new(function: Arc<FunctionConfig>, config: Arc<ServiceConfig>, recorder: Arc<Recorder>) -> Pool {
        Pool {
            function,
            config,
            recorder,
            idle: Mutex::new(Vec::new()),
            live: AtomicUsize::new(0),
            started: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            all: Mutex::new(Vec::new()),
        }
    }

    pub fn config(&self) -> Arc<FunctionConfig> {
        self.function.clone()
    }

    pub fn counts(&self) -> (usize, usize) {
        let all =
            self.all.lock().map(|a| a.iter().filter(|e| e.is_alive()).cloned().collect::<Vec<_>>()).unwrap_or_default();
        (all.len(), all.iter().filter(|e| e.is_frozen()).count())
    }

    pub async fn invoke(self: &Arc<Self>, event: Bytes) -> Result<Response, InvokeError> {
        let n = self.requests.fetch_add(1, Ordering::Relaxed);
        let (environment, cold) = match self.acquire().await {
            Ok(acquired) => acquired,
            Err(e) => {
                let mut record = Record::new(&self.function.name, 0, false, &format!("throttled-{n}"));
                record.fail(&e.to_string());
                self.recorder.write(record);
                return Err(e);
            }
        };
        let request_id = format!("{n:08x}-0000-4000-8000-{:012x}", environment.id);
        let (started_tx, started_rx) = oneshot::channel();
        let (taken_tx, taken_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let record = Record::new(&self.function.name, environment.id, cold, &request_id);
        let previous = environment.record.lock().ok().and_then(|mut r| r.replace(record));
        if let Some(previous) = previous {
            self.recorder.write(previous);
        }
        environment.timed_out.store(false, Ordering::SeqCst);
        let release = self.release(&environment, cold, done_tx);
        let timeout = self.function.timeout;
        environment.hand(Job { request_id, event, timeout, taken: taken_tx, started: started_tx, release });
        if !cold {
            environment.thaw();
        }
        tokio::spawn(self.clone().watch(environment, taken_rx, done_rx));
        match tokio::time::timeout(INIT_TIMEOUT + timeout + MARGIN, started_rx).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(InvokeError::Crashed("the environment ended the invocation".into())),
            Err(_) => Err(InvokeError::Crashed("no outcome within init, the timeout and a margin".into())),
        }
    }

    /// What the Runtime API runs once the response is complete and the environment frozen:
    /// the record completed, the environment back among the frozen ones (unless it was
    /// retired meanwhile), the watch told.
    fn release(self: &Arc<Self>, environment: &Arc<Environment>, cold: bool, done: oneshot::Sender<()>) -> Release {
        let (pool, environment): (Weak<Pool>, Weak<Environment>) = (Arc::downgrade(self), Arc::downgrade(environment));
        Box::new(move |error: Option<String>| {
            let (Some(pool), Some(environment)) = (pool.upgrade(), environment.upgrade()) else { return };
            if let Ok(mut record) = environment.record.lock()
                && let Some(record) = record.as_mut()
            {
                record.complete(environment.init_duration().filter(|_| cold));
                if let Some(error) = &error {
                    record.fail(error);
                }
            }
            let _ = done.send(());
            if !environment.retired.load(Ordering::SeqCst)
                && let Ok(mut idle) = pool.idle.lock()
            {
                idle.push(environment);
            }
        })
    }

    /// A frozen environment, or a new one (cold), or a throttle.
    async fn acquire(&self) -> Result<(Arc<Environment>, bool), InvokeError> {
        // Environments that died while frozen (killed from outside) are forgotten first, so
        // that they count against no limit.
        let dead: Vec<Arc<Environment>> = match self.idle.lock() {
            Ok(mut idle) => {
                let (alive, dead): (Vec<_>, Vec<_>) = idle.drain(..).partition(|e| e.is_alive());
                *idle = alive;
                dead
            }
            Err(_) => Vec::new(),
        };
        for e in &dead {
            self.discard(e);
        }
        if let Some(e) = self.idle.lock().ok().and_then(|mut idle| idle.pop()) {
            return Ok((e, false));
        }
        let max = self.function.max_environments.max(1);
        if self.live.fetch_add(1, Ordering::SeqCst) >= max {
            self.live.fetch_sub(1, Ordering::SeqCst);
            return Err(InvokeError::Throttled(max));
        }
        let id = self.started.fetch_add(1, Ordering::Relaxed) + 1;
        match self.start(id).await {
            Ok(e) => {
                if let Ok(mut all) = self.all.lock() {
                    all.retain(|e| e.is_alive());
                    all.push(e.clone());
                }
                Ok((e, true))
            }
            Err(e) => {
                self.live.fetch_sub(1, Ordering::SeqCst);
                Err(e)
            }
        }
    }

    /// A new environment: its Runtime API (and AWS endpoint) on a fresh loopback port, then
    /// its process.
    async fn start(&self, id: u64) -> Result<Arc<Environment>, InvokeError> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| InvokeError::Crashed(e.to_string()))?;
        let address = listener.local_addr().map_err(|e| InvokeError::Crashed(e.to_string()))?.to_string();
        let environment = Environment::start(id, self.function.clone(), self.config.clone(), &address)?;
        tokio::spawn(runtime_api::serve(listener, Arc::downgrade(&environment)));
        Ok(environment)
    }

    /// Follows an invocation to its end: until its runtime takes the event (init, for a cold
    /// start), then until its response is complete; the environment is killed when either
    /// takes too long, and forgotten when its process dies.
    async fn watch(
        self: Arc<Self>,
        environment: Arc<Environment>,
        taken: oneshot::Receiver<()>,
        done: oneshot::Receiver<()>,
    ) {
        tokio::select! {
            t = taken => if t.is_err() {
                return self.end(&environment, InvokeError::Crashed("the event was never taken".into()));
            },
            () = tokio::time::sleep(INIT_TIMEOUT) => {
                return self.end(&environment, InvokeError::Init(format!("no poll for an event within {INIT_TIMEOUT:?}")));
            }
            () = environment.exited() => {
                let reported = environment.init_error.lock().ok().and_then(|r| r.clone());
                let why = reported.unwrap_or_else(|| "the process exited before taking its event".into());
                return self.end(&environment, InvokeError::Init(why));
            }
        }
        let timeout = self.function.timeout;
        tokio::select! {
            // Released by the Runtime API (it is among the frozen ones already).
            finished = done => if finished.is_err() {
                self.end(&environment, InvokeError::Crashed("the invocation was dropped".into()));
            },
            () = tokio::time::sleep(timeout) => {
                environment.timed_out.store(true, Ordering::SeqCst);
                tracing::warn!(function = %self.function.name, environment = environment.id, "timed out after {:?}: killed", timeout);
                self.end(&environment, InvokeError::Timeout(timeout.as_secs_f64()));
            }
            () = environment.exited() => {
                self.end(&environment, InvokeError::Crashed("the process exited".into()));
            }
        }
    }

    /// Kills an environment, forgets it, and then ends its invocation with `error` (in that
    /// order: a caller told of the failure may invoke again at once, and must find the dead
    /// environment's place free).
    fn end(&self, environment: &Arc<Environment>, error: InvokeError) {
        environment.retired.store(true, Ordering::SeqCst);
        environment.kill();
        if let Ok(mut record) = environment.record.lock()
            && let Some(record) = record.as_mut()
        {
            record.fail(&error.to_string());
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.retain(|e| !Arc::ptr_eq(e, environment));
        }
        self.discard(environment);
        environment.fail(error);
    }

    /// Forgets an environment (once): it no longer counts against the concurrency, and its
    /// last record is written.
    fn discard(&self, environment: &Arc<Environment>) {
        environment.retired.store(true, Ordering::SeqCst);
        environment.kill();
        if environment.forgotten.swap(true, Ordering::SeqCst) {
            return;
        }
        self.live.fetch_sub(1, Ordering::SeqCst);
        let last = environment.record.lock().ok().and_then(|mut r| r.take());
        if let Some(record) = last {
            self.recorder.write(record);
        }
    }

    pub async fn shutdown(&self) {
        let all = self.all.lock().map(|a| a.clone()).unwrap_or_default();
        for environment in all {
            environment.retired.store(true, Ordering::SeqCst);
            environment.kill();
            let last = environment.record.lock().ok().and_then(|mut r| r.take());
            if let Some(record) = last {
                self.recorder.write(record);
            }
        }
    }
}
