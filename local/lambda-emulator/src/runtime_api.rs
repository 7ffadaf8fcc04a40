//! The Lambda Runtime API of one environment (`/2018-06-01/runtime/...`), on its own port:
//! `/invocation/next` hands out the environment's next event, `/invocation/{id}/response`
//! takes its response (buffered, or streamed with
//! `Lambda-Runtime-Function-Response-Mode: streaming`), `/invocation/{id}/error` and
//! `/init/error` its failures. The environment is frozen the moment a response is complete.
//! Anything else on the port is an AWS call, for the service's [`crate::AwsEndpoint`].

use std::convert::Infallible;
use std::sync::{Arc, Weak};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use crate::aws::Caller;
use crate::environment::{Environment, InFlight};
use crate::{InvokeError, Response};

const PREFIX: &str = "/2018-06-01/runtime/";

type Reply = http::Response<Full<Bytes>>;

/// Serves the environment's port until its process has exited.
pub(crate) async fn serve(listener: TcpListener, environment: Weak<Environment>) {
    let exited = {
        let environment = environment.clone();
        async move {
            if let Some(e) = environment.upgrade() {
                e.exited().await;
            }
        }
    };
    tokio::pin!(exited);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(_) => return,
            },
            () = &mut exited => return,
        };
        let _ = stream.set_nodelay(true);
        let environment = environment.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let environment = environment.clone();
                async move {
                    let Some(environment) = environment.upgrade() else { return Ok::<_, Infallible>(reply(410, "")) };
                    Ok(route(&environment, request).await)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

fn reply(status: u16, body: &str) -> Reply {
    let mut r = http::Response::new(Full::new(Bytes::from(body.to_owned())));
    *r.status_mut() = http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    r
}

async fn route(environment: &Arc<Environment>, request: http::Request<Incoming>) -> Reply {
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix(PREFIX) else { return aws_call(environment, request).await };
    match (request.method().as_str(), rest.split('/').collect::<Vec<_>>().as_slice()) {
        ("GET", ["invocation", "next"]) => next(environment).await,
        ("POST", ["invocation", id, "response"]) => response(environment, id, request).await,
        ("POST", ["invocation", id, "error"]) => invocation_error(environment, id, request).await,
        ("POST", ["init", "error"]) => {
            let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            tracing::warn!(function = %environment.function.name, "init error: {}", String::from_utf8_lossy(&body));
            // Lambda ends an environment whose init failed; the pool fails the invocation
            // with this reason once the process is gone.
            if let Ok(mut reason) = environment.init_error.lock() {
                *reason = Some(error_text(&body));
            }
            environment.kill();
            reply(202, "{\"status\":\"OK\"}")
        }
        _ => reply(404, "{\"errorMessage\":\"unknown Runtime API path\"}"),
    }
}

/// `GET /invocation/next`: waits for the environment's next event (no timeout, as the
/// Runtime API asks of clients). The invoke phase, and its timeout, start here.
async fn next(environment: &Arc<Environment>) -> Reply {
    if let Ok(mut first) = environment.first_poll.lock() {
        first.get_or_insert_with(Instant::now);
    }
    let Some(job) = environment.take().await else { return reply(410, "") };
    let deadline = SystemTime::now() + job.timeout;
    let _ = job.taken.send(());
    environment.hold(InFlight {
        request_id: job.request_id.clone(),
        started: Some(job.started),
        release: Some(job.release),
        stream: None,
    });
    let deadline_ms = deadline.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
    let mut r = http::Response::new(Full::new(job.event));
    let headers = r.headers_mut();
    for (name, value) in [
        ("lambda-runtime-aws-request-id", job.request_id),
        ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
        ("lambda-runtime-invoked-function-arn", environment.function.arn.clone()),
        ("lambda-runtime-trace-id", format!("Root=1-{:08x}-{:024x};Sampled=0", deadline_ms / 1000, deadline_ms)),
        ("content-type", "application/json".to_owned()),
    ] {
        if let Ok(v) = http::HeaderValue::from_str(&value) {
            headers.insert(name, v);
        }
    }
    r
}

async fn response(environment: &Arc<Environment>, id: &str, request: http::Request<Incoming>) -> Reply {
    let streaming = request
        .headers()
        .get("lambda-runtime-function-response-mode")
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"streaming"));
    let Some(mut flight) = environment.in_flight(Some(id)) else {
        return reply(400, "{\"errorMessage\":\"no invocation in flight with this id\"}");
    };
    let mut body = request.into_body();
    if !streaming {
        let bytes = match body.collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => return broken(environment, flight, &e.to_string()),
        };
        environment.freeze();
        if let Some(release) = flight.release.take() {
            release(None);
        }
        if let Some(started) = flight.started.take() {
            let _ = started.send(Ok(Response::Complete(bytes)));
        }
        return reply(202, "{\"status\":\"OK\"}");
    }
    let (tx, rx) = mpsc::channel(16);
    if let Some(started) = flight.started.take() {
        let _ = started.send(Ok(Response::Streaming(rx)));
    }
    // Kept where a kill at the timeout finds it, to end the stream with the reason.
    let release = flight.release.take();
    flight.stream = Some(tx.clone());
    environment.hold(flight);
    let mut failed = None;
    loop {
        match body.frame().await {
            None => break,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if !data.is_empty() => {
                    // The reader may have gone (the client hung up); Lambda streams on
                    // regardless, and so does the function.
                    let _ = tx.send(Ok(data)).await;
                }
                Ok(_) => {}
                // Trailers: a runtime reports an error met mid-stream there.
                Err(frame) => {
                    if let Some(trailers) = frame.trailers_ref()
                        && let Some(kind) = trailers.get("lambda-runtime-function-error-type")
                    {
                        let kind = String::from_utf8_lossy(kind.as_bytes()).into_owned();
                        let error =
                            InvokeError::Function { error_type: kind.clone(), message: "error mid-stream".into() };
                        let _ = tx.send(Err(error)).await;
                        failed = Some(kind);
                    }
                }
            },
            Some(Err(e)) => {
                return match environment.in_flight(None) {
                    Some(f) => broken(environment, f, &e.to_string()),
                    None => reply(500, ""),
                };
            }
        }
    }
    environment.freeze();
    let _ = environment.in_flight(None);
    if let Some(release) = release {
        release(failed);
    }
    drop(tx);
    reply(202, "{\"status\":\"OK\"}")
}

