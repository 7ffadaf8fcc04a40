//! One execution environment: a process of the function's binary with a Runtime API of its
//! own on a loopback port, the event it is handling, and the switches Lambda has on it
//! (freeze, thaw, kill).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::records::Record;
use crate::{FunctionConfig, InvokeError, Response, ServiceConfig};
use bytes::Bytes;
use rustix::process::{Pid, Signal, kill_process};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::sync::{Notify, mpsc, oneshot};

/// An event handed to the environment, and where its outcome goes.
pub(crate) struct Job {
    pub request_id: String,
    pub event: Bytes,
    /// The function's timeout, counted from when the runtime takes the event (after init,
    /// for a cold start, as Lambda counts it).
    pub timeout: Duration,
    /// Told when the runtime takes the event: the invoke phase starts.
    pub taken: oneshot::Sender<()>,
    /// The response once it starts (or why there is none).
    pub started: oneshot::Sender<Result<Response, InvokeError>>,
    /// Run when the response is complete (or the function reported an error, given), the
    /// environment frozen, before anyone learns of the outcome: it takes the environment back
    /// among the frozen ones, so the next event finds it.
    pub release: Release,
}

pub(crate) type Release = Box<dyn FnOnce(Option<String>) + Send>;

/// The job being handled, between `/next` and its response.
pub(crate) struct InFlight {
    pub request_id: String,
    pub started: Option<oneshot::Sender<Result<Response, InvokeError>>>,
    pub release: Option<Release>,
    /// The stream being forwarded, to end it with the reason the environment died.
    pub stream: Option<mpsc::Sender<Result<Bytes, InvokeError>>>,
}

/// What the environment holds: nothing, an event handed to it that its runtime has not
/// taken yet, or the event it is handling.
pub(crate) enum Slot {
    Empty,
    Pending(Job),
    InFlight(InFlight),
}

pub(crate) struct Environment {
    pub id: u64,
    pub function: Arc<FunctionConfig>,
    pub config: Arc<ServiceConfig>,
    pid: Pid,
    pub slot: Mutex<Slot>,
    /// Wakes the runtime's pending `/next` when a job is handed out.
    handed: Notify,
    alive: AtomicBool,
    exited: Notify,
    /// Set before a kill at the timeout, so that what the kill breaks reports a timeout.
    pub timed_out: AtomicBool,
    /// Set once it must take no further event (killed, timed out, died, shut down).
    pub retired: AtomicBool,
    /// Set once the pool has stopped counting it.
    pub forgotten: AtomicBool,
    /// When init ended (the first poll for an event).
    pub first_poll: Mutex<Option<Instant>>,
    /// What the runtime reported at `/init/error`, if it did.
    pub init_error: Mutex<Option<String>>,
    pub started_at: Instant,
    /// The record of the invocation this environment handled last.
    pub record: Mutex<Option<Record>>,
}

