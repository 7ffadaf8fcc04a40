//! The tasks extension (`io.modelcontextprotocol/tasks`, 2026-07-28): a `tools/call` of a
//! tool with task support, from a client that declares the extension, becomes a task. The
//! router writes the task (readable by `tasks/get` on any instance before the handle is
//! returned), answers with its handle, and runs the tool's handler on without the request.
//! The handler's input requests become the task's `inputRequests`; `tasks/update` records
//! answers and, once none is missing, runs the handler again with all of them (as an MRTR
//! round would). `tasks/cancel` marks the task cancelled and signals the instance running it.
//!
//! Each run of the work holds a lease on the task: named when the run is started, claimed
//! once by its runner (this process, or a worker invocation on Lambda), renewed while the
//! work goes on. A task whose lease lapses (its runner was killed, timed out, or never
//! started) fails: at the next sweep, or at the next `tasks/get`, whichever comes first.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use serde_json::{Map, Value, json};
use tokio::sync::Notify;

use mcp_protocol::jsonrpc::{self, Request, RequestId};
use mcp_protocol::model::tasks::{TASKS_EXTENSION, TaskIdParams, UpdateTaskParams};
use mcp_protocol::model::{ClientCapabilities, ResultType, TaskStatus, WireResult};
use mcp_protocol::{ErrorCode, ErrorObject, methods};

use super::catalogue::{Invocation, caught};
use super::{Cx, Reply, ReplyStatus, Router};
use crate::context::{Inner, InputMode, MrtrRound, RequestContext};
use crate::error::HandlerError;
use crate::ids::random_id;
use crate::outbound::Discard;
use crate::state::{StateError, StateResult, TaskLease, TaskRecord, now_ms};
use crate::task_launch::TaskRun;
use crate::tool::TaskSupport;

/// How often clients are asked to poll `tasks/get`.
const POLL_INTERVAL_MS: u64 = 500;
/// The largest result a task keeps: its record, with the result inside, must fit in one
/// DynamoDB item (400 KB), beside the arguments and the answers.
pub const MAX_TASK_RESULT_BYTES: usize = 300 * 1024;
/// How often a task's progress may update its status message (each update is one write).
const PROGRESS_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// The largest task record: one DynamoDB item is at most 400 KB, attribute names included.
const MAX_TASK_RECORD_BYTES: usize = 380 * 1024;
/// How many times a task write that lost to a concurrent one is tried again.
const WRITE_ATTEMPTS: usize = 16;
/// What a worker keeps of its invocation's time to write the outcome, when the work has to
/// stop for the invocation's deadline.
const DEADLINE_MARGIN_MS: u64 = 10_000;
/// Stalled tasks one sweep looks at (the rest wait for the next run, a minute later)...
const SWEPT_PER_RUN: usize = 1000;
/// ...and at once.
const SWEEP_CONCURRENCY: usize = 16;
/// Why a task whose runner stopped renewing its lease failed.
const RUNNER_LOST: &str =
    "the task's worker stopped before its work finished (killed, crashed, timed out or never started)";

/// Stops the lease renewal of a run when the run ends, however it ends.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Whether a request's client declares the tasks extension.
pub(super) fn declares_tasks(capabilities: &ClientCapabilities) -> bool {
    capabilities.extensions.as_ref().is_some_and(|e| e.contains_key(TASKS_EXTENSION))
}

/// The slots of a principal's unfinished tasks.
fn tasks_key(principal: Option<&str>) -> String {
    match principal {
        Some(principal) => format!("tasks:principal:{principal}"),
        None => "tasks:anonymous".into(),
    }
}

/// The signal that stops a task's running work.
fn cancel_key(task_id: &str) -> String {
    format!("task-cancel:{task_id}")
}

/// `-32021`: the request needs the tasks extension, which its client did not declare.
fn missing_extension(id: &RequestId) -> Reply {
    let e = ErrorObject::new(
        ErrorCode::MISSING_CLIENT_CAPABILITY,
        format!("this request needs the tasks extension ({TASKS_EXTENSION}) in the client's capabilities"),
    )
    .with_data(json!({ "requiredCapabilities": { "extensions": { TASKS_EXTENSION: {} } } }));
    Reply::error(Some(id), &e, ReplyStatus::BadRequest)
}

