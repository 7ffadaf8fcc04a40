//! What a handler sees of its request: who asks, in which era, and the one API for
//! progress, logs, cancellation and asking the client for input in both eras.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Notify;

use mcp_protocol::jsonrpc::{self, Message, RequestId};
use mcp_protocol::model::input::{ELICITATION_CREATE, ROOTS_LIST, SAMPLING_CREATE_MESSAGE};
use mcp_protocol::model::logging::LoggingMessageParams;
use mcp_protocol::model::notifications::{MESSAGE, PROGRESS, ProgressParams, ProgressToken};
use mcp_protocol::model::{
    ClientCapabilities, CreateMessageParams, CreateMessageResult, ElicitRequestParams, ElicitResult, Era, InputRequest,
    ListRootsResult, LoggingLevel, ProtocolVersion,
};

use crate::error::InputError;
use crate::ids::random_id;
use crate::notifications::Notifications;
use crate::outbound::Outbound;
use crate::signals::Signals;
use crate::state::KvStore;
use crate::store::Store;

/// A handler's view of its request. Cheap to clone.
#[derive(Clone)]
pub struct RequestContext {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub request_id: RequestId,
    pub version: ProtocolVersion,
    pub capabilities: ClientCapabilities,
    pub principal: Option<String>,
    pub progress_token: Option<ProgressToken>,
    /// Log messages below this level are not sent; `None` sends none at all (2026-07-28
    /// without `logLevel`), `Some(Debug)` sends everything.
    pub log_threshold: Option<LoggingLevel>,
    pub out: Arc<dyn Outbound>,
    pub input: InputMode,
    pub notifier: Arc<dyn Notifications>,
    pub kv: Arc<dyn KvStore>,
    pub cancelled: AtomicBool,
    pub cancel_notify: Notify,
}

/// How input requests reach the client.
pub(crate) enum InputMode {
    /// Session era: a server-to-client request on the request's stream; the reply comes
    /// back through the bus, to whichever instance waits for it.
    Push { signals: Arc<Signals>, scope: String, timeout: Duration },
    /// 2026-07-28 (MRTR): answers given in this round; unanswered requests are collected
    /// and returned as an `InputRequiredResult`.
    Mrtr(Mutex<MrtrRound>),
    /// No way to ask: a transport without a return path, or a deployment whose answers
    /// could not reach this instance. Says why.
    Unavailable(&'static str),
}

#[derive(Default)]
pub(crate) struct MrtrRound {
    pub answers: BTreeMap<String, Value>,
    pub asked: BTreeMap<String, InputRequest>,
    pub next_key: u32,
}

/// The signal that carries a client's reply to a server request.
pub(crate) fn reply_key(scope: &str, id: &RequestId) -> String {
    format!("reply:{scope}:{id}")
}

impl RequestContext {
    pub(crate) fn new(inner: Inner) -> Self {
        RequestContext { inner: Arc::new(inner) }
    }

    /// The JSON-RPC id of the request being served.
    pub fn request_id(&self) -> &RequestId {
        &self.inner.request_id
    }

    /// The protocol version the request is served in: its session's, or the one its `_meta`
    /// names (2026-07-28).
    pub fn protocol_version(&self) -> ProtocolVersion {
        self.inner.version
    }

    /// The era of [`protocol_version`](Self::protocol_version), which decides how input requests
    /// reach the client: server-to-client requests (sessions) or MRTR rounds (stateless).
    pub fn era(&self) -> Era {
        self.inner.version.era()
    }

    /// What the client declared: at `initialize` (session era) or in the request's `_meta`
    /// (2026-07-28). Asking for input the client did not declare fails with `MissingCapability`.
    pub fn client_capabilities(&self) -> &ClientCapabilities {
        &self.inner.capabilities
    }

    /// The authenticated principal, when the transport has one.
    pub fn principal(&self) -> Option<&str> {
        self.inner.principal.as_deref()
    }

    /// Sends `notifications/progress` if the request asked for progress; a no-op otherwise.
    pub async fn progress(&self, progress: f64, total: Option<f64>, message: Option<String>) {
        let Some(token) = &self.inner.progress_token else { return };
        let params = ProgressParams { progress_token: token.clone(), progress, total, message };
        self.send(jsonrpc::encode_notification(PROGRESS, Some(&params))).await;
    }

