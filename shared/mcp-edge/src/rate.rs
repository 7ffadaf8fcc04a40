//! Rate limits: a fixed window of requests per caller, counted in the shared store (Redis in
//! a deployment) so that every instance sees the same count. A caller is its principal when
//! authorization named one, else its source address (API Gateway and Function URL events
//! carry it): anonymous traffic is limited per address, with its own limit, so that one
//! anonymous client cannot take what everyone else is served. When the counter cannot be
//! reached the request is let through and the failure logged: the limit protects capacity,
//! and a counter outage must not become a service outage.

use std::time::Duration;

use mcp_server::StateHandles;

/// The address a request came from, as the front door saw it: a request extension on the
/// Streamable HTTP edge (set from the Function URL event, or from the local gateway's peer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceAddress(pub String);

/// The limits of one edge: per principal, and per source address for requests without one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RateLimits {
    /// Each principal's limit, counted across its addresses; `None` for no limit.
    pub principal: Option<RateLimit>,
    /// Each source address's limit on requests without a principal; `None` for no limit.
    pub anonymous: Option<RateLimit>,
}

/// A fixed window: at most `requests` per caller in each `window`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// The requests a caller may make in one window; the next one is refused.
    pub requests: u64,
    /// The window's length, counted from the caller's first request in it.
    pub window: Duration,
}

impl RateLimit {
    /// `requests` per minute; 0 means no limit.
    pub fn per_minute(requests: u64) -> Option<RateLimit> {
        (requests > 0).then_some(RateLimit { requests, window: Duration::from_secs(60) })
    }

    /// The message of the `LIMIT_EXCEEDED` error a refused request is answered with.
    pub fn describe(&self) -> String {
        format!("rate limit exceeded: {} requests per {} s", self.requests, self.window.as_secs())
    }
}

/// Whether a request may go on: what [`check`] says of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Under the limit, or no limit applies, or the counter could not be reached.
    Allowed,
    /// Over the limit until the window ends.
    Limited {
        /// Until the window ends (at least 1 ms): the error's `retryAfterMs`, and on HTTP
        /// `Retry-After` rounded up to seconds.
        retry_after_ms: u64,
    },
}

/// Counts this request for its caller and says whether it may go on, and under which limit
/// it was counted.
pub async fn check(
    state: &StateHandles,
    limits: RateLimits,
    principal: Option<&str>,
    source: Option<&str>,
) -> (Verdict, Option<RateLimit>) {
    // Keyed apart from the servers' own counters (`server:<name>:<principal>`).
    let (limit, key) = match (principal, source) {
        (Some(p), _) => (limits.principal, format!("principal:{p}")),
        (None, Some(address)) => (limits.anonymous, format!("anonymous:{address}")),
        // Nothing names the caller (stdio: the process is the one caller).
        (None, None) => return (Verdict::Allowed, None),
    };
    let Some(limit) = limit else { return (Verdict::Allowed, None) };
    let window_ms = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX);
    let verdict = match state.rates.hit(&key, window_ms).await {
        Ok((count, _)) if count <= limit.requests => Verdict::Allowed,
        Ok((_, left_ms)) => {
            match principal {
                Some(p) => tracing::info!(principal_hash = %principal_hash(p), "rate limit exceeded"),
                None => tracing::info!("anonymous rate limit exceeded for a source address"),
            }
            Verdict::Limited { retry_after_ms: left_ms.max(1) }
        }
        Err(e) => {
            tracing::warn!(error = %e, "rate counter unavailable: request let through");
            Verdict::Allowed
        }
    };
    (verdict, Some(limit))
}

pub use mcp_server::observe::principal_hash;