/// The response broke off (the process died or was killed mid-response).
fn broken(environment: &Environment, mut flight: InFlight, why: &str) -> Reply {
    let error = if environment.timed_out.load(std::sync::atomic::Ordering::SeqCst) {
        InvokeError::Timeout(environment.function.timeout.as_secs_f64())
    } else {
        InvokeError::Crashed(format!("the response broke off: {why}"))
    };
    if let Some(started) = flight.started.take() {
        let _ = started.send(Err(error.clone()));
    }
    if let Some(stream) = flight.stream.take() {
        tokio::spawn(async move {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), stream.send(Err(error))).await;
        });
    }
    reply(500, "")
}

/// `POST /invocation/{id}/error`: the function's own error (`{"errorType", "errorMessage"}`).
async fn invocation_error(environment: &Arc<Environment>, id: &str, request: http::Request<Incoming>) -> Reply {
    let body = request.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let Some(mut flight) = environment.in_flight(Some(id)) else {
        return reply(400, "{\"errorMessage\":\"no invocation in flight with this id\"}");
    };
    environment.freeze();
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let error = InvokeError::Function {
        error_type: parsed["errorType"].as_str().unwrap_or("Unhandled").to_owned(),
        message: parsed["errorMessage"].as_str().map_or_else(|| error_text(&body), str::to_owned),
    };
    if let Some(release) = flight.release.take() {
        release(Some(error.to_string()));
    }
    if let Some(started) = flight.started.take() {
        let _ = started.send(Err(error));
    }
    reply(202, "{\"status\":\"OK\"}")
}

fn error_text(body: &[u8]) -> String {
    let parsed: serde_json::Value = serde_json::from_slice(body).unwrap_or_default();
    match (parsed["errorType"].as_str(), parsed["errorMessage"].as_str()) {
        (Some(t), Some(m)) => format!("{t}: {m}"),
        _ => String::from_utf8_lossy(body).into_owned(),
    }
}

/// An AWS call of the environment's process, for the service's endpoint.
async fn aws_call(environment: &Arc<Environment>, request: http::Request<Incoming>) -> Reply {
    let Some(endpoint) = environment.config.aws.clone() else {
        return reply(502, "{\"message\":\"no AWS endpoint is configured for local functions\"}");
    };
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let caller = Caller { function: &environment.function, environment: environment.id };
    let (response, calls) = endpoint.call(&caller, http::Request::from_parts(parts, body)).await;
    if let Ok(mut record) = environment.record.lock()
        && let Some(record) = record.as_mut()
    {
        record.aws_request(calls);
    }
    let (parts, body) = response.into_parts();
    http::Response::from_parts(parts, Full::new(body))
}