    /// Sends `notifications/message` if `level` passes the request's or session's threshold.
    pub async fn log(&self, level: LoggingLevel, logger: Option<&str>, data: Value) {
        match self.inner.log_threshold {
            Some(min) if level >= min => {}
            _ => return,
        }
        let params = LoggingMessageParams { level, logger: logger.map(str::to_owned), data };
        self.send(jsonrpc::encode_notification(MESSAGE, Some(&params))).await;
    }

    async fn send(&self, message: Vec<u8>) {
        if self.inner.out.send(message).await.is_err() {
            // The stream is gone: nobody will read the result either.
            self.cancel();
        }
    }

    /// Asks the transport to close the client's stream and let it reconnect after `retry`
    /// (SSE polling, SEP-1699); later messages wait for the resumed stream. `false` where
    /// the transport has no such thing (WebSocket, stdio, 2026-07-28).
    pub async fn detach_stream(&self, retry: Duration) -> bool {
        self.inner.out.detach(retry).await
    }

    /// Whether the request was cancelled (`notifications/cancelled`, stream closed): a long
    /// handler checks it between steps, since nobody will read its result.
    pub fn is_cancelled(&self) -> bool {
        self.inner.cancelled.load(Ordering::Acquire)
    }

    /// Resolves when the request is cancelled (`notifications/cancelled`, stream closed).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.cancel_notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    pub(crate) fn cancel(&self) {
        self.inner.cancelled.store(true, Ordering::Release);
        self.inner.cancel_notify.notify_waiters();
    }

    /// To tell subscribers that a resource or a list changed.
    pub fn notifier(&self) -> &dyn Notifications {
        &*self.inner.notifier
    }

    /// The caller's own application data (every instance sees it; no other principal
    /// does). Callers without a principal share one anonymous scope.
    pub fn store(&self) -> Store {
        Store::of_principal(self.inner.kv.clone(), self.inner.principal.as_deref())
    }

    /// Application data every caller of the deployment shares: for what is meant to be
    /// public, asked for by name so that nothing is shared by default.
    pub fn shared_store(&self) -> Store {
        Store::shared(self.inner.kv.clone())
    }

    /// Asks the user for input through the client (form or URL elicitation).
    pub async fn elicit(&self, params: ElicitRequestParams) -> Result<ElicitResult, InputError> {
        let value = self.input(None, request(ELICITATION_CREATE, &params)).await?;
        decode(value)
    }

    /// Asks the client's model for a completion.
    pub async fn create_message(&self, params: CreateMessageParams) -> Result<CreateMessageResult, InputError> {
        let value = self.input(None, request(SAMPLING_CREATE_MESSAGE, &params)).await?;
        decode(value)
    }

    /// Asks the client for its roots.
    pub async fn list_roots(&self) -> Result<ListRootsResult, InputError> {
        let value = self.input(None, InputRequest { method: ROOTS_LIST.to_owned(), params: None }).await?;
        decode(value)
    }

    /// Asks for one input. `key` names it in MRTR rounds; by default keys follow call order,
    /// which is stable because a handler re-runs from the start with the answers so far.
    pub async fn input(&self, key: Option<&str>, request: InputRequest) -> Result<Value, InputError> {
        let mut values = self.input_all(vec![(key.map(str::to_owned), request)]).await?;
        values.pop().ok_or_else(|| InputError::Malformed("no answer".into()))
    }

    /// Asks for several inputs at once: one round in MRTR, concurrent requests in the
    /// session era. Answers come back in the order asked.
    pub async fn input_all(&self, requests: Vec<(Option<String>, InputRequest)>) -> Result<Vec<Value>, InputError> {
        for (_, r) in &requests {
            self.check_capability(r)?;
        }
        match &self.inner.input {
            InputMode::Unavailable(why) => Err(InputError::Unreachable((*why).into())),
            InputMode::Mrtr(round) => {
                let mut round = round.lock().map_err(|_| InputError::Unreachable("poisoned".into()))?;
                let mut values = Vec::with_capacity(requests.len());
                let mut missing = false;
                for (key, req) in requests {
                    let key = key.unwrap_or_else(|| {
                        round.next_key += 1;
                        format!("input-{}", round.next_key)
                    });
                    match round.answers.get(&key) {
                        Some(v) => values.push(v.clone()),
                        None => {
                            missing = true;
                            round.asked.insert(key, req);
                        }
                    }
                }
                if missing { Err(InputError::Required) } else { Ok(values) }
            }
            InputMode::Push { signals, scope, timeout } => {
                let asks = requests.into_iter().map(|(_, r)| self.push(signals, scope, *timeout, r));
                futures_util::future::join_all(asks).await.into_iter().collect()
            }
        }
    }

