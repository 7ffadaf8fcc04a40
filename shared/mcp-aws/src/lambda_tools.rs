//! Lambda-backed tools through `aws-sdk-lambda`: a synchronous `Invoke` of the tool's
//! function. An endpoint override points it at a local emulator (`cargo lambda watch`
//! serves the Invoke API on loopback).

use async_trait::async_trait;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;

use mcp_server::registry::{InvokeError, ToolInvoker};

/// The registry's [`ToolInvoker`] on AWS Lambda: a Lambda-backed tool's call is one `Invoke`.
pub struct LambdaInvoker {
    client: Client,
}

impl LambdaInvoker {
    /// An invoker with the SDK's configuration, at `endpoint` if given (`MCP_LAMBDA_ENDPOINT`,
    /// an emulator), making one attempt per call.
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> Self {
        // One attempt: a retried Invoke after a lost reply would run the tool twice, and a
        // tool need not be idempotent. Its errors are tool errors the model can retry.
        let retry = aws_sdk_lambda::config::retry::RetryConfig::standard().with_max_attempts(1);
        let mut config = aws_sdk_lambda::config::Builder::from(sdk).retry_config(retry);
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint);
        }
        LambdaInvoker { client: Client::from_conf(config.build()) }
    }
}

#[async_trait]
impl ToolInvoker for LambdaInvoker {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let out =
            self.client.invoke().function_name(function).payload(Blob::new(payload)).send().await.map_err(|e| {
                // An emulator (cargo lambda) reports the function's own failure as an error
                // response carrying Lambda's error document; AWS answers 200 with
                // `FunctionError`. Anything else is Lambda refusing.
                let body = e.raw_response().and_then(|r| r.body().bytes()).unwrap_or_default();
                match error_message(body) {
                    Some(message) => InvokeError::Failed(message),
                    None => InvokeError::Unavailable(format!("{}", aws_sdk_lambda::error::DisplayErrorContext(e))),
                }
            })?;
        let body = out.payload.map(Blob::into_inner).unwrap_or_default();
        if let Some(kind) = out.function_error {
            let message = error_message(&body).unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(InvokeError::Failed(format!("{kind}: {message}")));
        }
        Ok(body)
    }
}

/// The message of Lambda's error document (`{"errorType": ..., "errorMessage": ...}`).
fn error_message(body: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(body).ok()?;
    let message = v.get("errorMessage")?.as_str()?;
    Some(match v.get("errorType").and_then(|t| t.as_str()) {
        Some(kind) => format!("{kind}: {message}"),
        None => message.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::error_message;

    #[test]
    fn lambdas_error_document_is_read_and_api_errors_are_not() {
        let crash = br#"{"errorType":"&alloc::boxed::Box<dyn core::error::Error>","errorMessage":"asked to crash"}"#;
        assert_eq!(error_message(crash).as_deref(), Some("&alloc::boxed::Box<dyn core::error::Error>: asked to crash"));
        let denied = br#"{"Type":"User","Message":"User: arn:aws:sts::123456789012:assumed-role/x is not authorized"}"#;
        assert_eq!(error_message(denied), None, "an API refusal is not the function's failure");
        assert_eq!(error_message(b"not json"), None);
    }
}
