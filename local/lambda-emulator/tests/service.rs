//! The emulated Lambda service with a real function binary (`emulated-test-function`, a
//! `lambda_runtime` function): cold starts and reuse, one event at a time per environment,
//! freezing after the response (work left behind does not run until the next event), the
//! timeout kill, throttling, and a function's own errors.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use bytes::Bytes;
use lambda_emulator::{FunctionConfig, InvokeError, LambdaService, ServiceConfig};
use serde_json::{Value, json};

fn service(timeout: Duration, max_environments: usize, records: Option<PathBuf>) -> LambdaService {
    service_with(timeout, max_environments, records, &[])
}

fn service_with(
    timeout: Duration,
    max_environments: usize,
    records: Option<PathBuf>,
    vars: &[(&str, &str)],
) -> LambdaService {
    let mut environment = BTreeMap::from([("RUST_LOG".to_owned(), "warn".to_owned())]);
    environment.extend(vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    let function = FunctionConfig {
        name: "test".into(),
        arn: "arn:aws:lambda:us-east-1:123456789012:function:test".into(),
        executable: env!("CARGO_BIN_EXE_emulated-test-function").into(),
        environment,
        timeout,
        memory_mb: 128,
        max_environments,
        async_retries: 0,
        max_event_age: Duration::from_secs(60),
    };
    let config = ServiceConfig { region: "eu-west-1".into(), records, ..ServiceConfig::default() };
    LambdaService::new(config, vec![function]).unwrap()
}

async fn call(s: &LambdaService, event: Value) -> Result<Value, InvokeError> {
    let reply = s.invoke_buffered("test", Bytes::from(event.to_string())).await?;
    Ok(serde_json::from_slice(&reply).unwrap())
}

/// Waits (bounded) until `f` holds.
async fn eventually(what: &str, f: impl Fn() -> bool) {
    for _ in 0..200 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("never: {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn environments_start_cold_are_reused_and_frozen_between_events() {
    let dir = std::env::temp_dir().join(format!("lambda-emulator-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let records = dir.join("records.jsonl");
    let s = service(Duration::from_secs(10), 4, Some(records.clone()));
    let first = call(&s, json!({})).await.unwrap();
    assert_eq!(first["region"], "eu-west-1", "Lambda's variables are set");
    eventually("frozen after its response", || s.environments("test") == (1, 1)).await;
    let second = call(&s, json!({})).await.unwrap();
    assert_eq!(first["pid"], second["pid"], "the environment is reused");

    // Work left running after the reply does not run while the environment is frozen...
    let marker = dir.join("after-reply");
    let _ = std::fs::remove_file(&marker);
    call(&s, json!({ "after_reply": { "ms": 50, "file": marker } })).await.unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!marker.exists(), "a frozen environment ran work after its response");
    // ...and runs once the next event thaws it.
    call(&s, json!({})).await.unwrap();
    eventually("work resumed after the thaw", || marker.exists()).await;

    // Two events at once: two environments, one each.
    let (a, b) = tokio::join!(call(&s, json!({ "sleep_ms": 300 })), call(&s, json!({ "sleep_ms": 300 })));
    assert_ne!(a.unwrap()["pid"], b.unwrap()["pid"]);
    assert_eq!(s.environments("test").0, 2);
    s.shutdown().await;
    let lines: Vec<Value> =
        std::fs::read_to_string(&records).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 6, "one record per invocation");
    assert_eq!(lines.iter().filter(|r| r["cold"] == true).count(), 2);
    assert!(lines.iter().all(|r| r["duration_ms"].as_f64().is_some()));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_timeout_kills_the_environment() {
    let s = service(Duration::from_secs(1), 2, None);
    let killed = call(&s, json!({ "sleep_ms": 5000 })).await;
    assert_eq!(killed, Err(InvokeError::Timeout(1.0)));
    eventually("the environment is gone", || s.environments("test").0 == 0).await;
    // The next event starts a new environment.
    assert!(call(&s, json!({})).await.is_ok());
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_concurrency_an_invocation_is_throttled_and_errors_are_the_functions() {
    let s = service(Duration::from_secs(10), 1, None);
    let (slow, throttled) = tokio::join!(call(&s, json!({ "sleep_ms": 500 })), async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        call(&s, json!({})).await
    });
    assert!(slow.is_ok());
    assert_eq!(throttled, Err(InvokeError::Throttled(1)));
    match call(&s, json!({ "fail": true })).await {
        Err(InvokeError::Function { message, .. }) => assert!(message.contains("asked to fail"), "{message}"),
        other => panic!("{other:?}"),
    }
    // A function's own error leaves its environment in service.
    assert_eq!(s.environments("test").0, 1);
    let after = call(&s, json!({})).await;
    assert!(after.is_ok(), "{after:?}");
    s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_function_whose_init_fails_fails_its_invocation_and_holds_nothing() {
    let s = service_with(Duration::from_secs(10), 1, None, &[("EXIT_AT_INIT", "1")]);
    for _ in 0..3 {
        // Not throttled: the failed environment no longer counts.
        match call(&s, json!({})).await {
            Err(InvokeError::Init(why)) => assert!(why.contains("exited"), "{why}"),
            other => panic!("{other:?}"),
        }
    }
    eventually("nothing is left", || s.environments("test").0 == 0).await;
    s.shutdown().await;
}