/// `-32602`: no task with this id that the caller may see (another principal's task is
/// answered the same way: its existence is not revealed).
fn unknown_task(id: &RequestId, task_id: &str) -> Reply {
    let e = ErrorObject::invalid_params(format!("unknown task: {task_id}")).with_data(json!({ "taskId": task_id }));
    Reply::error(Some(id), &e, ReplyStatus::Ok)
}

/// Why a task was not created.
enum Refused {
    /// The principal holds this many unfinished tasks already.
    Limited(u64),
    /// The store did not write it.
    State(StateError),
}

/// How the outcome of one run of a task's work changes the task.
enum Outcome {
    /// The tool's result (a tool error is a result too).
    Completed(Value),
    /// Input the work needs before it can go on.
    InputRequired(BTreeMap<String, mcp_protocol::model::InputRequest>),
    /// A protocol error.
    Failed(ErrorObject),
}

/// Where a task's work sends what a request would stream: its progress becomes the task's
/// `statusMessage` (at most one write a second); anything else has no reader (clients follow
/// a task with `tasks/get`).
struct TaskProgress {
    router: Router,
    task_id: String,
    last: Mutex<Option<std::time::Instant>>,
}

#[async_trait::async_trait]
impl crate::outbound::Outbound for TaskProgress {
    async fn send(&self, message: Vec<u8>) -> Result<(), crate::outbound::OutboundClosed> {
        let Ok(note) = serde_json::from_slice::<Value>(&message) else { return Ok(()) };
        if note["method"] != mcp_protocol::model::notifications::PROGRESS {
            return Ok(());
        }
        {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|at| at.elapsed() < PROGRESS_EVERY) {
                return Ok(());
            }
            *last = Some(std::time::Instant::now());
        }
        let p = &note["params"];
        let status = match (p["message"].as_str(), p["progress"].as_f64(), p["total"].as_f64()) {
            (Some(message), _, _) => message.to_owned(),
            (None, Some(done), Some(total)) => format!("{done} of {total}"),
            (None, Some(done), None) => format!("{done} done"),
            _ => return Ok(()),
        };
        let written = self
            .router
            .change_task(&self.task_id, |t| {
                if t.status != TaskStatus::Working {
                    return false;
                }
                t.status_message = Some(status.clone());
                true
            })
            .await;
        if let Err(e) = written {
            tracing::debug!(task_id = self.task_id, error = %e, "task progress not written");
        }
        Ok(())
    }
}

/// A completed outcome, unless its result is larger than a task keeps: then the task fails
/// with an error that names the limit.
fn kept(result: Value) -> Outcome {
    let size = serde_json::to_vec(&result).map_or(usize::MAX, |b| b.len());
    if size > MAX_TASK_RESULT_BYTES {
        return Outcome::Failed(ErrorObject::internal(format!(
            "the tool's result is {size} bytes; a task keeps results of at most {MAX_TASK_RESULT_BYTES} bytes"
        )));
    }
    Outcome::Completed(result)
}

impl Router {
    /// A `tools/call` in 2026-07-28: `None` when it runs as an ordinary call, or the reply
    /// when it becomes a task (or is refused for lack of the extension).
    pub(super) async fn call_as_task(&self, req: &Request<'_>, cx: &Cx<'_>, inv: &Invocation) -> Option<Reply> {
        let server = self.server();
        let tool = server.tool(&inv.target)?;
        if tool.task_support == TaskSupport::Forbidden {
            return None;
        }
        if !self.config.run_tasks {
            if tool.task_support == TaskSupport::Optional {
                return None;
            }
            // Not "declare the extension": this deployment does not offer it.
            let e = HandlerError::Internal(format!(
                "tool {} runs only as a task, and this deployment runs none",
                inv.target
            ));
            return Some(self.finish(&req.id, cx, Err(e)));
        }
        match (tool.task_support, declares_tasks(&cx.capabilities)) {
            (TaskSupport::Optional, false) => return None,
            (TaskSupport::Required, false) => return Some(missing_extension(&req.id)),
            _ => {}
        }
        // Arguments the schema refuses are reported as any call reports them: at once.
        tool.validate_arguments(&inv.arguments).ok()?;
        let mut answers = BTreeMap::new();
        if let Some(before) = &tool.before_task {
            let input = match self.input_mode(inv, cx).await {
                Ok(mode) => mode,
                Err(e) => return Some(self.finish(&req.id, cx, Err(e))),
            };
            let ctx = self.context(&req.id, cx, Arc::new(Discard), input);
            let args = inv.arguments.as_object().cloned().unwrap_or_default();
            let outcome = caught(before(ctx.clone(), args)).await;
            if let Some((asked, given)) = ctx.take_round() {
                return Some(self.input_required(&req.id, inv, cx, asked, given));
            }
            match outcome {
                Ok(()) => answers = ctx.answers(),
                Err(e) => return Some(self.finish(&req.id, cx, Err(e))),
            }
        }
        Some(self.create_task(&req.id, cx, inv, answers).await)
    }

