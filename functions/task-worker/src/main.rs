//! The task worker: each invocation (an asynchronous invoke from the function that created
//! or resumed a task) runs one run of a task's work to its end, up to Lambda's 15 minutes.
//! Wiring only: the run is `mcp_server::Router::run_task`, which the local gateway runs in
//! process.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_aws::run_task_worker(deployed_server::server).await
}
