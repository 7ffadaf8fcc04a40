//! Closes WebSocket connections whose lifetime has ended. API Gateway keeps a connection up
//! to 2 hours whatever its token says, and a client that only listens sends nothing that
//! would let `$default` notice the expiry; so a scheduled run (every minute in a
//! deployment, every second in the local gateway) closes them with `DeleteConnection` and
//! forgets their state. Rows created through a connection already expire with its token
//! (`Inbound::credential_expires_at_ms`), so nothing is delivered to it in between.

use std::sync::Arc;

use futures_util::StreamExt;

use mcp_server::state::now_ms;
use mcp_server::{ConnectionSink, PostError, Router, StateHandles, forget_connection};

/// How far back a run looks: a sweeper down for up to 20 minutes still closes every lapsed
/// connection (late), and a record is kept longer than this
/// ([`mcp_server::state::LAPSED_KEPT_MS`]). One query per minute, all at once.
pub const LOOK_BACK_MS: u64 = 20 * 60 * 1000;
/// Connections closed at once.
const CONCURRENCY: usize = 32;

/// What one run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Connections closed (or found already gone) and forgotten.
    pub closed: usize,
    /// Connections that could not be closed or forgotten; the next run tries again.
    pub failed: usize,
    /// Tasks failed because their worker stopped renewing its lease.
    pub tasks_failed: usize,
}

/// One run of the sweeper: lapsed connections closed ([`close_lapsed`]), then the tasks in
/// the deployment's store whose worker stopped failed (a task failed neither here nor by a
/// `tasks/get` would otherwise stay `working` for its whole lifetime).
pub async fn sweep(router: &Router, sink: &Arc<dyn ConnectionSink>) -> Result<Sweep, String> {
    let mut sweep = close_lapsed(router.state(), sink).await?;
    let tasks = router.fail_stalled_tasks(std::time::Duration::from_millis(LOOK_BACK_MS)).await;
    match tasks {
        Ok(failed) => sweep.tasks_failed = failed,
        Err(e) => return Err(format!("stalled tasks not swept: {e}")),
    }
    if sweep.tasks_failed > 0 {
        tracing::info!(tasks_failed = sweep.tasks_failed, "tasks whose worker stopped failed");
    }
    Ok(sweep)
}

/// One run: every connection that lapsed in the look-back window is closed and forgotten.
pub async fn close_lapsed(state: &StateHandles, sink: &Arc<dyn ConnectionSink>) -> Result<Sweep, String> {
    let now = now_ms();
    let lapsed = state.connections.lapsed(now.saturating_sub(LOOK_BACK_MS), now).await.map_err(|e| e.to_string())?;
    let outcomes = futures_util::stream::iter(lapsed)
        .map(|id| async move {
            let closed = match sink.close(&id).await {
                Ok(()) | Err(PostError::Gone(_)) => true,
                Err(PostError::Failed(why)) => {
                    tracing::warn!(connection = %id, %why, "lapsed connection not closed; next run retries");
                    false
                }
            };
            // Forgotten only once closed: a failed close stays findable for the next run.
            closed
                && forget_connection(state, &id)
                    .await
                    .inspect_err(|e| tracing::warn!(connection = %id, error = %e, "lapsed connection not forgotten"))
                    .is_ok()
        })
        .buffer_unordered(CONCURRENCY)
        .collect::<Vec<bool>>()
        .await;
    let closed = outcomes.iter().filter(|ok| **ok).count();
    let sweep = Sweep { closed, failed: outcomes.len() - closed, tasks_failed: 0 };
    if sweep != Sweep::default() {
        tracing::info!(closed = sweep.closed, failed = sweep.failed, "lapsed connections swept");
    }
    // Nothing closed and something failed: a broken sweeper (its endpoint, its permissions),
    // which must show as a failed run (the function's error alarm), not as a quiet one.
    if sweep.closed == 0 && sweep.failed > 0 {
        return Err(format!("none of {} lapsed connections could be closed", sweep.failed));
    }
    Ok(sweep)
}