    /// Writes the task, starts its work, and answers with its handle.
    async fn create_task(
        &self,
        id: &RequestId,
        cx: &Cx<'_>,
        inv: &Invocation,
        answers: BTreeMap<String, Value>,
    ) -> Reply {
        let now = now_ms();
        let task = TaskRecord {
            id: random_id(),
            server: self.name.to_string(),
            principal: cx.inbound.principal.clone(),
            tool: inv.target.clone(),
            arguments: inv.arguments.clone(),
            capabilities: serde_json::to_value(&cx.capabilities).unwrap_or(Value::Null),
            status: TaskStatus::Working,
            status_message: None,
            created_at_ms: now,
            updated_at_ms: now,
            ttl_ms: self.config.task_ttl.as_millis() as u64,
            input_requests: BTreeMap::new(),
            answers,
            result: None,
            error: None,
            version: 0,
            lease: Some(self.new_lease(now)),
        };
        // Admitted, written and started apart from this request: a client that leaves
        // meanwhile cannot stop it halfway (a slot taken and never given back, a task written
        // and never run).
        let router = self.clone();
        let record = task.clone();
        let admitted = tokio::spawn(async move { router.admit(&record).await })
            .await
            .unwrap_or_else(|e| Err(Refused::State(StateError::Unavailable(format!("task not created: {e}")))));
        match admitted {
            Ok(()) => {}
            Err(Refused::Limited(cap)) => {
                let e = ErrorObject::new(
                    ErrorCode::LIMIT_EXCEEDED,
                    format!("at most {cap} unfinished tasks per principal: cancel one or wait for one to finish"),
                );
                return Reply::error(Some(id), &e, ReplyStatus::Ok);
            }
            Err(Refused::State(e)) => return self.finish(id, cx, Err(e.into())),
        }
        let info = task.info(Some(POLL_INTERVAL_MS));
        let wire = WireResult {
            body: &info,
            result_type: Some(ResultType::Task),
            cache: None,
            meta: Some(&self.server().result_meta),
        };
        Reply::ok(jsonrpc::encode_result(id, &wire))
    }

    /// Takes the principal's slot for the task, writes it (the handle goes out only once a
    /// `tasks/get` anywhere would find it), and starts its work.
    async fn admit(&self, task: &TaskRecord) -> Result<(), Refused> {
        // A principal's unfinished tasks are bounded: each holds a slot until it finishes (or
        // its lifetime ends, for one whose work died).
        if let Some(cap) = self.config.max_tasks_per_principal {
            match self.state.rates.acquire(&tasks_key(task.principal.as_deref()), &task.id, cap, task.ttl_ms).await {
                Ok(true) => {}
                Ok(false) => return Err(Refused::Limited(cap)),
                Err(e) => tracing::warn!(error = %e, "task counter unavailable: task let through"),
            }
        }
        match self.state.tasks.create(task).await {
            Ok(()) => {}
            // A retried create whose first attempt was applied finds its own task.
            Err(StateError::Conflict) if self.state.tasks.get(&task.id).await.ok().flatten().as_ref() == Some(task) => {
            }
            Err(e) => {
                self.release_slot(task).await;
                return Err(Refused::State(e));
            }
        }
        self.start_task(task).await;
        Ok(())
    }

