//! Runs a task's work in an invocation of its own (started by the functions that create
//! tasks), up to Lambda's 15 minutes.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    mcp_aws::run_task_worker(starter_server::server).await
}
