//! The Lambda Invoke API (`POST /2015-03-31/functions/{name}/invocations`) for the service's
//! own functions, as a function calling another one reaches it: `RequestResponse` answers
//! with the function's response (a function error as `X-Amz-Function-Error`), `Event`
//! answers `202` at once and runs the invocation on its own, as Lambda's asynchronous
//! invocation does: an invocation that finds every environment busy waits (up to the
//! function's maximum event age), one whose run fails is tried again as many times as the
//! function's retries allow, and nothing of it reaches the caller.

use std::sync::{Arc, OnceLock, Weak};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::json;

use crate::{InvokeError, LambdaService};

/// How long a throttled asynchronous invocation waits before it tries again.
const THROTTLED_WAIT: Duration = Duration::from_millis(500);
/// How long a failed asynchronous invocation waits before its retry.
const RETRY_WAIT: Duration = Duration::from_secs(1);

/// The Invoke API of one [`LambdaService`], attached once the service exists (the service's
/// AWS endpoint, which serves this API, is built before it).
#[derive(Default)]
pub struct InvokeApi {
    service: OnceLock<Weak<LambdaService>>,
}

impl InvokeApi {
    /// Serves the functions of `service` from now on.
    pub fn attach(&self, service: &Arc<LambdaService>) {
        let _ = self.service.set(Arc::downgrade(service));
    }

    /// Answers `request` if it invokes one of the service's functions; `None` otherwise (a
    /// function of another service, or not an invoke).
    pub async fn handle(&self, request: &http::Request<Bytes>) -> Option<http::Response<Bytes>> {
        let service = self.service.get()?.upgrade()?;
        let mut segments = request.uri().path().trim_start_matches('/').split('/');
        let (Some("2015-03-31"), Some("functions"), Some(name), Some("invocations"), None) =
            (segments.next(), segments.next(), segments.next(), segments.next(), segments.next())
        else {
            return None;
        };
        let function = service.resolve(&crate::aws::percent_decode(name))?;
        let kind = request.headers().get("x-amz-invocation-type").and_then(|v| v.to_str().ok());
        let event = request.body().clone();
        match kind.unwrap_or("RequestResponse") {
            "Event" => {
                tokio::spawn(run_event(
                    service,
                    function.name.clone(),
                    event,
                    function.async_retries,
                    function.max_event_age,
                ));
                Some(response(202, Bytes::new(), None))
            }
            "DryRun" => Some(response(204, Bytes::new(), None)),
            "RequestResponse" => Some(match service.invoke_buffered(&function.name, event).await {
                Ok(body) => response(200, body, None),
                Err(InvokeError::Throttled(n)) => {
                    let body =
                        json!({ "Type": "User", "message": format!("Rate Exceeded: all {n} environments are busy") });
                    response(429, Bytes::from(body.to_string()), Some("TooManyRequestsException"))
                }
                Err(e) => {
                    let body = json!({ "errorType": error_type(&e), "errorMessage": e.to_string() });
                    let mut r = response(200, Bytes::from(body.to_string()), None);
                    r.headers_mut().insert("x-amz-function-error", http::HeaderValue::from_static("Unhandled"));
                    r
                }
            }),
            other => {
                let body = json!({ "message": format!("1 validation error: InvocationType {other}") });
                Some(response(400, Bytes::from(body.to_string()), Some("InvalidParameterValueException")))
            }
        }
    }
}

/// One asynchronous invocation, to its end: waits while throttled (up to `max_age`), tries a
/// failed run again `retries` times.
async fn run_event(service: Arc<LambdaService>, function: String, event: Bytes, retries: u32, max_age: Duration) {
    let queued = Instant::now();
    let mut failures = 0;
    loop {
        match service.invoke_buffered(&function, event.clone()).await {
            Ok(_) => return,
            Err(InvokeError::Throttled(_)) if queued.elapsed() < max_age => tokio::time::sleep(THROTTLED_WAIT).await,
            Err(InvokeError::Throttled(n)) => {
                tracing::warn!(%function, environments = n, "asynchronous invocation too old to run; dropped");
                return;
            }
            Err(e) if failures < retries => {
                failures += 1;
                tracing::warn!(%function, error = %e, attempt = failures, "asynchronous invocation failed; retried");
                // Lambda waits a minute, then two; a pause here keeps the order of things.
                tokio::time::sleep(RETRY_WAIT).await;
            }
            Err(e) => {
                tracing::warn!(%function, error = %e, "asynchronous invocation failed; dropped");
                return;
            }
        }
    }
}

fn error_type(e: &InvokeError) -> &'static str {
    match e {
        InvokeError::Timeout(_) => "Sandbox.Timedout",
        InvokeError::Crashed(_) => "Runtime.ExitError",
        InvokeError::Init(_) => "Runtime.InitError",
        _ => "Unhandled",
    }
}

fn response(status: u16, body: Bytes, error: Option<&'static str>) -> http::Response<Bytes> {
    let mut r = http::Response::new(body);
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::OK);
    r.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    if let Some(kind) = error {
        r.headers_mut().insert("x-amzn-errortype", http::HeaderValue::from_static(kind));
    }
    r
}
