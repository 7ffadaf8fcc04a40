//! A function's environments: frozen ones waiting for an event, busy ones, and the rule for
//! a new invocation (thaw a frozen one, else start one, else throttle). Each invocation is
//! watched until its response is complete, the function's timeout passes (its environment is
//! killed), or its process dies.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::environment::{Environment, Job};
use crate::records::{Record, Recorder};
use crate::runtime_api;
use crate::{FunctionConfig, InvokeError, Response, ServiceConfig};

/// Lambda's limit on init when it is not retried within the invocation.
const INIT_TIMEOUT: Duration = Duration::from_secs(10);

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

    pub fn counts(&self) -> (usize, usize) {
        let all =
            self.all.lock().map(|a| a.iter().filter(|e| e.is_alive()).cloned().collect::<Vec<_>>()).unwrap_or_default();
        (all.len(), all.iter().filter(|e| e.is_frozen()).count())
    }

    pub async fn invoke(self: &Arc<Self>, event: Bytes) -> Result<Response, InvokeError> {
        let (environment, cold) = self.acquire().await?;
        let request_id =
            format!("{:08x}-0000-4000-8000-{:012x}", self.requests.fetch_add(1, Ordering::Relaxed), environment.id);
        let deadline = SystemTime::now() + self.function.timeout;
        let (started_tx, started_rx) = oneshot::channel();
        let (done_tx, done_rx) = oneshot::channel();
        let record = Record::new(&self.function.name, environment.id, cold, &request_id);
        let previous = environment.record.lock().ok().and_then(|mut r| r.replace(record));
        if let Some(previous) = previous {
            self.recorder.write(previous);
        }
        environment.timed_out.store(false, Ordering::SeqCst);
        let release = {
            let (pool, environment) = (self.clone(), environment.clone());
            Box::new(move || {
                if let Ok(mut record) = environment.record.lock()
                    && let Some(record) = record.as_mut()
                {
                    record.complete(environment.init_duration().filter(|_| cold));
                }
                let _ = done_tx.send(());
                if let Ok(mut idle) = pool.idle.lock() {
                    idle.push(environment);
                }
            })
        };
        let job = Job { request_id, event, deadline, started: started_tx, release };
        if let Err(e) = environment.hand(job).await {
            self.discard(&environment);
            return Err(e);
        }
        if !cold {
            environment.thaw();
        }
        tokio::spawn(self.clone().watch(environment, cold, done_rx));
        started_rx.await.unwrap_or_else(|_| Err(InvokeError::Crashed("the environment ended the invocation".into())))
    }

    /// A frozen environment, or a new one (cold), or a throttle.
    async fn acquire(&self) -> Result<(Arc<Environment>, bool), InvokeError> {
        loop {
            let next = self.idle.lock().ok().and_then(|mut idle| idle.pop());
            match next {
                Some(e) if e.is_alive() => return Ok((e, false)),
                // Died while frozen (killed from outside): forget it.
                Some(e) => self.discard(&e),
                None => break,
            }
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

    /// Follows an invocation to its end: the environment goes back to the frozen ones, or is
    /// killed at the timeout, or is gone.
    async fn watch(self: Arc<Self>, environment: Arc<Environment>, cold: bool, done: oneshot::Receiver<()>) {
        let timeout = self.function.timeout;
        let init = async {
            if !cold {
                return std::future::pending::<()>().await;
            }
            // A cold environment must ask for its event within Lambda's init limit.
            let until = tokio::time::Instant::now() + INIT_TIMEOUT;
            while tokio::time::Instant::now() < until {
                if environment.init_duration().is_some() {
                    return std::future::pending::<()>().await;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
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
            () = init => {
                self.end(&environment, InvokeError::Init(format!("no poll for an event within {INIT_TIMEOUT:?}")));
            }
            () = environment.exited() => {
                self.end(&environment, InvokeError::Crashed("the process exited".into()));
            }
        }
    }

    /// Kills an environment, ends its invocation with `error`, and forgets it.
    fn end(&self, environment: &Arc<Environment>, error: InvokeError) {
        environment.kill();
        if let Ok(mut record) = environment.record.lock()
            && let Some(record) = record.as_mut()
        {
            record.fail(&error.to_string());
        }
        environment.fail_in_flight(error);
        self.discard(environment);
    }

    fn discard(&self, environment: &Arc<Environment>) {
        environment.kill();
        if environment.retired.swap(true, Ordering::SeqCst) {
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
            environment.kill();
            let last = environment.record.lock().ok().and_then(|mut r| r.take());
            if let Some(record) = last {
                self.recorder.write(record);
            }
        }
    }
}
