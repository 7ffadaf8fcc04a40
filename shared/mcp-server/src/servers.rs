//! The servers of a deployment as one instance serves them: the default server (defined in
//! code, plus its registry entries) and, with a registry, every server registered there,
//! each with its own catalogue, sessions, topics, allowed principals and rate limit.
//!
//! A registered server's router is built on first use and kept (at most [`MAX_SERVERS`]
//! per instance). A name the registry does not know is remembered for [`UNKNOWN_FOR`], so
//! that requests for made-up names cost the registry one read per name and instance, not
//! one per request.

use std::sync::Arc;
use std::time::Duration;

use mcp_protocol::{ErrorCode, ErrorObject};

use crate::registry::live::MAX_AGE;
use crate::router::{ReplyStatus, Router};

/// Registered servers whose routers one instance keeps.
pub const MAX_SERVERS: u64 = 1024;
/// How long an instance remembers that a name is not registered.
pub const UNKNOWN_FOR: Duration = Duration::from_secs(5);
/// The window of a server's `rateLimit`.
const RATE_WINDOW_MS: u64 = 60_000;

/// Why a server does not serve a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no server named {0}")]
    Unknown(String),
    #[error("not allowed to use server {0}")]
    Forbidden(String),
    #[error("rate limit of server {server} exceeded: {limit} requests per minute")]
    Limited { server: String, limit: u64, retry_after_ms: u64 },
    #[error("server {0} cannot be looked up now: retry")]
    Unavailable(String),
}

impl Refusal {
    /// The JSON-RPC error of a refused message.
    pub fn to_wire(&self) -> ErrorObject {
        let message = self.to_string();
        match self {
            Refusal::Unknown(_) | Refusal::Forbidden(_) => ErrorObject::invalid_request(message),
            Refusal::Limited { retry_after_ms, .. } => ErrorObject::new(ErrorCode::LIMIT_EXCEEDED, message)
                .with_data(serde_json::json!({ "retryAfterMs": retry_after_ms })),
            Refusal::Unavailable(_) => ErrorObject::internal(message)
                .with_data(serde_json::json!({ "retryable": true, "reason": "registry unavailable" })),
        }
    }

    /// How an edge presents it (HTTP 404, 403, 429, 503).
    pub fn status(&self) -> ReplyStatus {
        match self {
            Refusal::Unknown(_) => ReplyStatus::ServerNotFound,
            Refusal::Forbidden(_) => ReplyStatus::Forbidden,
            Refusal::Limited { .. } => ReplyStatus::Limited,
            Refusal::Unavailable(_) => ReplyStatus::Unavailable,
        }
    }
}

/// The routers of one instance, by server. Cheap to clone.
#[derive(Clone)]
pub struct Servers {
    default: Arc<Router>,
    registered: Option<Arc<Registered>>,
}

struct Registered {
    known: moka::future::Cache<String, Arc<Router>>,
    unknown: moka::future::Cache<String, ()>,
}

impl From<Arc<Router>> for Servers {
    /// The default router, and with its registry every registered server.
    fn from(default: Arc<Router>) -> Self {
        let registered = default.has_registry().then(|| {
            Arc::new(Registered {
                known: moka::future::Cache::builder().max_capacity(MAX_SERVERS).build(),
                unknown: moka::future::Cache::builder().max_capacity(MAX_SERVERS).time_to_live(UNKNOWN_FOR).build(),
            })
        });
        Servers { default, registered }
    }
}

impl Servers {
    /// The default server's router; its state is every server's.
    pub fn default_router(&self) -> &Arc<Router> {
        &self.default
    }

    /// Whether servers other than the default one can be served.
    pub fn has_registry(&self) -> bool {
        self.registered.is_some()
    }

    /// The router of server `name` (`None`: the default server) if `principal` may use it
    /// now; counts the request against the server's rate limit. Costs nothing remote for a
    /// server this instance has read within a minute, except the rate counter when the
    /// server has a limit.
    pub async fn route(&self, name: Option<&str>, principal: Option<&str>) -> Result<Arc<Router>, Refusal> {
        let router = match name {
            Some(n) if n != self.default.name() => self.registered(n).await?,
            _ => self.default.clone(),
        };
        router.recheck_registration(MAX_AGE).await;
        if let Err(refusal) = router.access(principal) {
            if let (Refusal::Unknown(n), Some(r)) = (&refusal, &self.registered) {
                // Removed since it was built: the next request looks it up again.
                r.known.invalidate(n).await;
            }
            return Err(refusal);
        }
        if let (Some(limit), Some(principal)) = (router.rate_limit(), principal) {
            let key = format!("server:{}:{principal}", router.name());
            match router.state().rates.hit(&key, RATE_WINDOW_MS).await {
                Ok((count, left_ms)) if count > limit => {
                    let server = router.name().to_owned();
                    return Err(Refusal::Limited { server, limit, retry_after_ms: left_ms.max(1) });
                }
                Ok(_) => {}
                // As the deployment's own limit: a counter outage is not a service outage.
                Err(e) => {
                    tracing::warn!(server = %router.name(), error = %e, "rate counter unavailable: request let through")
                }
            }
        }
        Ok(router)
    }

    async fn registered(&self, name: &str) -> Result<Arc<Router>, Refusal> {
        let unknown = || Refusal::Unknown(name.to_owned());
        let Some(r) = &self.registered else { return Err(unknown()) };
        if let Some(router) = r.known.get(name).await {
            return Ok(router);
        }
        if r.unknown.contains_key(name) {
            return Err(unknown());
        }
        let router = Arc::new(self.default.registered_server(name).ok_or_else(unknown)?);
        router.recheck_registration(Duration::ZERO).await;
        match router.access(None) {
            Err(Refusal::Unknown(_)) => {
                r.unknown.insert(name.to_owned(), ()).await;
                Err(unknown())
            }
            Err(Refusal::Unavailable(n)) => Err(Refusal::Unavailable(n)),
            // Registered (whoever may use it is checked by the caller).
            _ => {
                r.known.insert(name.to_owned(), router.clone()).await;
                Ok(router)
            }
        }
    }
}
