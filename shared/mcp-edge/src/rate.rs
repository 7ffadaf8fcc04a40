//! Per-principal rate limits: a fixed window of requests per principal, counted in the shared
//! store (Redis in a deployment) so that every instance sees the same count. Requests without
//! a principal (authorization off) are not counted. When the counter cannot be reached the
//! request is let through and the failure logged: the limit protects capacity, and a counter
//! outage must not become a service outage.

use std::time::Duration;

use mcp_server::StateHandles;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    pub requests: u64,
    pub window: Duration,
}

impl RateLimit {
    /// `requests` per minute; 0 means no limit.
    pub fn per_minute(requests: u64) -> Option<RateLimit> {
        (requests > 0).then_some(RateLimit { requests, window: Duration::from_secs(60) })
    }

    pub fn describe(&self) -> String {
        format!("rate limit exceeded: {} requests per {} s", self.requests, self.window.as_secs())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// Over the limit until the window ends.
    Limited {
        retry_after_ms: u64,
    },
}

/// Counts this request for `principal` and says whether it may go on.
pub async fn check(state: &StateHandles, limit: Option<RateLimit>, principal: Option<&str>) -> Verdict {
    let (Some(limit), Some(principal)) = (limit, principal) else { return Verdict::Allowed };
    let window_ms = u64::try_from(limit.window.as_millis()).unwrap_or(u64::MAX);
    // Keyed apart from the servers' own counters (`server:<name>:<principal>`).
    match state.rates.hit(&format!("principal:{principal}"), window_ms).await {
        Ok((count, _)) if count <= limit.requests => Verdict::Allowed,
        Ok((_, left_ms)) => {
            tracing::info!(principal_hash = %principal_hash(principal), "rate limit exceeded");
            Verdict::Limited { retry_after_ms: left_ms.max(1) }
        }
        Err(e) => {
            tracing::warn!(error = %e, "rate counter unavailable: request let through");
            Verdict::Allowed
        }
    }
}

pub use mcp_server::observe::principal_hash;