impl Environment {
    /// Starts a process of the function's binary whose Runtime API (and AWS endpoint) is
    /// `address`, where the caller serves it.
    pub fn start(
        id: u64,
        function: Arc<FunctionConfig>,
        config: Arc<ServiceConfig>,
        address: &str,
    ) -> Result<Arc<Environment>, InvokeError> {
        let mut command = Command::new(&function.executable);
        command
            .env_clear()
            .envs(lambda_variables(&function, &config, address, id))
            .envs(
                function
                    .environment
                    .iter()
                    .map(|(k, v)| (k, v.replace(crate::AWS_ENDPOINT, &format!("http://{address}")))),
            )
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            // A group of its own: should this service die without killing it, the group is
            // orphaned and the kernel wakes a frozen process (SIGCONT) with a SIGHUP that ends
            // it, instead of leaving it stopped forever.
            .process_group(0)
            .kill_on_drop(true);
        let mut child =
            command.spawn().map_err(|e| InvokeError::Crashed(format!("{}: {e}", function.executable.display())))?;
        let raw = child.id().ok_or_else(|| InvokeError::Crashed("no process id".into()))?;
        let pid = Pid::from_raw(raw as i32).ok_or_else(|| InvokeError::Crashed("no process id".into()))?;
        let environment = Arc::new(Environment {
            id,
            function: function.clone(),
            config,
            pid,
            slot: Mutex::new(Slot::Empty),
            handed: Notify::new(),
            alive: AtomicBool::new(true),
            exited: Notify::new(),
            timed_out: AtomicBool::new(false),
            retired: AtomicBool::new(false),
            forgotten: AtomicBool::new(false),
            first_poll: Mutex::new(None),
            init_error: Mutex::new(None),
            started_at: Instant::now(),
            record: Mutex::new(None),
        });
        if let (Some(stdout), Some(stderr)) = (child.stdout.take(), child.stderr.take()) {
            tokio::spawn(forward_output(environment.clone(), BufReader::new(stdout)));
            tokio::spawn(forward_output(environment.clone(), BufReader::new(stderr)));
        }
        let watched = environment.clone();
        tokio::spawn(async move {
            let status = child.wait().await;
            watched.alive.store(false, Ordering::SeqCst);
            watched.exited.notify_waiters();
            // A `/next` still waiting learns there will be no event.
            watched.handed.notify_waiters();
            tracing::debug!(function = %watched.function.name, environment = watched.id, ?status, "environment ended");
        });
        Ok(environment)
    }

    pub fn is_alive(&self) -> bool {
        self.alive.load(Ordering::SeqCst)
    }

    /// Resolves once the process has exited.
    pub async fn exited(&self) {
        let notified = self.exited.notified();
        if !self.is_alive() {
            return;
        }
        notified.await;
    }

    /// Hands the environment its next event (its runtime takes it at its next `/next`).
    pub fn hand(&self, job: Job) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Slot::Pending(job);
        }
        self.handed.notify_one();
    }

    /// Waits until an event is handed out (`None`: the environment is gone), and makes it
    /// the one in flight.
    pub async fn take(&self) -> Option<Job> {
        loop {
            let handed = self.handed.notified();
            if !self.is_alive() || self.retired.load(Ordering::SeqCst) {
                return None;
            }
            if let Ok(mut slot) = self.slot.lock()
                && matches!(*slot, Slot::Pending(_))
                && let Slot::Pending(job) = std::mem::replace(&mut *slot, Slot::Empty)
            {
                return Some(job);
            }
            handed.await;
        }
    }

    /// Puts the job now being handled in the slot.
    pub fn hold(&self, flight: InFlight) {
        if let Ok(mut slot) = self.slot.lock() {
            *slot = Slot::InFlight(flight);
        }
    }

    /// Takes the job in flight, if `id` (when given) is its request id.
    pub fn in_flight(&self, id: Option<&str>) -> Option<InFlight> {
        let mut slot = self.slot.lock().ok()?;
        match &*slot {
            Slot::InFlight(f) if id.is_none_or(|id| f.request_id == id) => {}
            _ => return None,
        }
        match std::mem::replace(&mut *slot, Slot::Empty) {
            Slot::InFlight(f) => Some(f),
            _ => None,
        }
    }

    /// `SIGSTOP`: nothing in the process runs until [`thaw`](Self::thaw).
    pub fn freeze(&self) {
        let _ = kill_process(self.pid, Signal::STOP);
    }

    pub fn thaw(&self) {
        let _ = kill_process(self.pid, Signal::CONT);
    }

    /// `SIGKILL` (works on a frozen process too).
    pub fn kill(&self) {
        let _ = kill_process(self.pid, Signal::KILL);
    }

    /// Ends the job in hand with `error`, whether its runtime took it or not: its response,
    /// if not started, or its stream (whose reader then knows it was cut off).
    pub fn fail(&self, error: InvokeError) {
        let taken = self.slot.lock().ok().map(|mut s| std::mem::replace(&mut *s, Slot::Empty));
        match taken {
            Some(Slot::Pending(job)) => {
                let _ = job.started.send(Err(error));
            }
            Some(Slot::InFlight(mut flight)) => {
                if let Some(started) = flight.started.take() {
                    let _ = started.send(Err(error.clone()));
                }
                if let Some(stream) = flight.stream.take() {
                    // The reader may be behind: give it a moment to take the error.
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(Duration::from_secs(5), stream.send(Err(error))).await;
                    });
                }
            }
            _ => {}
        }
    }

    /// Whether the process is stopped (`T` in `/proc/PID/stat`): for tests.
    pub fn is_frozen(&self) -> bool {
        std::fs::read_to_string(format!("/proc/{}/stat", self.pid.as_raw_nonzero()))
            .ok()
            .and_then(|stat| stat.rsplit(')').next().map(|rest| rest.trim_start().starts_with('T')))
            .unwrap_or(false)
    }

    /// The init duration, once the process has polled for its first event.
    pub fn init_duration(&self) -> Option<Duration> {
        self.first_poll.lock().ok().and_then(|p| p.map(|at| at.duration_since(self.started_at)))
    }
}

