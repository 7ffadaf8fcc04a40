//! Long-lived HTTP streams: a session's GET stream (or its resumption) and a 2026-07-28
//! `subscriptions/listen`. On a Function URL each holds one Lambda invocation, and so one unit
//! of the account's concurrency, for as long as it is open; a thousand idle listens would
//! throttle every other function of the account. So each stream ends by itself within a
//! bound (the client reconnects: SSE `retry`, or a new listen), and the streams open at once
//! are capped per caller and per deployment, counted in the shared store (Redis in a
//! deployment) with slots that lapse if the instance holding them dies.

use std::time::Duration;

use mcp_server::StateHandles;
use mcp_server::state::now_ms;

/// How long streams last and how many may be open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StreamLimits {
    /// A stream ends by itself this long after it opened; `None`: when its client leaves.
    pub lifetime: Option<Duration>,
    /// Streams one caller (principal, or source address without one) may hold at once.
    pub per_caller: Option<u64>,
    /// Streams the whole deployment may hold at once.
    pub total: Option<u64>,
}

/// Without a lifetime, a slot lapses after Lambda's longest invocation.
const UNBOUNDED_SLOT_LAPSE: Duration = Duration::from_secs(15 * 60);
/// A slot outlives its stream's lifetime by this much (the stream's own end comes first).
const SLOT_GRACE: Duration = Duration::from_secs(60);

/// Why a stream was not opened.
pub(super) enum Refused {
    PerCaller(u64),
    Total(u64),
}

impl Refused {
    pub(super) fn message(&self) -> String {
        match self {
            Refused::PerCaller(n) => format!(
                "too many open streams for this caller (at most {n}); each ends by itself within its bound \
                 (a closed client's stream still holds its place until then): retry later, or use WebSocket to stay connected"
            ),
            Refused::Total(n) => format!("the server holds its limit of {n} open streams; retry later"),
        }
    }
}

impl StreamLimits {
    /// When a stream opened now must end: its lifetime or `credential_expires_at_ms`,
    /// whichever comes first.
    pub(super) fn ends_at_ms(&self, credential_expires_at_ms: Option<u64>) -> Option<u64> {
        let bound = self.lifetime.map(|l| now_ms().saturating_add(u64::try_from(l.as_millis()).unwrap_or(u64::MAX)));
        match (bound, credential_expires_at_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Takes a place for one stream of `caller`, held as `holder` (a session's GET streams
    /// share one: a reconnect takes over the place of the stream it replaces), or says why
    /// there is none. When the counter cannot be reached the stream is let through (logged):
    /// the caps protect capacity, and a counter outage must not become a service outage.
    pub(super) async fn admit(&self, state: &StateHandles, caller: &str, holder: &str) -> Result<Ticket, Refused> {
        let lapse = self.lifetime.map_or(UNBOUNDED_SLOT_LAPSE, |l| l + SLOT_GRACE);
        let lapse_ms = u64::try_from(lapse.as_millis()).unwrap_or(u64::MAX);
        let mut ticket = Ticket { state: state.clone(), held: Vec::new() };
        let caps = [
            (self.per_caller, format!("streams:{caller}"), Refused::PerCaller as fn(u64) -> Refused),
            (self.total, "streams:deployment".to_owned(), Refused::Total as fn(u64) -> Refused),
        ];
        for (limit, key, refusal) in caps {
            let Some(limit) = limit else { continue };
            match state.rates.acquire(&key, holder, limit, lapse_ms).await {
                Ok(true) => ticket.held.push((key, holder.to_owned())),
                Ok(false) => {
                    // What was taken goes back now (nothing runs after a Lambda response).
                    ticket.release().await;
                    return Err(refusal(limit));
                }
                Err(e) => tracing::warn!(error = %e, key, "stream counter unavailable: stream let through"),
            }
        }
        Ok(ticket)
    }
}

/// The places one open stream holds; given back when it is dropped (the stream ended, or
/// its request was abandoned), and lapsing by themselves if the process dies first.
pub(super) struct Ticket {
    state: StateHandles,
    held: Vec<(String, String)>,
}

impl Ticket {
    /// Gives the places back now (before a Lambda response ends, after which nothing runs).
    pub(super) async fn release(mut self) {
        for (key, slot) in std::mem::take(&mut self.held) {
            if let Err(e) = self.state.rates.release(&key, &slot).await {
                tracing::warn!(error = %e, key, "stream slot not given back; it lapses");
            }
        }
    }
}

impl Ticket {
    /// Leaves the places held, for the stream that took this one's over.
    pub(super) fn keep(mut self) {
        self.held.clear();
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let held = std::mem::take(&mut self.held);
        if held.is_empty() {
            return;
        }
        let state = self.state.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                for (key, slot) in held {
                    let _ = state.rates.release(&key, &slot).await;
                }
            });
        }
    }
}

/// The caller a stream is counted against.
pub(super) fn caller(principal: Option<&str>, source: Option<&str>) -> String {
    match (principal, source) {
        (Some(p), _) => format!("principal:{p}"),
        (None, Some(address)) => format!("anonymous:{address}"),
        (None, None) => "anonymous".to_owned(),
    }
}
