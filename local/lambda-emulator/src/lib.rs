//! The Lambda service on one machine, for running function binaries as Lambda runs them:
//!
//! - each function has execution environments: processes of its binary, started on demand
//!   (a cold start) and reused, up to a maximum (beyond it an invocation is throttled);
//! - each environment has its own Runtime API (`AWS_LAMBDA_RUNTIME_API`, a loopback port)
//!   and is handed one event at a time;
//! - an environment is frozen (`SIGSTOP`) as soon as its response is complete, buffered or
//!   streamed, and thawed (`SIGCONT`) when its next event is handed out, so work left
//!   running after a response stalls here as it does on AWS;
//! - an invocation that outlives the function's timeout kills its environment (`SIGKILL`);
//! - every AWS call an environment makes goes to its own port too (`AWS_ENDPOINT_URL`), where
//!   an [`AwsEndpoint`] checks it against the function's permissions, records it and forwards
//!   it to an emulator.
//!
//! Each invocation can be written as a JSON line (function, environment, cold or warm,
//! duration, the AWS calls it made, the metrics lines it printed): see [`records`].

pub mod aws;
mod environment;
pub mod invoke_api;
mod pool;
pub mod records;
mod runtime_api;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::mpsc;

pub use aws::{AwsCall, AwsEndpoint, AwsProxy, Caller, ProxyConfig};
pub use invoke_api::InvokeApi;
use pool::Pool;
use records::Recorder;

/// One function, as the service runs it.
#[derive(Clone, Debug)]
pub struct FunctionConfig {
    pub name: String,
    pub arn: String,
    pub executable: PathBuf,
    /// The function's configured environment (the template's), without Lambda's own
    /// variables, which the service adds. [`AWS_ENDPOINT`] in a value becomes the
    /// environment's own AWS endpoint (for an endpoint the code sets itself, such as an API's
    /// `@connections` URL).
    pub environment: BTreeMap<String, String>,
    pub timeout: Duration,
    pub memory_mb: u32,
    /// Environments at most (the function's concurrency); more invocations at once are
    /// throttled.
    pub max_environments: usize,
    /// Retries of an asynchronous (`Event`) invocation whose run failed.
    pub async_retries: u32,
    /// How long an asynchronous invocation may wait for an environment (throttled) before
    /// it is dropped.
    pub max_event_age: Duration,
}

/// Stands for an environment's own AWS endpoint (`http://127.0.0.1:PORT`) in a variable.
pub const AWS_ENDPOINT: &str = "{{aws-endpoint}}";

/// What every function's environments share.
#[derive(Clone, Default)]
pub struct ServiceConfig {
    pub region: String,
    /// Where the environments' AWS calls go (their `AWS_ENDPOINT_URL`); without it they go
    /// to AWS, which a loopback service should never let happen, so it is refused.
    pub aws: Option<Arc<dyn AwsEndpoint>>,
    /// Each function's output (its logs and metrics lines), as `DIR/<function>.log`.
    pub log_dir: Option<PathBuf>,
    /// One JSON line per invocation.
    pub records: Option<PathBuf>,
    /// Also given each metrics line a function prints, as it prints it (the local gateway's
    /// console): `{"function", "environment", "metrics": [the line's kept fields]}`.
    pub on_metrics: Option<MetricsHook>,
}

/// What [`ServiceConfig::on_metrics`] calls.
pub type MetricsHook = Arc<dyn Fn(&serde_json::Value) + Send + Sync>;

/// What an invocation answered.
pub enum Response {
    /// A buffered response, whole.
    Complete(Bytes),
    /// A streamed response (`Lambda-Runtime-Function-Response-Mode: streaming`), as the
    /// function writes it; an error item ends it early (timeout, crash).
    Streaming(mpsc::Receiver<Result<Bytes, InvokeError>>),
}

impl std::fmt::Debug for Response {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Response::Complete(b) => write!(f, "Complete({} bytes)", b.len()),
            Response::Streaming(_) => write!(f, "Streaming"),
        }
    }
}

#[derive(Clone, Debug, thiserror::Error, PartialEq)]
pub enum InvokeError {
    #[error("no function {0}")]
    UnknownFunction(String),
    /// Every environment allowed is busy (Lambda's `TooManyRequestsException`).
    #[error("rate exceeded: all {0} environments of the function are busy")]
    Throttled(usize),
    #[error("task timed out after {0:.2} seconds")]
    Timeout(f64),
    /// The function reported an error (`/invocation/{id}/error`).
    #[error("{error_type}: {message}")]
    Function { error_type: String, message: String },
    /// Init failed, or never finished.
    #[error("init failed: {0}")]
    Init(String),
    /// The process exited or could not be run.
    #[error("runtime exited: {0}")]
    Crashed(String),
}

pub struct LambdaService {
    pools: BTreeMap<String, Arc<Pool>>,
    recorder: Arc<Recorder>,
}

impl LambdaService {
    pub fn new(config: ServiceConfig, functions: Vec<FunctionConfig>) -> std::io::Result<LambdaService> {
        let recorder = Arc::new(Recorder::new(config.records.as_deref())?);
        if let Some(dir) = &config.log_dir {
            std::fs::create_dir_all(dir)?;
        }
        let config = Arc::new(config);
        let pools = functions
            .into_iter()
            .map(|f| (f.name.clone(), Arc::new(Pool::new(Arc::new(f), config.clone(), recorder.clone()))))
            .collect();
        Ok(LambdaService { pools, recorder })
    }

    pub fn has(&self, function: &str) -> bool {
        self.pools.contains_key(function)
    }

    /// The function a name or ARN (unqualified, or `:$LATEST`) designates, with its
    /// configuration.
    pub fn resolve(&self, name_or_arn: &str) -> Option<Arc<FunctionConfig>> {
        let unqualified = name_or_arn.strip_suffix(":$LATEST").unwrap_or(name_or_arn);
        self.pools.values().map(|p| p.config()).find(|f| f.name == unqualified || f.arn == unqualified)
    }

    /// Invokes `function` with `event` (synchronously, as API Gateway and Function URLs do):
    /// the response once it starts, or why there is none.
    pub async fn invoke(&self, function: &str, event: Bytes) -> Result<Response, InvokeError> {
        let pool = self.pools.get(function).ok_or_else(|| InvokeError::UnknownFunction(function.to_owned()))?;
        pool.invoke(event).await
    }

    /// [`invoke`](Self::invoke), with a streamed response read to its end.
    pub async fn invoke_buffered(&self, function: &str, event: Bytes) -> Result<Bytes, InvokeError> {
        match self.invoke(function, event).await? {
            Response::Complete(b) => Ok(b),
            Response::Streaming(mut rx) => {
                let mut all = Vec::new();
                while let Some(chunk) = rx.recv().await {
                    all.extend_from_slice(&chunk?);
                }
                Ok(Bytes::from(all))
            }
        }
    }

    /// Environments of `function` alive now, and how many of them are frozen.
    pub fn environments(&self, function: &str) -> (usize, usize) {
        self.pools.get(function).map_or((0, 0), |p| p.counts())
    }

    /// Kills every environment and writes the last records.
    pub async fn shutdown(&self) {
        for pool in self.pools.values() {
            pool.shutdown().await;
        }
        self.recorder.flush();
    }
}
