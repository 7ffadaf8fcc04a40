//! Lambda-backed tools through `aws-sdk-lambda`: a synchronous `Invoke` of the tool's
//! function. An endpoint override points it at a local emulator (`cargo lambda watch`
//! serves the Invoke API on loopback).

use async_trait::async_trait;
use aws_sdk_lambda::Client;
use aws_sdk_lambda::primitives::Blob;

use mcp_server::registry::{InvokeError, ToolInvoker};

pub struct LambdaInvoker {
    client: Client,
}

impl LambdaInvoker {
    pub fn new(sdk: &aws_config::SdkConfig, endpoint: Option<String>) -> Self {
        let mut config = aws_sdk_lambda::config::Builder::from(sdk);
        if let Some(endpoint) = endpoint {
            config = config.endpoint_url(endpoint);
        }
        LambdaInvoker { client: Client::from_conf(config.build()) }
    }
}

#[async_trait]
impl ToolInvoker for LambdaInvoker {
    async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<Vec<u8>, InvokeError> {
        let out = self
            .client
            .invoke()
            .function_name(function)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| InvokeError::Unavailable(format!("{}", aws_sdk_lambda::error::DisplayErrorContext(e))))?;
        let body = out.payload.map(Blob::into_inner).unwrap_or_default();
        if let Some(kind) = out.function_error {
            // Lambda's error document: {"errorType": ..., "errorMessage": ...}.
            let message = serde_json::from_slice::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v["errorMessage"].as_str().map(str::to_owned))
                .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
            return Err(InvokeError::Failed(format!("{kind}: {message}")));
        }
        Ok(body)
    }
}