    /// A lease for a run about to be started: unclaimed, lapsing unless a runner claims it
    /// in time (a worker invocation may wait for an environment and start cold).
    fn new_lease(&self, now: u64) -> TaskLease {
        let grace = match self.config.task_launcher {
            Some(_) => self.config.task_start_grace.as_millis() as u64,
            None => self.lease_ms(),
        };
        TaskLease { run: random_id(), claimed_by: None, until_ms: now + grace.max(1) }
    }

    fn lease_ms(&self) -> u64 {
        self.config.task_lease.as_millis().max(1) as u64
    }

    /// Gives back the slot a task held (it finished, or was never written).
    async fn release_slot(&self, task: &TaskRecord) {
        if self.config.max_tasks_per_principal.is_some()
            && let Err(e) = self.state.rates.release(&tasks_key(task.principal.as_deref()), &task.id).await
        {
            tracing::warn!(task_id = task.id, error = %e, "task slot not given back; it lapses with the task");
        }
    }

    /// Starts the run the task's lease names, on without the request that started it: in
    /// this process, or handed to the launcher (then it is started before this returns, so
    /// a Lambda environment frozen after its response has nothing left to do).
    async fn start_task(&self, task: &TaskRecord) {
        let Some(lease) = &task.lease else { return };
        let run = TaskRun { task_id: task.id.clone(), run: lease.run.clone() };
        match &self.config.task_launcher {
            None => {
                let router = self.clone();
                tokio::spawn(async move { router.run_task(&run, None).await });
            }
            Some(launcher) => {
                if let Err(e) = launcher.launch(&run).await {
                    tracing::warn!(task_id = task.id, error = %e, "task worker not started");
                    let why = format!("the task's worker could not be started: {e}");
                    self.fail_unwritten(&task.id, Some(&run.run), &why).await;
                }
            }
        }
    }

    /// Takes the run: `Some(task)` if this call claimed it, `None` if it is not to be run
    /// (claimed already, replaced by a later run, finished, cancelled or gone).
    async fn claim(&self, run: &TaskRun, runner: &str) -> StateResult<Option<TaskRecord>> {
        let until_ms = now_ms() + self.lease_ms();
        let mut took = false;
        let task = self
            .change_task(&run.task_id, |t| {
                took = t.status == TaskStatus::Working
                    && t.lease.as_ref().is_some_and(|l| l.run == run.run && l.claimed_by.is_none());
                if took {
                    let claimed_by = Some(runner.to_owned());
                    t.lease = Some(TaskLease { run: run.run.clone(), claimed_by, until_ms });
                }
                took
            })
            .await?;
        Ok(task.filter(|_| took))
    }

    /// Renews the run's lease every third of its length until the run ends (the guard is
    /// dropped). The receiver resolves when the run has lost the task: it moved on without it
    /// (cancelled, failed for a lapsed lease, which a cancellation that cannot reach this
    /// instance also ends up as), or the last lease written has run out unrenewed. The work
    /// then stops: whoever holds the task now must not see it go on.
    fn keep_lease(
        &self,
        run: &TaskRun,
        runner: &str,
        until_ms: u64,
    ) -> (AbortOnDrop, tokio::sync::oneshot::Receiver<()>) {
        let (router, run, runner) = (self.clone(), run.clone(), runner.to_owned());
        let (lost, lost_rx) = tokio::sync::oneshot::channel();
        let every = std::time::Duration::from_millis((self.lease_ms() / 3).max(1));
        let renewing = tokio::spawn(async move {
            let mut held_until = until_ms;
            loop {
                tokio::time::sleep(every).await;
                let until_ms = now_ms() + router.lease_ms();
                let mut ours = false;
                let renewed = router
                    .change_task(&run.task_id, |t| {
                        ours = t.status == TaskStatus::Working
                            && t.lease
                                .as_ref()
                                .is_some_and(|l| l.run == run.run && l.claimed_by.as_ref() == Some(&runner));
                        if let Some(lease) = t.lease.as_mut().filter(|_| ours) {
                            lease.until_ms = until_ms;
                        }
                        ours
                    })
                    .await;
                match renewed {
                    Ok(_) if !ours => break,
                    Ok(_) => held_until = until_ms,
                    Err(e) if now_ms() >= held_until => {
                        tracing::warn!(task_id = run.task_id, error = %e, "task lease lapsed unrenewed; the work stops");
                        break;
                    }
                    Err(e) => tracing::warn!(task_id = run.task_id, error = %e, "task lease not renewed"),
                }
            }
            let _ = lost.send(());
        });
        (AbortOnDrop(renewing), lost_rx)
    }

