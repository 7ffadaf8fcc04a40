//! Faults injected into every state call (the fault layer of `mcp_server::state::faults`)
//! while clients on three instances create sessions, subscribe, unsubscribe and write notes
//! (`e2e::workload`). With the test command's backends the faults wrap DynamoDB and Redis;
//! otherwise the in-memory stores. The final state is read from the stores themselves.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use e2e::workload::Workload;
use e2e::{instances, shared_state};
use mcp_server::state::faults::{FaultKind, FaultPlan, Faults};

const CLIENTS: usize = 6;
const STEPS: usize = 9;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn under_injected_faults_every_acknowledged_write_is_stored() {
    let stored = shared_state().await;
    let faults = Faults::new(FaultPlan {
        error_rate: 0.15,
        kinds: vec![FaultKind::Throttled, FaultKind::Reset, FaultKind::Timeout],
        latency: Duration::from_millis(1),
        timeout: Duration::from_millis(50),
    });
    let workload = Workload::new(instances(&faults.wrap(stored.clone()), 3, None));
    let acked = workload.run(CLIENTS, STEPS).await;
    faults.set(FaultPlan::default());

    assert!(faults.injected() > 20, "faults were injected: {faults:?}");
    assert!(acked.retryable_errors > 0, "and clients saw them as retryable errors: {acked:?}");
    assert!(
        acked.sessions.len() >= CLIENTS - 1 && acked.notes.len() > CLIENTS * STEPS / 2,
        "most work got done: {acked:?}"
    );
    acked.check(&stored).await;
}
