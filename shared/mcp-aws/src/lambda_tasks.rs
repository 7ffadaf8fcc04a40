//! Tasks on Lambda: each run of a task's work is an asynchronous invoke (`Event`) of the
//! worker function, which the template sets up with no retries (a run that fails is the
//! task's failure, seen by the next `tasks/get` or sweep, never a silent second run) and up
//! to Lambda's 15 minutes. The invoke is accepted before the creating request's response
//! goes out, so the frozen environment owes nothing.

use async_trait::async_trait;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;

use mcp_server::{TaskLauncher, TaskRun};

/// Starts task runs as asynchronous invokes of the worker function.
#[derive(Debug)]
pub struct LambdaTaskLauncher {
    client: Client,
    worker: String,
}

impl LambdaTaskLauncher {
    /// A launcher invoking `worker` (a function name or ARN) with the SDK's configuration
    /// (the SDK's own `AWS_ENDPOINT_URL*` for an emulator). A retried invoke whose first
    /// attempt was accepted starts the run twice: the second finds it claimed.
    pub fn new(sdk: &aws_config::SdkConfig, worker: String) -> Self {
        LambdaTaskLauncher { client: Client::new(sdk), worker }
    }
}

#[async_trait]
impl TaskLauncher for LambdaTaskLauncher {
    async fn launch(&self, run: &TaskRun) -> Result<(), String> {
        let payload = serde_json::to_vec(run).map_err(|e| e.to_string())?;
        self.client
            .invoke()
            .function_name(&self.worker)
            .invocation_type(InvocationType::Event)
            .payload(Blob::new(payload))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| format!("{}", aws_sdk_lambda::error::DisplayErrorContext(e)))
    }
}
