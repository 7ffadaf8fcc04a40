//! The servers of a deployment as one instance serves them: the default server (defined in
//! code, plus its registry entries) and, with a registry, every server registered there,
//! each with its own catalogue, sessions, topics, allowed principals and rate limit.
//!
//! A registered server's router is built on first use and kept (at most [`MAX_SERVERS`]
//! per instance); concurrent first requests wait for one lookup. A name the registry does
//! not know, or a lookup it did not answer, is remembered for [`REFUSED_FOR`], so that
//! requests for made-up names, or during an outage, cost the registry one read per name and
//! instance every few seconds, not one per request.

use std::sync::Arc;
use std::time::Duration;

use mcp_protocol::{ErrorCode, ErrorObject};

use crate::registry::live::MAX_AGE;
use crate::router::{ReplyStatus, Router};

/// Registered servers whose routers one instance keeps.
pub const MAX_SERVERS: u64 = 1024;
/// How long an instance remembers that a name is not registered, or that the registry did
/// not answer when it was looked up (the registry is not asked again meanwhile).
pub const REFUSED_FOR: Duration = Duration::from_secs(5);
/// The window of a server's `rateLimit`.
const RATE_WINDOW_MS: u64 = 60_000;

/// Why a server does not serve a request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// No server of that name is registered (HTTP 404).
    #[error("no server named {0}")]
    Unknown(String),
    /// The server's registration does not admit the principal (HTTP 403).
    #[error("not allowed to use server {0}")]
    Forbidden(String),
    /// The principal went over the server's `rateLimit` (HTTP 429).
    #[error("rate limit of server {server} exceeded: {limit} requests per minute")]
    Limited {
        /// The server whose limit it is.
        server: String,
        /// The limit: requests per principal per minute.
        limit: u64,
        /// Until the current window ends (at least 1).
        retry_after_ms: u64,
    },
    /// The registry did not answer, so who may use the server is not known (HTTP 503): retry.
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
    /// Names not registered, or not looked up because the registry did not answer.
    refused: moka::future::Cache<String, Refusal>,
}

impl From<Arc<Router>> for Servers {
    /// The default router, and with its registry every registered server.
    fn from(default: Arc<Router>) -> Self {
        let registered = default.has_registry().then(|| {
            Arc::new(Registered {
                known: moka::future::Cache::builder().max_capacity(MAX_SERVERS).build(),
                refused: moka::future::Cache::builder().max_capacity(MAX_SERVERS).time_to_live(REFUSED_FOR).build(),
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
        let Some(r) = self.registered.as_ref().filter(|_| crate::registry::entry::is_server_name(name)) else {
            return Err(Refusal::Unknown(name.to_owned()));
        };
        if let Some(refusal) = r.refused.get(name).await {
            return Err(refusal);
        }
        // Concurrent first requests for a server wait for one lookup.
        let lookup = async {
            let router = self.default.registered_server(name).ok_or_else(|| Refusal::Unknown(name.to_owned()))?;
            router.recheck_registration(Duration::ZERO).await;
            match router.access(None) {
                Err(refusal @ (Refusal::Unknown(_) | Refusal::Unavailable(_))) => Err(refusal),
                // Registered (whoever may use it is checked by the caller).
                _ => Ok(Arc::new(router)),
            }
        };
        match r.known.try_get_with(name.to_owned(), lookup).await {
            Ok(router) => Ok(router),
            Err(refusal) => {
                r.refused.insert(name.to_owned(), (*refusal).clone()).await;
                Err((*refusal).clone())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::registry::testkit::FlakyRegistry;
    use crate::registry::{LiveCatalogue, RegistryStore, ServerEntry};
    use crate::{RequestStateCodec, RouterConfig, Server, StateHandles};

    fn entry(name: &str, allowed: Option<&[&str]>) -> ServerEntry {
        let allowed_principals = allowed.map(|a| a.iter().map(|p| (*p).to_owned()).collect());
        ServerEntry { name: name.into(), allowed_principals, ..Default::default() }
    }

    #[tokio::test(start_paused = true)]
    async fn with_the_registry_down_nobody_is_let_in_unchecked_and_the_registry_is_not_hammered() {
        let store = Arc::new(FlakyRegistry::default());
        store.put_server(&entry("main", Some(&["alice"]))).await.unwrap_or_else(|e| panic!("{e}"));
        for name in ["other", "third"] {
            store.put_server(&entry(name, None)).await.unwrap_or_else(|e| panic!("{e}"));
        }
        let code = Arc::new(Server::builder("main", "1").build().unwrap_or_else(|e| panic!("{e}")));
        let live = LiveCatalogue::new(code.clone(), "main", store.clone(), None, None);
        let state = StateHandles::in_memory();
        let router = Router::new(code, state, RequestStateCodec::ephemeral(), RouterConfig::default(), None)
            .with_registry(Arc::new(live));
        let servers = Servers::from(Arc::new(router));
        let refusal = |r: Result<Arc<Router>, Refusal>| r.err();

        store.down.store(true, Ordering::SeqCst);
        // The default server restricts who may use it: unread, it lets nobody in.
        assert_eq!(refusal(servers.route(None, Some("alice")).await), Some(Refusal::Unavailable("main".into())));
        // A registered server is looked up once, however many requests ask meanwhile.
        let before = store.reads.load(Ordering::SeqCst);
        for _ in 0..5 {
            let r = refusal(servers.route(Some("other"), Some("alice")).await);
            assert_eq!(r, Some(Refusal::Unavailable("other".into())));
        }
        assert_eq!(store.reads.load(Ordering::SeqCst) - before, 1);

        store.down.store(false, Ordering::SeqCst);
        tokio::time::advance(crate::registry::live::RETRY_AFTER + Duration::from_secs(1)).await;
        assert!(servers.route(None, Some("alice")).await.is_ok());
        assert_eq!(refusal(servers.route(None, Some("bob")).await), Some(Refusal::Forbidden("main".into())));
        assert_eq!(refusal(servers.route(None, None).await), Some(Refusal::Forbidden("main".into())));
        assert_eq!(
            servers.route(Some("third"), None).await.map(|r| r.name().to_owned()).ok().as_deref(),
            Some("third")
        );
        // A name nobody registered: looked up once, then remembered.
        let before = store.reads.load(Ordering::SeqCst);
        for _ in 0..3 {
            assert_eq!(refusal(servers.route(Some("nobody"), None).await), Some(Refusal::Unknown("nobody".into())));
        }
        assert!(store.reads.load(Ordering::SeqCst) - before <= 2, "one lookup (a version and a catalogue read)");
        assert_eq!(refusal(servers.route(Some("not a name"), None).await), Some(Refusal::Unknown("not a name".into())));
    }
}