    /// One run of a task's work: the handler with every answer given so far, until it
    /// returns, asks for input, or the task is cancelled. The worker function calls this
    /// with the event it was invoked with and its invocation's deadline (epoch ms): the work
    /// stops in time to write that it did not finish.
    pub async fn run_task(&self, run: &TaskRun, deadline_ms: Option<u64>) {
        let task_id = run.task_id.as_str();
        // Subscribed before the task is read: a cancellation written after the read is
        // signalled after the subscription, so it cannot fall in between.
        let cancelled = self.signals.wait(&cancel_key(task_id)).await.ok();
        let runner = random_id();
        let task = match self.claim(run, &runner).await {
            Ok(Some(t)) => t,
            Ok(None) => return,
            Err(e) => {
                // Not failed here: this may be a late copy of a run another runner holds. An
                // unclaimed run's lease lapses, and the task fails then.
                tracing::warn!(task_id, error = %e, "task not claimed; it is not run");
                return;
            }
        };
        let held_until = task.lease.as_ref().map_or(0, |l| l.until_ms);
        let (_renewing, mut lost) = self.keep_lease(run, &runner, held_until);
        let ctx = self.task_context(&task);
        // The work ends with the task's lifetime at the latest, and before its worker's
        // invocation does.
        let now = now_ms();
        let lifetime = task.expires_at_ms().saturating_sub(now);
        let (limit, why) = match deadline_ms.map(|d| d.saturating_sub(now + DEADLINE_MARGIN_MS)) {
            Some(left) if left < lifetime => (left, "the task's work did not finish within its worker's time limit"),
            _ => (lifetime, "the task's lifetime ended before its work"),
        };
        let limit = std::time::Duration::from_millis(limit);
        let server = self.server();
        let outcome = match server.tool(&task.tool) {
            None => Outcome::Failed(ErrorObject::invalid_params(format!("Unknown tool: {}", task.tool))),
            Some(tool) => {
                let args = task.arguments.as_object().cloned().unwrap_or_default();
                let work = async {
                    let run = caught((tool.handler)(ctx.clone(), args));
                    match tokio::time::timeout(limit, run).await {
                        Ok(r) => r,
                        Err(_) => Err(HandlerError::Internal(why.into())),
                    }
                };
                let result = match cancelled {
                    Some(mut signal) => tokio::select! {
                        r = work => r,
                        Some(_) = signal.next() => {
                            ctx.cancel();
                            return;
                        }
                        _ = &mut lost => {
                            ctx.cancel();
                            return;
                        }
                    },
                    None => tokio::select! {
                        r = work => r,
                        _ = &mut lost => {
                            ctx.cancel();
                            return;
                        }
                    },
                };
                // Input asked for wins over how the handler ended (it may have turned the
                // "input required" error into one of its own), as in an ordinary call.
                match (result, ctx.take_round()) {
                    (_, Some((asked, _))) => Outcome::InputRequired(asked),
                    (Ok(result), None) => match tool.validate_output(&result) {
                        Ok(()) => kept(serde_json::to_value(&result).unwrap_or(Value::Null)),
                        Err(why) => Outcome::Failed(ErrorObject::internal(format!(
                            "tool {} returned output that violates its outputSchema: {why}",
                            task.tool
                        ))),
                    },
                    (Err(e), None) => Outcome::Failed(e.to_wire(true)),
                }
            }
        };
        let written = self
            .change_task(task_id, |t| {
                // A task cancelled (or finished, or failed for a lapsed lease) meanwhile
                // keeps its final status.
                if t.status != TaskStatus::Working || t.lease.as_ref().is_none_or(|l| l.run != run.run) {
                    return false;
                }
                t.lease = None;
                match &outcome {
                    Outcome::Completed(result) => {
                        t.status = TaskStatus::Completed;
                        t.result = Some(result.clone());
                        let size = serde_json::to_vec(&*t).map_or(usize::MAX, |b| b.len());
                        if size > MAX_TASK_RECORD_BYTES {
                            let e = ErrorObject::internal(format!(
                                "the task with its result is {size} bytes; a task keeps at most {MAX_TASK_RECORD_BYTES}"
                            ));
                            t.status = TaskStatus::Failed;
                            t.result = None;
                            t.status_message = Some(e.message.clone());
                            t.error = serde_json::to_value(e).ok();
                        }
                    }
                    Outcome::InputRequired(asked) => {
                        t.status = TaskStatus::InputRequired;
                        t.input_requests = asked.clone();
                    }
                    Outcome::Failed(error) => {
                        t.status = TaskStatus::Failed;
                        t.status_message = Some(error.message.clone());
                        t.error = serde_json::to_value(error).ok();
                    }
                }
                true
            })
            .await;
        match written {
            Ok(Some(t)) if t.status.is_terminal() => self.release_slot(&t).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(task_id, error = %e, "task outcome not written");
                let why = format!("the task's outcome could not be written: {e}");
                self.fail_unwritten(task_id, Some(&run.run), &why).await;
            }
        }
    }

    /// When a run's outcome cannot be written (a store that refuses it, or does not answer),
    /// or its worker cannot be started, the task still ends: `failed`, with nothing but the
    /// reason, so that it neither stays `working` nor keeps its principal's place. Only while
    /// the task is still `run`'s (when given): a later run, or a cancellation, is left alone.
    async fn fail_unwritten(&self, task_id: &str, run: Option<&str>, reason: &str) {
        let failed = self
            .change_task(task_id, |t| {
                let ours = run.is_none_or(|run| {
                    t.status == TaskStatus::Working && t.lease.as_ref().is_some_and(|l| l.run == run)
                });
                if t.status.is_terminal() || !ours {
                    return false;
                }
                t.status = TaskStatus::Failed;
                t.input_requests.clear();
                t.lease = None;
                t.result = None;
                t.status_message = Some(reason.to_owned());
                t.error = serde_json::to_value(ErrorObject::internal(reason)).ok();
                true
            })
            .await;
        match failed {
            Ok(Some(t)) => self.release_slot(&t).await,
            Ok(None) => {}
            Err(e) => tracing::error!(task_id, error = %e, "task left unfinished; it lapses with its lifetime"),
        }
    }

    /// Fails the tasks whose runner's lease lapsed in the last `look_back`: their worker was
    /// killed, timed out or never started. The sweeper calls this on every run. Returns how
    /// many it failed.
    pub async fn fail_stalled_tasks(&self, look_back: std::time::Duration) -> StateResult<usize> {
        let now = now_ms();
        let from = now.saturating_sub(look_back.as_millis() as u64);
        let stalled = self.state.tasks.stalled(from, now).await?;
        let failed = futures_util::stream::iter(stalled.into_iter().take(SWEPT_PER_RUN))
            .map(|task_id| async move {
                match self.fail_if_stalled(&task_id).await {
                    Ok(failed) => failed.is_some(),
                    Err(e) => {
                        tracing::warn!(task_id, error = %e, "stalled task not failed; the next sweep retries");
                        false
                    }
                }
            })
            .buffer_unordered(SWEEP_CONCURRENCY)
            .filter(|failed| std::future::ready(*failed))
            .count()
            .await;
        Ok(failed)
    }

    /// Fails the task if its runner's lease has lapsed; the failed task, if this call
    /// failed it.
    async fn fail_if_stalled(&self, task_id: &str) -> StateResult<Option<TaskRecord>> {
        let mut lapsed = false;
        let task = self
            .change_task(task_id, |t| {
                lapsed = t.status == TaskStatus::Working && t.lease.as_ref().is_some_and(|l| l.until_ms <= now_ms());
                if lapsed {
                    let e = ErrorObject::internal(RUNNER_LOST);
                    t.status = TaskStatus::Failed;
                    t.lease = None;
                    t.status_message = Some(e.message.clone());
                    t.error = serde_json::to_value(e).ok();
                }
                lapsed
            })
            .await?;
        match task.filter(|_| lapsed) {
            Some(t) => {
                tracing::warn!(task_id, "task failed: its worker stopped renewing its lease");
                self.release_slot(&t).await;
                Ok(Some(t))
            }
            None => Ok(None),
        }
    }

    /// The context a task's work runs with: the creating request's principal and client
    /// capabilities, its answers so far; its progress becomes the task's status message (a
    /// task sends no notifications of its own: clients follow it with `tasks/get`).
    fn task_context(&self, task: &TaskRecord) -> RequestContext {
        let capabilities = serde_json::from_value(task.capabilities.clone()).unwrap_or_default();
        RequestContext::new(Inner {
            request_id: RequestId::String(task.id.clone()),
            version: mcp_protocol::model::ProtocolVersion::V2026_07_28,
            capabilities,
            principal: task.principal.clone(),
            // Progress is asked for on the task's behalf: it becomes its status message.
            progress_token: Some(RequestId::String(task.id.clone())),
            log_threshold: None,
            out: Arc::new(TaskProgress { router: self.clone(), task_id: task.id.clone(), last: Mutex::new(None) }),
            input: InputMode::Mrtr(Mutex::new(MrtrRound { answers: task.answers.clone(), ..Default::default() })),
            notifier: self.notifier.clone(),
            kv: self.state.kv.clone(),
            cancelled: AtomicBool::new(false),
            cancel_notify: Notify::new(),
        })
    }

    /// Reads the task, lets `change` edit it, and writes it back unless another write came
    /// first (then reads again). `change` returns whether there is anything to write.
    /// Returns the task as written (or as read, when nothing was), `None` if it is gone.
    async fn change_task(
        &self,
        task_id: &str,
        mut change: impl FnMut(&mut TaskRecord) -> bool,
    ) -> StateResult<Option<TaskRecord>> {
        let mut last_error = StateError::Conflict;
        for _ in 0..WRITE_ATTEMPTS {
            let Some(mut task) = self.state.tasks.get(task_id).await? else { return Ok(None) };
            if !change(&mut task) {
                return Ok(Some(task));
            }
            task.version += 1;
            task.updated_at_ms = now_ms().max(task.updated_at_ms);
            match self.state.tasks.replace(&task).await {
                Ok(true) => return Ok(Some(task)),
                Ok(false) => {}
                // Applied or not, the answer is lost: the read below tells.
                Err(e) => last_error = e,
            }
            // Lost to another write, or won and then lost the answer (a retried call whose
            // first attempt was applied): in the second case the stored task is this one.
            if self.state.tasks.get(task_id).await?.as_ref() == Some(&task) {
                return Ok(Some(task));
            }
        }
        Err(last_error)
    }

    /// `tasks/get`, `tasks/update`, `tasks/cancel`. The extension is checked first: a
    /// client that did not declare it learns nothing about any task id.
    pub(super) async fn task_method(&self, req: &Request<'_>, cx: &Cx<'_>) -> Reply {
        if !declares_tasks(&cx.capabilities) {
            return missing_extension(&req.id);
        }
        let params: UpdateTaskParams = match req.method.as_ref() {
            methods::TASKS_UPDATE => match req.params_as() {
                Ok(p) => p,
                Err(e) => return Reply::error(Some(&req.id), &e, ReplyStatus::Ok),
            },
            _ => match req.params_as::<TaskIdParams>() {
                Ok(p) => UpdateTaskParams { task_id: p.task_id, input_responses: Default::default() },
                Err(e) => return Reply::error(Some(&req.id), &e, ReplyStatus::Ok),
            },
        };
        let task_id = params.task_id.as_str();
        // Ids are this server's own (`random_id`): anything else names no task, and is not
        // made into a storage key.
        let ours = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        if task_id.is_empty() || task_id.len() > 64 || !task_id.bytes().all(ours) {
            return unknown_task(&req.id, task_id);
        }
        let owner = cx.inbound.principal.clone();
        let outcome = match req.method.as_ref() {
            methods::TASKS_GET => {
                let visible = |t: &TaskRecord| t.principal == owner && t.server == *self.name;
                match self.state.tasks.get(task_id).await {
                    // A runner that stopped is noticed by whoever looks first: the client
                    // need not wait for the sweep to learn that its task failed.
                    Ok(Some(t)) if visible(&t) && t.lease.as_ref().is_some_and(|l| l.until_ms <= now_ms()) => {
                        // Boxed: a rare path that would otherwise enlarge every request's future.
                        match Box::pin(self.fail_if_stalled(task_id)).await {
                            Ok(Some(failed)) => Ok(Some(failed)),
                            _ => self.state.tasks.get(task_id).await.map(|t| t.filter(visible)),
                        }
                    }
                    other => other.map(|t| t.filter(visible)),
                }
            }
            method => {
                // A change, and the run it may start, finish apart from this request: a
                // client that leaves meanwhile cannot leave a task resumed and never run.
                let router = self.clone();
                let (task_id, cancel) = (task_id.to_owned(), method == methods::TASKS_CANCEL);
                let responses = params.input_responses;
                tokio::spawn(async move {
                    let visible = |t: &TaskRecord| t.principal == owner && t.server == *router.name;
                    match cancel {
                        true => router.cancel_task(&task_id, &visible).await,
                        false => router.update_task(&task_id, responses, &visible).await,
                    }
                })
                .await
                .unwrap_or_else(|e| Err(StateError::Unavailable(format!("task not changed: {e}"))))
            }
        };
        let task = match outcome {
            Ok(Some(task)) => task,
            Ok(None) => return unknown_task(&req.id, task_id),
            Err(e) => return self.finish(&req.id, cx, Err(e.into())),
        };
        if req.method == methods::TASKS_GET {
            return Reply::ok(self.stateless_result(&req.id, &task.detailed(Some(POLL_INTERVAL_MS)), None));
        }
        // `tasks/update` and `tasks/cancel` are acknowledged with an empty result.
        Reply::ok(self.stateless_result(&req.id, &Map::new(), None))
    }

    /// Records the answers the task asked for (others are ignored); once none is missing,
    /// the task works again and its work runs again with every answer.
    async fn update_task(
        &self,
        task_id: &str,
        responses: BTreeMap<String, Value>,
        visible: &(dyn Fn(&TaskRecord) -> bool + Sync),
    ) -> StateResult<Option<TaskRecord>> {
        let mut resumed = false;
        let task = self
            .change_task(task_id, |t| {
                resumed = false;
                if !visible(t) || t.status != TaskStatus::InputRequired {
                    return false;
                }
                let mut changed = false;
                for (key, answer) in &responses {
                    if answer.is_object() && t.input_requests.remove(key).is_some() {
                        t.answers.insert(key.clone(), answer.clone());
                        changed = true;
                    }
                }
                if changed && t.input_requests.is_empty() {
                    t.status = TaskStatus::Working;
                    t.lease = Some(self.new_lease(now_ms()));
                    resumed = true;
                }
                changed
            })
            .await?;
        match task {
            Some(t) if visible(&t) => {
                if resumed {
                    self.start_task(&t).await;
                }
                Ok(Some(t))
            }
            _ => Ok(None),
        }
    }

    /// Marks the task cancelled (a finished task stays as it is: cancelling it is not an
    /// error) and signals whichever instance runs its work.
    async fn cancel_task(
        &self,
        task_id: &str,
        visible: &(dyn Fn(&TaskRecord) -> bool + Sync),
    ) -> StateResult<Option<TaskRecord>> {
        let task = self
            .change_task(task_id, |t| {
                if !visible(t) || t.status.is_terminal() {
                    return false;
                }
                t.status = TaskStatus::Cancelled;
                t.status_message = Some("cancelled by the client".into());
                t.input_requests.clear();
                t.lease = None;
                true
            })
            .await?;
        match task {
            Some(t) if visible(&t) => {
                self.release_slot(&t).await;
                if let Err(e) = self.signals.send(&cancel_key(task_id), Vec::new()).await {
                    tracing::warn!(task_id, error = %e, "cancellation not signalled; the work runs to its end");
                }
                Ok(Some(t))
            }
            _ => Ok(None),
        }
    }
}