/// What Lambda sets in every environment, with this one's Runtime API and AWS endpoint.
fn lambda_variables(
    function: &FunctionConfig,
    config: &ServiceConfig,
    address: &str,
    id: u64,
) -> Vec<(String, String)> {
    let region = if config.region.is_empty() { "us-east-1" } else { &config.region };
    let mut vars = vec![
        ("AWS_LAMBDA_RUNTIME_API", address.to_owned()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.name.clone()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", function.memory_mb.to_string()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand".to_owned()),
        ("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{}", function.name)),
        ("AWS_LAMBDA_LOG_STREAM_NAME", format!("local/[$LATEST]{id:032x}")),
        ("AWS_EXECUTION_ENV", "AWS_Lambda_provided.al2023".to_owned()),
        ("AWS_REGION", region.to_owned()),
        ("AWS_DEFAULT_REGION", region.to_owned()),
        // The role's credentials: placeholders (the local endpoint checks permissions itself).
        ("AWS_ACCESS_KEY_ID", "ASIALOCALLAMBDAROLE0".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "local-lambda-execution-role-secret-key".to_owned()),
        ("AWS_SESSION_TOKEN", format!("local-session-{}", function.name)),
        ("_HANDLER", "bootstrap".to_owned()),
        ("LAMBDA_TASK_ROOT", "/var/task".to_owned()),
        ("LAMBDA_RUNTIME_DIR", "/var/runtime".to_owned()),
        ("TZ", ":UTC".to_owned()),
        ("PATH", "/usr/local/bin:/usr/bin/:/bin:/opt/bin".to_owned()),
        ("LANG", "en_US.UTF-8".to_owned()),
    ];
    // Every AWS call goes to this environment's own port: checked, recorded, forwarded.
    let endpoint = match config.aws {
        Some(_) => format!("http://{address}"),
        None => format!("http://{address}/no-aws-endpoint-configured"),
    };
    vars.push(("AWS_ENDPOINT_URL", endpoint));
    vars.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}

/// Copies the process's output to the function's log file, and keeps its metrics lines
/// (CloudWatch Embedded Metric Format) in the record of the invocation being handled.
async fn forward_output<R: tokio::io::AsyncRead + Unpin>(environment: Arc<Environment>, reader: BufReader<R>) {
    let mut file = match &environment.config.log_dir {
        Some(dir) => tokio::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(format!("{}.log", environment.function.name)))
            .await
            .ok(),
        None => None,
    };
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.starts_with("{\"_aws\"") {
            let kept = environment.record.lock().ok().and_then(|mut r| r.as_mut().and_then(|r| r.metrics_line(&line)));
            if let (Some(kept), Some(hook)) = (kept, &environment.config.on_metrics) {
                hook(&serde_json::json!({
                    "function": environment.function.name, "environment": environment.id, "metrics": [kept],
                }));
            }
        }
        if let Some(f) = &mut file {
            let _ = f.write_all(format!("[{}] {line}\n", environment.id).as_bytes()).await;
        }
    }
}