    async fn push(
        &self,
        signals: &Signals,
        scope: &str,
        timeout: Duration,
        req: InputRequest,
    ) -> Result<Value, InputError> {
        let id = RequestId::String(format!("s-{}", random_id()));
        let mut replies =
            signals.wait(&reply_key(scope, &id)).await.map_err(|e| InputError::Unreachable(e.to_string()))?;
        let params = req.params.unwrap_or_else(|| Value::Object(Default::default()));
        let message = jsonrpc::encode_request(&id, &req.method, &params);
        self.inner.out.send(message).await.map_err(|e| InputError::Unreachable(e.to_string()))?;
        let reply = tokio::select! {
            r = tokio::time::timeout(timeout, replies.next()) => match r {
                Ok(Some(bytes)) => bytes,
                Ok(None) => return Err(InputError::Unreachable("reply channel closed".into())),
                Err(_) => return Err(InputError::Timeout),
            },
            () = self.cancelled() => return Err(InputError::Cancelled),
        };
        match jsonrpc::decode(&reply) {
            Ok(Message::Response(r)) => match r.outcome {
                Ok(raw) => serde_json::from_str(raw.get()).map_err(|e| InputError::Malformed(e.to_string())),
                Err(e) => Err(InputError::Client(Box::new(e))),
            },
            _ => Err(InputError::Malformed("the reply is not a JSON-RPC response".into())),
        }
    }

    fn check_capability(&self, r: &InputRequest) -> Result<(), InputError> {
        let caps = &self.inner.capabilities;
        let missing =
            |v: Value| Err(InputError::MissingCapability(Box::new(serde_json::from_value(v).unwrap_or_default())));
        match r.method.as_str() {
            ELICITATION_CREATE => {
                let url = r.params.as_ref().and_then(|p| p.get("mode")).and_then(Value::as_str) == Some("url");
                match (url, caps.elicitation_url(), caps.elicitation_form()) {
                    (true, false, _) => missing(serde_json::json!({ "elicitation": { "url": {} } })),
                    (false, _, false) => missing(serde_json::json!({ "elicitation": { "form": {} } })),
                    _ => Ok(()),
                }
            }
            SAMPLING_CREATE_MESSAGE if caps.sampling.is_none() => missing(serde_json::json!({ "sampling": {} })),
            ROOTS_LIST if caps.roots.is_none() => missing(serde_json::json!({ "roots": {} })),
            _ => Ok(()),
        }
    }

    /// The MRTR round after the handler ran: what it asked and the answers it had.
    /// The answers this round has (MRTR), to carry into a task created after it.
    pub(crate) fn answers(&self) -> BTreeMap<String, Value> {
        match &self.inner.input {
            InputMode::Mrtr(round) => round.lock().map(|r| r.answers.clone()).unwrap_or_default(),
            _ => BTreeMap::new(),
        }
    }

    pub(crate) fn take_round(&self) -> Option<(BTreeMap<String, InputRequest>, BTreeMap<String, Value>)> {
        match &self.inner.input {
            InputMode::Mrtr(round) => {
                let mut round = round.lock().ok()?;
                if round.asked.is_empty() {
                    return None;
                }
                let asked = std::mem::take(&mut round.asked);
                Some((asked, round.answers.clone()))
            }
            _ => None,
        }
    }
}

fn request<T: serde::Serialize>(method: &str, params: &T) -> InputRequest {
    InputRequest { method: method.to_owned(), params: serde_json::to_value(params).ok() }
}

fn decode<T: DeserializeOwned>(value: Value) -> Result<T, InputError> {
    serde_json::from_value(value).map_err(|e| InputError::Malformed(e.to_string()))
}
